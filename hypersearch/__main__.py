"""``python -m hypersearch``: the command-line interface."""

from hypersearch.cli import main

raise SystemExit(main())
