"""How much hypersearch says, and where.

hypersearch logs through the standard :mod:`logging` module, under the logger
named ``"hypersearch"``.  Out of the box it adds no handler: warnings (a failed
trial, a retry, a changed bound) reach stderr through Python's last-resort
handler, and progress messages at ``INFO`` (each finished trial, with the best
so far) stay silent, as a library's should.  These helpers, named as in Optuna,
change that without touching the logging setup of the rest of a program::

    hs.logging.set_verbosity(hs.logging.INFO)     # one line per finished trial
    hs.logging.set_verbosity(hs.logging.ERROR)    # not even warnings

A program that configures :mod:`logging` itself can ignore them: records
propagate to the root logger as usual.
"""

from __future__ import annotations

import logging as _logging
import sys
import threading

CRITICAL = _logging.CRITICAL
FATAL = _logging.FATAL
ERROR = _logging.ERROR
WARNING = _logging.WARNING
WARN = _logging.WARN
INFO = _logging.INFO
DEBUG = _logging.DEBUG

__all__ = [
    "CRITICAL", "DEBUG", "ERROR", "FATAL", "INFO", "WARN", "WARNING",
    "disable_default_handler", "disable_propagation", "enable_default_handler",
    "enable_propagation", "get_logger", "get_verbosity", "set_verbosity",
]

_lock = threading.Lock()
_handler: _logging.Handler | None = None


def get_logger(name: str | None = None) -> _logging.Logger:
    """The library's logger (``"hypersearch"``) or one of its children."""
    return _logging.getLogger("hypersearch" if name is None else f"hypersearch.{name}")


def get_verbosity() -> int:
    """The level of the library's logger (``WARNING`` when nothing was set)."""
    return get_logger().getEffectiveLevel()


def set_verbosity(level: int) -> None:
    """Show the library's messages from ``level`` up (e.g. ``hs.logging.INFO``).

    Installs the default handler (stderr) unless it was disabled, so that levels
    below ``WARNING`` show even where the program configured no logging.
    """
    if isinstance(level, bool) or not isinstance(level, int):
        raise TypeError(f"level must be a logging level such as hs.logging.INFO, got {level!r}")
    get_logger().setLevel(level)
    if level < WARNING:
        enable_default_handler()


def enable_default_handler() -> None:
    """Write the library's messages to stderr (once, however often it is called)."""
    global _handler
    with _lock:
        if _handler is None:
            _handler = _logging.StreamHandler(sys.stderr)
            _handler.setFormatter(_logging.Formatter("[hypersearch %(levelname)s %(asctime)s] %(message)s"))
            get_logger().addHandler(_handler)
            get_logger().propagate = False  # the handler replaces the root's: no line twice


def disable_default_handler() -> None:
    """Remove the stderr handler that :func:`enable_default_handler` installed."""
    global _handler
    with _lock:
        if _handler is not None:
            get_logger().removeHandler(_handler)
            _handler = None
            get_logger().propagate = True


def enable_propagation() -> None:
    """Pass the library's records on to the root logger's handlers too."""
    get_logger().propagate = True


def disable_propagation() -> None:
    """Keep the library's records away from the root logger's handlers."""
    get_logger().propagate = False
