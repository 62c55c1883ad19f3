"""``main``: parse the command line, run the command, report errors as one line."""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Sequence

from hypersearch.cli._errors import EXIT_RUNTIME, EXIT_USAGE, CLIError, one_line
from hypersearch.cli._parser import PROG, build_parser

EXIT_INTERRUPTED = 130

_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@/\s]+@")


def redact(text: str) -> str:
    """Hide passwords of database URLs (``postgresql://user:***@host/db``)."""
    return _PASSWORD.sub(r"\1***@", text)


def _error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {redact(one_line(message))}\n")


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that describe a problem with the input or the environment, not a
    bug: reported as one line rather than a traceback."""
    from hypersearch.exceptions import HyperSearchError

    types: list[type[BaseException]] = [HyperSearchError, ValueError, ImportError, OSError]
    sa_exc = sys.modules.get("sqlalchemy.exc")  # only if SQLAlchemy was imported at all
    if sa_exc is not None:
        types.append(sa_exc.SQLAlchemyError)
    return tuple(types)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hypersearch`` command line and return its exit status.

    ``argv`` defaults to ``sys.argv[1:]``.  Status 0 means success, 1 a runtime
    error (unknown study, unreachable database, failing objective...), 2 a usage
    error (bad option, malformed storage URL or ``--objective``).
    """
    show_traceback = False
    try:
        parser = build_parser()
        args = parser.parse_args(None if argv is None else list(argv))
        show_traceback = bool(getattr(args, "traceback", False))
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        from hypersearch.cli._commands import COMMANDS

        return COMMANDS[args.handler](args)
    except SystemExit as e:  # --help, --version
        code = e.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        _error(str(code))
        return EXIT_RUNTIME
    except CLIError as e:
        if show_traceback:
            traceback.print_exc()
        _error(e.message)
        return e.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `hypersearch trials ... | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return EXIT_RUNTIME
    except Exception as e:
        if not isinstance(e, _user_error_types()):
            raise  # a bug: keep the traceback
        if show_traceback:
            traceback.print_exc()
        msg = str(getattr(e, "orig", None) or e) or type(e).__name__
        _error(msg)
        return EXIT_RUNTIME
