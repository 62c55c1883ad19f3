"""A long-lived study worker for the reliability benchmark (started by ``run.py``).

It loads a study whose trials were enqueued with a unique ``id`` parameter and
evaluates them with ``study.optimize(..., retries=..., heartbeat_interval=...)``
until every id has a COMPLETE trial (or ``--stop-file`` appears).  Faults can be
injected inside the worker; before a self-kill it appends a ``kill`` line to its
log, so the harness knows where the process died:

* ``--p-relative``: SIGKILL inside the sampler's ``sample_relative`` (during
  ``study.ask``, before the trial's first write);
* ``--p-independent``: SIGKILL inside ``sample_independent`` (during
  ``trial.suggest_float``, after the trial was claimed and flushed);
* ``--p-tell-before``: SIGKILL inside the finishing write's transaction, just
  before COMMIT (the result must be rolled back and the trial retried);
* ``--p-tell-after``: SIGKILL right after the finishing write committed, before
  ``tell`` returned (the result must be kept, exactly once).

After ``tell`` returned for a COMPLETE trial the worker appends
``done <id> <number> <value> <pid>`` to its log: a ``done`` id must be COMPLETE
in the storage with that value whatever happens afterwards.

Log lines: ``start <pid>``, ``done ...``, ``kill <point> <number> <id> [<value>]``,
``reaped <numbers> <pid>`` (trials this worker failed after their heartbeat stopped),
``requeued <failed number> <new number> <pid>``, ``error <type> <message>`` (an
exception out of ``optimize``; the worker goes on), ``exit <pid>``.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
import time
from typing import Any

import hypersearch as hs
from hypersearch.samplers import RandomSampler
from hypersearch.space.distributions import FloatDistribution
from hypersearch.trial._state import TrialState

_tls = threading.local()


class Log:
    """Append-only log; one ``os.write`` per line (O_APPEND), fsync'ed, so a line
    is either wholly there or not at all when the process is killed."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.lock = threading.Lock()

    def write(self, *fields: Any) -> None:
        line = " ".join(str(f).replace("\n", " ") for f in fields) + "\n"
        with self.lock:
            os.write(self.fd, line.encode())
            os.fsync(self.fd)


def die(log: Log, *fields: Any) -> None:
    log.write("kill", *fields)
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # never reached


class FaultySampler(RandomSampler):
    """Random search over the queue only (``waiting_only``: the study's enqueued
    configurations), with a relative search space so that ``sample_relative`` runs
    in ``ask``; kills its own process with the given probabilities."""

    waiting_only = True

    def __init__(self, seed: int, log: Log, p_relative: float, p_independent: float) -> None:
        super().__init__(seed=seed)
        self._log = log
        self._rng = random.Random(seed)
        self.p_relative = p_relative
        self.p_independent = p_independent

    def infer_relative_search_space(self, study, trial):
        return {"x": FloatDistribution(0.0, 1.0, name="x")}

    def sample_relative(self, study, trial, search_space):
        if self._rng.random() < self.p_relative:
            die(self._log, "suggest-relative", trial.number, trial.params.get("id"))
        return {}  # x is drawn by sample_independent

    def sample_independent(self, study, trial, name, distribution):
        if self._rng.random() < self.p_independent:
            die(self._log, "suggest-independent", trial.number, trial.params.get("id"))
        return super().sample_independent(study, trial, name, distribution)


def install_tell_faults(
    study: hs.Study, log: Log, rng: random.Random, p_before: float, p_after: float
) -> None:
    """Wrap the storage's finishing write in this process: SIGKILL just before its
    COMMIT (an engine ``commit`` event, only inside a finishing write) or just after
    it returned."""
    import sqlalchemy as sa

    storage = study._storage
    original = storage.write_trial

    def on_commit(_conn) -> None:
        plan = getattr(_tls, "finishing", None)
        if plan is not None and plan[0] == "before":
            die(log, "tell-before", plan[1], plan[2], plan[3])

    sa.event.listen(storage.engine, "commit", on_commit)

    def write_trial(trial_id, **kw):
        state = kw.get("state")
        if state is None or not state.is_finished():
            return original(trial_id, **kw)
        number = study._trial_numbers.get(trial_id, "?")
        ident = (kw.get("params") or {}).get("id")
        vals = kw.get("values")
        value = vals[0] if vals else None
        r = rng.random()
        point = "before" if r < p_before else "after" if r < p_before + p_after else None
        _tls.finishing = (point, number, ident, value)
        try:
            original(trial_id, **kw)
        finally:
            _tls.finishing = None
        if point == "after":
            die(log, "tell-after", number, ident, value)

    storage.write_trial = write_trial


def log_reaps(study: hs.Study, log: Log) -> None:
    """Log the trials this worker reaps (fails after their heartbeat stopped) and the
    retries it queues, so a configuration that was reaped but never queued again
    can be traced to its reaper."""
    storage = study._storage
    fail_stale, enqueue = storage.fail_stale_trials, storage.enqueue_trial

    def fail_stale_trials(study_id, older_than, retries=0):
        got = fail_stale(study_id, older_than, retries)
        if got:
            log.write("reaped", ",".join(str(t.number) for t in got), os.getpid())
            for t in got:  # retries queued in the same transaction as the failure
                if "requeued_as" in t.system_attrs:
                    log.write("requeued", t.number, t.system_attrs["requeued_as"], os.getpid())
        return got

    def enqueue_trial(study_id, params, distributions, user_attrs=None, system_attrs=None):
        number = enqueue(study_id, params, distributions, user_attrs, system_attrs)
        if system_attrs and "retry_of" in system_attrs:
            log.write("requeued", system_attrs["retry_of"], number, os.getpid())
        return number

    storage.fail_stale_trials = fail_stale_trials
    storage.enqueue_trial = enqueue_trial


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--study", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--expected", type=int, required=True, help="number of ids in the study")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--p-relative", type=float, default=0.0)
    p.add_argument("--p-independent", type=float, default=0.0)
    p.add_argument("--p-tell-before", type=float, default=0.0)
    p.add_argument("--p-tell-after", type=float, default=0.0)
    p.add_argument("--heartbeat-interval", type=float, default=0.5)
    p.add_argument("--heartbeat-grace", type=float, default=3.0)
    p.add_argument("--retries", type=int, default=1000)
    p.add_argument("--sleep", type=float, default=0.05, help="mean seconds per trial")
    p.add_argument("--payload", type=int, default=0, help="bytes of user attribute per trial")
    p.add_argument("--retry-timeout", type=float, default=60.0)
    p.add_argument("--stop-file", default=None)
    p.add_argument("--max-seconds", type=float, default=600.0)
    a = p.parse_args(argv)

    log = Log(a.log)
    pid = os.getpid()
    log.write("start", pid)
    rng = random.Random(a.seed * 7919 + pid)
    from hypersearch.storage.sql import SQLStorage

    storage = SQLStorage(a.url, retry_timeout=a.retry_timeout)
    sampler = FaultySampler(a.seed + pid, log, a.p_relative, a.p_independent)
    study = hs.load_study(a.study, storage, sampler=sampler)
    study._trial_numbers = {}  # trial id -> number, for the kill log  # type: ignore[attr-defined]
    if a.p_tell_before or a.p_tell_after:
        install_tell_faults(study, log, rng, a.p_tell_before, a.p_tell_after)
    log_reaps(study, log)

    def objective(trial):
        study._trial_numbers[trial._trial_id] = trial.number  # type: ignore[attr-defined]
        i = trial.suggest_int("id", 0, a.expected - 1)
        x = trial.suggest_float("x", 0.0, 1.0)
        if a.payload:
            trial.set_user_attr("payload", "p" * a.payload)
        time.sleep(rng.uniform(0.2, 1.8) * a.sleep)
        trial.report(x, 0)
        return float(i) + x

    def done(_study, frozen) -> None:
        if frozen.state == TrialState.COMPLETE:
            log.write("done", frozen.params["id"], frozen.number, repr(frozen.values[0]), pid)

    deadline = time.monotonic() + a.max_seconds
    while time.monotonic() < deadline:
        if a.stop_file and os.path.exists(a.stop_file):
            break
        try:
            study.optimize(
                objective,
                callbacks=[done],
                retries=a.retries,
                heartbeat_interval=a.heartbeat_interval,
                heartbeat_grace=a.heartbeat_grace,
            )
        except Exception as e:  # the worker goes on, as a supervisor would restart it
            log.write("error", type(e).__name__, str(e).splitlines()[0][:300] if str(e) else "")
            time.sleep(0.2)
            continue
        # optimize returned: the queue is empty for now
        try:
            ids = {
                t.params.get("id") for t in study.get_trials([TrialState.COMPLETE], deepcopy=False)
            }
        except Exception as e:
            log.write("error", type(e).__name__, str(e).splitlines()[0][:300])
            time.sleep(0.5)
            continue
        if len(ids) >= a.expected:
            break
        time.sleep(0.3)
    log.write("exit", pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
