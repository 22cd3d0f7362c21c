"""The Pulumi program: load this stack's spec, build it, export its outputs (see stacks/program.py)."""

from stacks.program import main

main()
