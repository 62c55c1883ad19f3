"""Main loop of a worker process (see :mod:`hypersearch.execution.process`).

A worker starts once per optimize call, loads the objective once, then runs
trials one after another until told to stop, so no trial pays for a process
start, an import or a connection.  Ctrl-C is left to the parent, which stops
its workers and records the running trials.
"""

from __future__ import annotations

import os
import pickle
import signal
from typing import Any

from hypersearch.execution._remote import pack_exception, run_objective


def _exit_with_parent() -> None:
    """End this worker when the process that started it dies (killed with SIGKILL,
    say), also in the middle of an objective: its trial is failed and retried
    elsewhere, and an orphan would go on holding its CPU or GPU for nothing."""
    import multiprocessing
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - always started by a parent
        return

    def watch() -> None:
        parent.join()  # returns when the parent's sentinel closes: it has exited
        os._exit(1)

    threading.Thread(target=watch, name="hypersearch-parent-watch", daemon=True).start()


#: Set while this worker imports the caller's main module (see _main_on_demand).
IMPORTING_MAIN = False


def _main_on_demand(origin: tuple[str | None, str | None] | None) -> None:
    """Let this worker's ``__main__`` import the caller's script the first time a
    name it lacks is asked for: unpickling an object whose class the script
    defines (a model saved with pickle, joblib or ``torch.save``) looks the
    class up there.  The script runs as ``__mp_main__``, as multiprocessing would
    run it, so its ``if __name__ == "__main__":`` block does not; a script without
    that guard that starts an optimisation on import is stopped with an
    explanation (see ``ProcessExecutor.start``)."""
    import sys

    if origin is None:
        return
    name, path = origin
    main = sys.modules["__main__"]
    loaded: dict[str, Any] = {}

    def __getattr__(attr: str) -> Any:
        global IMPORTING_MAIN
        if attr.startswith("__"):
            raise AttributeError(attr)
        if not loaded:
            import runpy

            IMPORTING_MAIN = True
            try:
                if name is not None and name != "__main__":
                    loaded.update(runpy.run_module(name, run_name="__mp_main__", alter_sys=False))
                elif path is not None:
                    loaded.update(runpy.run_path(path, run_name="__mp_main__"))
            finally:
                IMPORTING_MAIN = False
            loaded.setdefault("__name__", "__mp_main__")
        try:
            return loaded[attr]
        except KeyError:
            raise AttributeError(f"module '__main__' has no attribute {attr!r}") from None

    main.__getattr__ = __getattr__  # type: ignore[attr-defined]


def main(conn: Any, env: dict[str, str], main_origin: tuple[str | None, str | None] | None = None) -> None:
    os.environ.update(env)
    _exit_with_parent()
    _main_on_demand(main_origin)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # pragma: no cover - not the main thread
        pass
    objective = None
    while objective is None:
        try:
            kind, blob = conn.recv()
        except (EOFError, OSError):
            return
        if kind != "objective":
            return
        try:
            objective = pickle.loads(blob)
        except BaseException as e:  # tell the parent; it may resend the objective by value
            conn.send(("load_failed", pack_exception(e)))
            objective = None
            continue
        conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] == "run":
            run_objective(conn, objective, msg[1])
        else:
            return
