"""Writer of the full-disk scenario of the reliability benchmark (started by ``run.py``).

Default mode: create a study in a SQLite file on a small filesystem (or under
``--fsize-limit``, ``RLIMIT_FSIZE`` with ``SIGXFSZ`` ignored) and run trials with a
4 kB user attribute until a write fails; log ``done <number> <value>`` after each
``tell`` and ``full <exception type> <message>`` for the failure.  Then wait for
``--freed-flag`` (the harness freed space), raise the file-size limit if there
was one, and run 5 more trials in the same process; log ``same-process ...``
with the state of the trial that was running when the disk filled.

``--continue``: a new process (no limit) loads the study after the heartbeat
grace, runs 10 trials and logs ``continued ...``.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import time

import hypersearch as hs


def log(path: str, *fields) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (" ".join(str(f).replace("\n", " ") for f in fields) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    trial.set_user_attr("payload", "p" * 4096)
    trial.report(x, 0)
    return x


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--study", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--freed-flag", required=True)
    p.add_argument("--fsize-limit", type=int, default=None)
    p.add_argument("--continue", dest="cont", action="store_true")
    a = p.parse_args(argv)
    from hypersearch.storage.sql import SQLStorage

    def done(_s, frozen) -> None:
        if frozen.state == hs.TrialState.COMPLETE:
            log(a.log, "done", frozen.number, repr(frozen.value))

    if a.cont:
        time.sleep(2.5)  # longer than the grace: the writer's orphan is recovered
        study = hs.load_study(a.study, SQLStorage(a.url), sampler=hs.samplers.RandomSampler(seed=1))
        n0 = len(study.trials)
        study.optimize(
            objective, n_trials=10, callbacks=[done], heartbeat_interval=0.5, heartbeat_grace=2.0
        )
        states = {t.number: t.state.name for t in study.trials[:n0] if t.state.name != "COMPLETE"}
        log(
            a.log,
            "continued",
            f"a new process ran {len(study.trials) - n0} more trials;",
            f"earlier non-COMPLETE trials now {states}",
        )
        return 0

    if a.fsize_limit:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (a.fsize_limit, resource.RLIM_INFINITY))
    storage = SQLStorage(a.url, retry_timeout=10)
    study = hs.create_study(a.study, storage, sampler=hs.samplers.RandomSampler(seed=0))
    try:
        study.optimize(
            objective,
            n_trials=100_000,
            callbacks=[done],
            heartbeat_interval=0.5,
            heartbeat_grace=2.0,
        )
        log(a.log, "full", "none", "the writer never hit the limit")
        return 1
    except Exception as e:
        cause = e.__cause__
        log(
            a.log,
            "full",
            type(e).__name__,
            f"{str(e).splitlines()[0][:200]} (cause: {type(cause).__name__ if cause else None})",
        )
    running = [t.number for t in study.get_trials(deepcopy=False) if t.state.name == "RUNNING"]
    deadline = time.monotonic() + 120
    while not os.path.exists(a.freed_flag) and time.monotonic() < deadline:
        time.sleep(0.1)
    if a.fsize_limit:
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    n0 = len(study.get_trials(deepcopy=False))
    try:
        study.optimize(
            objective, n_trials=5, callbacks=[done], heartbeat_interval=0.5, heartbeat_grace=2.0
        )
        ran = len(study.get_trials(deepcopy=False)) - n0
        err = ""
    except Exception as e:
        ran, err = 0, f"; optimize raised {type(e).__name__}: {str(e).splitlines()[0][:120]}"
    time.sleep(3.0)  # longer than the grace: would another worker see the orphan as lost?
    study.optimize(objective, n_trials=1, heartbeat_interval=0.5, heartbeat_grace=2.0)
    after = {
        t.number: t.state.name for t in study.get_trials(deepcopy=False) if t.number in running
    }
    live = sorted(n for n in running if n in study._live)
    log(
        a.log,
        "same-process",
        f"after space was freed the writer ran {ran} more trials{err};",
        f"trial(s) RUNNING when the disk filled: {running}, now {after}",
        f"(still in this process's live set, so heartbeated: {live})",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
