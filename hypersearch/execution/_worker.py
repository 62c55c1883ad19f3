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


def main(conn: Any, env: dict[str, str]) -> None:
    os.environ.update(env)
    _exit_with_parent()
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
