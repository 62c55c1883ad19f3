"""Errors the CLI reports as one ``hypersearch: error: ...`` line."""

from __future__ import annotations

#: Exit status of a runtime error (unknown study, unreachable database, ...).
EXIT_RUNTIME = 1
#: Exit status of a usage error (bad option, malformed URL or ``--objective``).
EXIT_USAGE = 2


class CLIError(Exception):
    """A user-facing error: printed as one line, then ``exit_code`` is returned."""

    def __init__(self, message: str, exit_code: int = EXIT_RUNTIME) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class CLIUsageError(CLIError):
    """A command line argparse rejected (exit status 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


def one_line(text: str) -> str:
    """Collapse a (possibly multi-line) message to a single line."""
    text = text.split("(Background on this error at:")[0]  # SQLAlchemy's link footer
    return " ".join(text.split())
