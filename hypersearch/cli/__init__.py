"""The ``hypersearch`` command-line interface.

Run ``hypersearch --help`` (or ``python -m hypersearch.cli --help``) for the list
of commands.  :func:`main` can also be called from Python::

    from hypersearch.cli import main
    exit_code = main(["studies", "--storage", "sqlite:///hs.db", "--format", "json"])

Only the standard library is imported here; the commands import the rest of
hypersearch (and SQLAlchemy) when they run.
"""

from __future__ import annotations

from hypersearch.cli._main import main

__all__ = ["main"]
