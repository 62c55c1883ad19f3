"""``python -m hypersearch.cli``."""

import sys

from hypersearch.cli import main

if __name__ == "__main__":
    sys.exit(main())
