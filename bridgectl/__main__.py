import sys

from bridgectl.cli import main

sys.exit(main())
