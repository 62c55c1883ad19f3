"""Run small dense linear algebra single-threaded.

The GP fit and the acquisition optimisation make thousands of calls on
matrices of a few hundred rows.  At that size a BLAS thread pool costs far
more than it saves (waking and synchronising threads for microseconds of
work): on a 2-core machine a suggest is about ten times slower with the
default thread count (the oversubscription Optuna also works around, see
scipy/scipy#22438).  :func:`single_threaded_blas` limits every loaded BLAS to
one thread while the sampler computes, through ``threadpoolctl`` (a core
dependency).  Nested and concurrent uses are reference counted, so that
parallel workers (``n_jobs > 1``) restore the user's settings only when the
last of them leaves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["single_threaded_blas"]

_lock = threading.Lock()
_depth = 0
_restore: Any = None
_controller: Any = None


def _get_controller() -> Any:
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS/LAPACK thread pools to one thread inside the block."""
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = _get_controller().limit(limits=1, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore is not None:
                try:
                    _restore.restore_original_limits()
                finally:
                    _restore = None
