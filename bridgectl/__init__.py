"""bridgectl: validate, plan, diff, draw, police and rehearse the bridge's stacks."""
