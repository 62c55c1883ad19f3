"""Run small dense linear algebra single-threaded.

The GP fit and the acquisition optimisation make thousands of calls on
matrices of a few hundred rows.  At that size OpenBLAS's thread pool costs far
more than it saves (waking and synchronising threads for microseconds of
work): on a 2-core machine a suggest is about ten times slower with the
default thread count (the same oversubscription Optuna works around, see
scipy/scipy#22438).  :func:`single_threaded_blas` limits every loaded BLAS to
one thread while the sampler computes, through ``threadpoolctl`` when it is
installed, else (Linux) by calling the ``openblas_set_num_threads`` entry point
of every OpenBLAS library the process has loaded (numpy and scipy wheels each
ship one), else not at all.  Nested and concurrent uses are reference
counted, so that parallel workers (``n_jobs > 1``) restore the user's settings
only when the last of them leaves.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["single_threaded_blas"]

_lock = threading.Lock()
_depth = 0
_restore: Any = None
_controller: Any = None
_unavailable = False


class _OpenBLASLimiter:
    """Minimal stand-in for ``threadpoolctl`` covering OpenBLAS on Linux."""

    def __init__(self) -> None:
        self.libs: list[tuple[Any, Any]] = []  # (get, set) entry points
        try:
            with open("/proc/self/maps") as f:
                paths = sorted({ln.split()[-1] for ln in f if "openblas" in ln.lower() and "/" in ln})
        except OSError:
            paths = []
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix in ("", "scipy_"):
                for suffix in ("", "64_"):
                    get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                    put = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                    if get is not None and put is not None:
                        get.restype = ctypes.c_int
                        put.argtypes = [ctypes.c_int]
                        self.libs.append((get, put))

    def limit(self, limits: int = 1, user_api: str = "blas") -> _OpenBLASLimiter._Restore:
        saved = [(put, int(get())) for get, put in self.libs]
        for put, _ in saved:
            put(limits)
        return self._Restore(saved)

    class _Restore:
        def __init__(self, saved: list[tuple[Any, int]]) -> None:
            self.saved = saved

        def restore_original_limits(self) -> None:
            for put, n in self.saved:
                put(n)


def _get_controller() -> Any:
    global _controller, _unavailable
    if _controller is None and not _unavailable:
        try:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        except Exception:  # threadpoolctl missing or broken
            try:
                _controller = _OpenBLASLimiter()
            except Exception:  # pragma: no cover - defensive
                _unavailable = True
    return _controller


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS/LAPACK thread pools to one thread inside the block."""
    global _depth, _restore
    with _lock:
        if _depth == 0:
            ctl = _get_controller()
            if ctl is not None:
                try:
                    _restore = ctl.limit(limits=1, user_api="blas")
                except Exception:  # pragma: no cover - defensive
                    _restore = None
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
