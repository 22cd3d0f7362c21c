"""One module per bridgectl command; each defines ``register(subparsers)`` and an ``ORDER`` for --help."""
