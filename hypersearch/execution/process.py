"""Objectives in long-lived worker processes of this machine.

CPU-bound Python objectives need processes to use more than one core (threads
share the GIL).  Each slot owns one worker process for the whole optimize call:
it is started once (in parallel with the others), loads the objective once and
runs trial after trial; the study, its sampler and its storage stay in this
process and answer the worker's ``suggest``/``report`` calls over a pipe (see
:mod:`hypersearch.execution._remote`).

A worker that dies (killed, out of memory) fails only its trial: the parent
notices the closed pipe at once, records the trial as FAIL with the exit
signal, and starts a fresh worker for the next trial.  With ``trial_timeout``
a trial that runs too long has its worker killed the same way.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing as mp
import pickle
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from hypersearch.execution import _worker
from hypersearch.execution._remote import serve, trial_info, unpack_exception
from hypersearch.execution.base import BaseExecutor, Slot, TrialTimeout, WorkerDied
from hypersearch.execution.resources import Allocation, ResourcePool

__all__ = ["ProcessExecutor"]

_POLL_S = 0.2
_ALIVE: weakref.WeakSet[_ProcessSlot] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:  # pragma: no cover - interpreter shutdown
    for slot in list(_ALIVE):
        slot.close()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped responding"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _dumps(objective: Callable[[Any], Any], by_value: bool) -> bytes:
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - cloudpickle is a dependency
        try:
            return pickle.dumps(objective)
        except Exception as e:
            raise TypeError(
                f"the objective cannot be sent to worker processes ({e}); define it at module "
                "level, or use executor='thread'"
            ) from None
    registered = []
    if by_value:
        for module in _local_modules(objective):
            try:
                cloudpickle.register_pickle_by_value(module)
                registered.append(module)
            except ValueError:
                pass
    try:
        return cloudpickle.dumps(objective)
    except Exception as e:
        raise TypeError(
            f"the objective cannot be sent to worker processes ({type(e).__name__}: {e}); it must "
            "not hold locks, open connections or other unpicklable state, or use executor='thread'"
        ) from None
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


def _local_modules(obj: Any, depth: int = 4) -> list[Any]:
    """Modules of the functions and classes reachable from ``obj`` (through
    closures, wrapped functions and bound instances) that a fresh interpreter
    could not import by name: scripts, files loaded by path, test modules.  Their
    code is sent by value."""
    from importlib.machinery import PathFinder

    seen: set[int] = set()
    found: dict[str, Any] = {}

    def visit(o: Any, d: int) -> None:
        if d < 0 or id(o) in seen:
            return
        seen.add(id(o))
        name = getattr(o, "__module__", None)
        if isinstance(name, str) and name not in found and name != "__main__":
            mod = sys.modules.get(name)
            top = name.split(".")[0]
            if mod is not None and top not in sys.builtin_module_names and PathFinder.find_spec(top, sys.path) is None:
                found[name] = mod
        for cell in getattr(o, "__closure__", None) or ():
            try:
                visit(cell.cell_contents, d - 1)
            except ValueError:  # an empty cell
                pass
        for attr in ("__wrapped__", "__func__", "__self__"):
            if hasattr(o, attr):
                visit(getattr(o, attr), d - 1)
        if not callable(o) and hasattr(o, "__dict__"):
            visit(type(o), d - 1)
        elif callable(o) and not isinstance(o, type) and not hasattr(o, "__code__"):
            visit(type(o), d - 1)

    visit(obj, depth)
    return list(found.values())


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_not_rerun(start_method: str) -> Iterator[None]:
    """Start a worker without having it import the caller's main module.

    A spawned process normally imports the script that started it (as
    ``__mp_main__``), running its top-level code again: a script without an
    ``if __name__ == "__main__":`` guard would call ``optimize`` once more in
    every worker and fail there, and even a guarded one would load its data and
    open its study again in each.  A worker needs none of it: the objective
    reaches it with cloudpickle, which sends what the main module defines by
    value.  So while the worker starts, the main module does not say where it
    came from, which is all that multiprocessing reads to import it.  The worker
    imports it only if something asks it for a name it lacks (unpickling an
    object of a class the script defines): see ``_worker._main_on_demand``.
    """
    main = sys.modules.get("__main__")
    if start_method == "fork" or main is None:
        yield
        return
    with _MAIN_LOCK:
        saved = {k: main.__dict__[k] for k in ("__spec__", "__file__") if k in main.__dict__}
        main.__dict__["__spec__"] = None
        main.__dict__.pop("__file__", None)
        try:
            yield
        finally:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)


def _main_origin() -> tuple[str | None, str | None] | None:
    """``(module name, file)`` the caller's main module came from (``python -m
    pkg.mod`` or ``python script.py``), for the worker to import it on demand."""
    main = sys.modules.get("__main__")
    if main is None:
        return None
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    path = getattr(main, "__file__", None)
    if name is None and path is None:
        return None  # an interactive session or a notebook: nothing to import
    return name, path


class _ProcessSlot(Slot):
    def __init__(self, index: int, allocation: Allocation | None, executor: ProcessExecutor) -> None:
        super().__init__(index, allocation)
        self._executor = executor
        self._proc: Any = None
        self._conn: Any = None
        self._interrupted = threading.Event()
        self.pid: int | None = None

    # -- worker life cycle -----------------------------------------------------------------------
    def spawn(self) -> None:
        ctx = self._executor._ctx
        parent, child = ctx.Pipe(duplex=True)
        env = self.allocation.env() if self.allocation is not None else {}
        proc = ctx.Process(
            target=_worker.main,
            args=(child, env, _main_origin() if self._executor.start_method != "fork" else None),
            name=f"hypersearch-worker-{self.index}",
            daemon=False,
        )
        with _main_not_rerun(self._executor.start_method):
            proc.start()
        child.close()  # the worker's end lives in the worker: EOF here when it dies
        self._proc, self._conn = proc, parent
        _ALIVE.add(self)

    def handshake(self) -> None:
        """Send the objective and wait until the worker has loaded it."""
        ex = self._executor
        blob = ex._blob(by_value=ex._by_value)
        self._conn.send(("objective", blob))
        msg = self._recv(deadline=time.monotonic() + ex.start_timeout, what="starting")
        if msg[0] == "load_failed" and not ex._by_value:
            # The objective's module cannot be imported in a fresh interpreter (a
            # script, a notebook, a test module): send its code by value instead.
            ex._by_value = True
            self._conn.send(("objective", ex._blob(by_value=True)))
            msg = self._recv(deadline=time.monotonic() + ex.start_timeout, what="starting")
        if msg[0] == "load_failed":
            err = unpack_exception(msg[1])
            self.close()
            raise RuntimeError(
                f"a worker process could not load the objective: {type(err).__name__}: {err}"
            ) from err
        self.pid = msg[1]

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def close(self) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            try:
                conn.send(("stop", None))
            except (OSError, ValueError, BrokenPipeError):
                pass
        if proc is not None:
            proc.join(timeout=2.0)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5.0)
        if conn is not None:
            conn.close()
        _ALIVE.discard(self)

    def _kill(self) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=5.0)
        code = proc.exitcode
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None
        _ALIVE.discard(self)
        return code

    def interrupt(self) -> None:
        self._interrupted.set()

    def _os_pid(self) -> int | None:
        """The worker's process id, also before its handshake has reported it."""
        return self.pid if self.pid is not None else getattr(self._proc, "pid", None)

    # -- running a trial -------------------------------------------------------------------------
    def _recv(self, deadline: float | None, what: str = "running a trial") -> Any:
        while True:
            try:
                if self._conn.poll(_POLL_S):
                    return self._conn.recv()
            except (EOFError, OSError):
                pid, code = self._os_pid(), self._kill()
                raise WorkerDied(f"worker process {pid} {_describe_exit(code)} while {what}") from None
            if not self._alive():
                pid, code = self._os_pid(), self._kill()
                raise WorkerDied(f"worker process {pid} {_describe_exit(code)} while {what}")
            if self._interrupted.is_set():
                self._kill()
                raise KeyboardInterrupt
            if deadline is not None and time.monotonic() > deadline:
                self._kill()
                if what == "starting":
                    raise RuntimeError("a worker process did not start in time")
                raise TrialTimeout(f"the trial ran longer than its timeout; worker process {self.pid} was stopped")

    def run(self, trial: Any, objective: Callable[[Any], Any], *, pausable: bool, timeout: float | None) -> Any:
        if not self._alive():
            self.spawn()
            self.handshake()
        alloc = self.allocation.as_dict() if self.allocation is not None else None
        if alloc is not None:
            trial.set_system_attr("resources", alloc)
        self._conn.send(("run", trial_info(trial, pausable, alloc)))
        deadline = None if timeout is None else time.monotonic() + timeout
        conn = self._conn
        return serve(trial, lambda: self._recv(deadline), conn.send)


class ProcessExecutor(BaseExecutor):
    """Run objectives in long-lived worker processes (the default for ``n_jobs > 1``).

    Args:
        resources: CPUs and GPUs to hand out (default: this machine's).
        start_method: ``"spawn"`` (default: a clean interpreter per worker, safe
            with threads and CUDA) or ``"forkserver"``/``"fork"``.
        start_timeout: Seconds a worker may take to start and load the objective.

    The objective is sent to the workers with cloudpickle: module-level functions
    by reference, closures and objectives of scripts or notebooks by value.
    """

    def __init__(
        self,
        resources: ResourcePool | None = None,
        *,
        start_method: str = "spawn",
        start_timeout: float = 120.0,
    ) -> None:
        super().__init__(resources)
        if start_method not in mp.get_all_start_methods():
            raise ValueError(
                f"start_method must be one of {mp.get_all_start_methods()}, got {start_method!r}"
            )
        self.start_method = start_method
        self.start_timeout = float(start_timeout)
        self._ctx = mp.get_context(start_method)
        self._objective: Callable[[Any], Any] | None = None
        self._blobs: dict[bool, bytes] = {}
        self._by_value = False

    def _blob(self, by_value: bool) -> bytes:
        if by_value not in self._blobs:
            assert self._objective is not None
            self._blobs[by_value] = _dumps(self._objective, by_value)
        return self._blobs[by_value]

    def start(
        self,
        objective: Callable[[Any], Any],
        n_slots: int,
        resources_per_trial: Mapping[str, float] | None,
    ) -> list[Slot]:
        self._objective = objective
        self._blobs = {}
        self._by_value = False
        self._blob(False)  # fail here, clearly, if the objective cannot be sent at all
        slots = [_ProcessSlot(i, a, self) for i, a in enumerate(self._allocations(n_slots, resources_per_trial))]
        try:
            for s in slots:  # start every interpreter first, so they boot in parallel
                s.spawn()
            for s in slots:
                s.handshake()
        except BaseException:
            for s in slots:
                s.close()
            raise
        self._slots = slots
        return list(slots)
