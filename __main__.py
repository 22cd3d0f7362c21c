"""The Pulumi program: load this stack's spec, build it, export its outputs."""
