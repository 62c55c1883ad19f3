"""Reliability benchmark: faults injected into running studies, then the study checked.

Usage::

    python benchmarks/reliability/run.py            # every scenario, about 5-10 minutes
    python benchmarks/reliability/run.py --quick    # smaller, under 2 minutes
    python benchmarks/reliability/run.py --only kill-sqlite,bad-inputs --keep

Writes ``benchmarks/results/reliability.txt`` (summary table and notes) and
``reliability.json`` (every check's details); ``--quick`` writes
``$TMPDIR/hs-reliability-quick.txt``/``.json`` instead, so it never replaces the full
run's results (``--out STEM`` chooses another place).  Exit status 1
if a completed trial was lost or recorded twice, an enqueued configuration was
dropped although retries were allowed, an invariant broke (a trial left RUNNING,
trial numbers not dense, a torn write, an unclear error, a storage changed by a
rejected input) or a scenario could not run.

Needs a local PostgreSQL server (``$HS_RELIABILITY_PG``, default
``postgresql://postgres@127.0.0.1:5432/postgres``; a dedicated database is created
and dropped per run) and, for the server restarts, root and ``pg_ctlcluster``;
without them the PostgreSQL scenarios are reported as skipped.  Worker processes
run under ``nice``, each in its own process group, and are killed on exit.

Scenarios
---------
kill-sqlite, kill-postgres
    K configurations are enqueued, each with a unique ``id`` parameter, and W
    long-lived worker processes (``worker.py``: ``study.optimize(...,
    retries=1000, heartbeat_interval=0.5, heartbeat_grace=3)``) evaluate them.  The
    harness ``kill -9``s random workers at random times and restarts them; the
    workers also kill themselves at chosen points: inside the sampler
    (``sample_relative`` during ``ask``, ``sample_independent`` during
    ``suggest``), inside the finishing write's transaction just before COMMIT,
    and just after the COMMIT (before ``tell`` returned).  Shows that after
    recovery every id has exactly one COMPLETE trial, every result a worker saw
    stored (``done`` lines, written after ``tell`` returned, and writes that
    committed just before a kill) is there with its value, a write killed
    before its commit left nothing behind, no trial is left RUNNING, trial
    numbers are dense, and FAIL trials say the worker was lost.
kill-cli (full run only)
    The same with ``hypersearch worker`` processes (the CLI fleet, ``--retries``,
    ``--heartbeat-interval``, ``--max-trials``), killed with ``kill -9`` at random.
ckpt-kill
    An ``hs.tune`` run (``tune_job.py``, 2 trials at a time in executor worker
    processes) whose trainable's process kills itself inside
    ``CheckpointStore.save`` between writing the temporary file and the rename;
    the harness also ``kill -9``s the whole tune driver (with its workers) and
    resumes it with ``resume=True``.  Shows each grid point completes exactly
    once, retried trials resume from their last complete checkpoint, and no
    checkpoint read back is torn.
pg-restart
    W workers on PostgreSQL while the server is restarted (``pg_ctlcluster
    restart``) two or three times.  Shows the workers go on by themselves
    (storage retries) and nothing is lost or duplicated.
sqlite-full-disk
    A SQLite file on a small tmpfs (``mount -t tmpfs -o size=...``; where mounting
    is not permitted, ``RLIMIT_FSIZE`` in the writer) filled by a writer until a
    write fails.  Shows the error the writer gets, that the file stays readable
    and consistent (``PRAGMA integrity_check``, every trial completed before the
    disk filled intact), and that once space is freed the same process and a
    new one continue the study.
ckpt-dir-deleted
    The checkpoint directory of a running ``hs.tune`` run (ASHA promotion
    variant, which pauses trials and resumes them from checkpoints; in the full
    run also population-based training, which copies checkpoints) is deleted.
    Shows the run ends (no hang), the study stays consistent, and no trial
    fails: a trial whose checkpoint is gone trains again from scratch (its
    ``checkpoint_lost`` attribute says so).
bad-inputs
    Random invalid calls of the public API (bounds, names, types, NaN/inf values,
    exceptions in user code, invalid optimize/tune/create_study arguments) on
    SQLite and PostgreSQL, and random invalid ``hypersearch`` command lines.
    Shows each gives a clear error (or, for a trial's own bad value or
    exception, one FAIL trial saying why) and leaves the storage unchanged.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[2]))

import badinputs  # noqa: E402
import common  # noqa: E402
from common import HERE, REPO, Procs, Result  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


class Ctx:
    """Everything a scenario needs, and what must be cleaned up afterwards."""

    def __init__(self, quick: bool, keep: bool, seed: int) -> None:
        self.quick = quick
        self.keep = keep
        self.rng = random.Random(seed)
        self.tmp = Path(tempfile.mkdtemp(prefix="hs-reliability-"))
        self.procs = Procs()
        self.pg_url: str | None = None
        self.pg_problem: str | None = None
        self.mounts: list[Path] = []
        self.pg_restart_ok = common.pg_cluster() is not None
        self.no_mount = False

    def pg(self) -> str | None:
        if self.pg_url is None and self.pg_problem is None:
            self.pg_problem = common.pg_available()
            if self.pg_problem is None:
                self.pg_url = common.pg_create_db()
        return self.pg_url

    def url(self, backend: str, name: str) -> str | None:
        if backend == "sqlite":
            return f"sqlite:///{self.tmp / (name + '.db')}"
        return self.pg()

    def cleanup(self) -> list[str]:
        notes = []
        self.procs.kill_all()
        for m in self.mounts:
            subprocess.run(["umount", "-l", str(m)], capture_output=True)
        state = common.pg_ensure_running() if self.pg_url or self.pg_restart_ok else "not used"
        notes.append(f"PostgreSQL at the end: {state}")
        if self.pg_url is not None:
            try:
                from hypersearch.storage import _cache

                for url, st in list(_cache.items()):
                    if self.pg_url in url:
                        st.close()
                        _cache.pop(url, None)
                common.pg_drop_db(self.pg_url)
            except Exception as e:
                notes.append(f"could not drop {self.pg_url}: {e}")
        if self.keep:
            notes.append(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return notes


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- a fleet of workers on an enqueued study --------------------------------------------------


def run_fleet(
    ctx: Ctx,
    res: Result,
    url: str,
    *,
    n_ids: int,
    workers: int,
    cli: bool = False,
    faults: dict[str, float] | None = None,
    kill_every: tuple[float, float] | None = None,
    pg_restarts: list[float] = (),
    grace: float = 3.0,
    deadline_s: float = 240.0,
    sleep: float = 0.05,
) -> dict:
    """Run ``workers`` worker processes on a study of ``n_ids`` enqueued ids while
    killing them (and/or restarting the PostgreSQL server); then recover and check."""
    import hypersearch as hs
    from hypersearch.storage.sql import SQLStorage

    name = f"{res.scenario}-{uuid.uuid4().hex[:6]}"
    storage = SQLStorage(url, retry_timeout=180)
    study = hs.create_study(name, storage, sampler=hs.samplers.RandomSampler(seed=0))
    common.enqueue_ids(study, n_ids)
    stop_file = ctx.tmp / f"{name}.stop"
    logs = [ctx.tmp / f"{name}-w{i}.log" for i in range(workers)]
    cli_log = ctx.tmp / f"{name}-cli.log"
    outs = [ctx.tmp / f"{name}-w{i}.out" for i in range(workers)]
    faults = faults or {}
    hb = 0.5 if not cli else grace / 4

    def start(slot: int, n_started: int):
        if cli:
            trials = study.get_trials(deepcopy=False)
            started = sum(
                1 for t in trials if t.state.name in ("COMPLETE", "PRUNED", "FAIL", "RUNNING")
            )
            remaining = n_ids - len(common.complete_ids(study))
            args = [
                "-m",
                "hypersearch",
                "--storage",
                url,
                "worker",
                "--study",
                name,
                "--objective",
                f"{HERE / 'objective.py'}:objective",
                "--sampler",
                "random",
                "--seed",
                str(slot * 1000 + n_started),
                "--retries",
                "1000",
                "--heartbeat-interval",
                str(hb),
                "--max-trials",
                str(max(started + remaining, 1)),
            ]
            return ctx.procs.start(
                args,
                outs[slot],
                env={"HS_REL_CLI_LOG": str(cli_log), "HS_REL_CLI_SLEEP": str(sleep)},
            )
        args = [
            str(HERE / "worker.py"),
            "--url",
            url,
            "--study",
            name,
            "--log",
            str(logs[slot]),
            "--expected",
            str(n_ids),
            "--seed",
            str(slot * 1000 + n_started),
            "--heartbeat-interval",
            str(hb),
            "--heartbeat-grace",
            str(grace),
            "--stop-file",
            str(stop_file),
            "--max-seconds",
            str(deadline_s + 60),
            "--sleep",
            str(sleep),
        ]
        for k, v in faults.items():
            args += [f"--{k}", str(v)]
        return ctx.procs.start(args, outs[slot])

    rng = ctx.rng
    t0 = time.monotonic()
    procs = {i: start(i, 0) for i in range(workers)}
    starts = workers
    ext_killed: set[int] = set()
    exits: Counter = Counter()
    next_kill = t0 + rng.uniform(*kill_every) if kill_every else None
    restarts_todo = sorted(pg_restarts)
    restart_log: list[dict] = []
    stuck_since = None
    outcome = "complete"
    last_poll = 0.0
    done_ids: set[int] = set()
    while True:
        now = time.monotonic()
        if now - last_poll > 0.5:
            last_poll = now
            done_ids = common.complete_ids(study)
            if len(done_ids) >= n_ids:
                break
            states = Counter(t.state.name for t in study.get_trials(deepcopy=False))
            # nothing queued or running, but ids missing: configurations were dropped
            if not states.get("WAITING") and not states.get("RUNNING"):
                stuck_since = stuck_since or now
                if now - stuck_since > 2 * grace + 3:
                    outcome = "stuck: nothing queued or running, ids missing"
                    break
            else:
                stuck_since = None
        if now - t0 > deadline_s:
            outcome = f"deadline of {deadline_s:.0f} s reached"
            break
        for slot, p in list(procs.items()):
            rc = p.poll()
            if rc is None:
                continue
            exits["killed (SIGKILL)" if rc in (-9, 137) else f"exit {rc}"] += 1
            if rc in (-9, 137) and p.pid not in ext_killed:
                res.details.setdefault("self_killed_pids", []).append(p.pid)
            procs[slot] = start(slot, starts)
            starts += 1
        if next_kill is not None and now >= next_kill and kill_every is not None:
            # only workers past their start-up (imports): a kill should land in a trial
            started = _started_pids(logs, cli_log, cli)
            alive = [p for p in procs.values() if p.poll() is None and p.pid in started]
            if alive:
                victim = rng.choice(alive)
                if Procs.kill(victim):
                    ext_killed.add(victim.pid)
            next_kill = now + rng.uniform(*kill_every)
        if restarts_todo and len(done_ids) >= restarts_todo[0] * n_ids:
            restarts_todo.pop(0)
            before = len(done_ids)
            t_r = time.monotonic()
            r = common.pg_ctl("restart")
            down = time.monotonic() - t_r
            if r.returncode != 0:  # never leave the server down
                _say(f"  restart failed ({r.stderr.strip()[:120]}): {common.pg_ensure_running()}")
            _say(
                f"  PostgreSQL restarted ({down:.1f} s, rc {r.returncode}) at {before}/{n_ids} ids"
            )
            restart_log.append(
                {
                    "at_complete": before,
                    "seconds": round(down, 2),
                    "rc": r.returncode,
                    "alive_workers": sum(p.poll() is None for p in procs.values()),
                    "t": round(time.monotonic() - t0, 1),
                }
            )
        time.sleep(0.1)
    elapsed = time.monotonic() - t0
    stop_file.touch()
    # workers leave by themselves once every id is complete; give them a moment
    end = time.monotonic() + 15
    for p in procs.values():
        try:
            p.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            Procs.kill(p)
            p.wait(timeout=10)
            exits["stopped by the harness at the end"] += 1
    # a restart survived: progress went on after it, no worker died of it
    for r in restart_log:
        r["survived"] = len(done_ids) > r["at_complete"] or len(done_ids) >= n_ids
    storage.close()
    if any(t.state.name == "RUNNING" for t in _trials(url, name)):
        time.sleep(grace + 0.5)  # let the heartbeats of killed workers' trials go stale
    recovered = common.recover(url, name, grace)
    logs_info = common.read_logs(logs) if not cli else None
    chk = common.check_id_study(url, name, n_ids, logs_info, fillers_ok=cli)
    if cli:
        chk["lost"].extend(_check_cli_returns(cli_log, url, name, ext_killed))
    self_kills = Counter(k[0] for k in logs_info.kills) if logs_info else Counter()
    res.trials_run = chk["trials"] - chk["fillers"]
    res.workers_killed = len(ext_killed) + sum(self_kills.values())
    res.restarts_survived = sum(1 for r in restart_log if r["survived"])
    res.lost = len(chk["lost"])
    res.duplicated = chk["duplicated"]
    res.dropped = len(chk["dropped"])
    res.violations.extend(chk["violations"])
    if outcome != "complete" and not chk["dropped"]:
        res.violations.append(outcome)
    # FAIL "worker lost" trials whose worker was never killed: a live worker declared dead
    killed_pids = ext_killed | set(res.details.get("self_killed_pids", []))
    false_lost = []
    for t in _trials(url, name):
        if t.state.name == "FAIL" and "worker lost" in (t.fail_reason or ""):
            w = str(t.system_attrs.get("worker", ""))
            pid = int(w.split(":")[1]) if w.count(":") >= 2 and w.split(":")[1].isdigit() else None
            if pid is not None and pid not in killed_pids:
                false_lost.append(t.number)
    if false_lost:
        res.notes.append(
            f"{len(false_lost)} trial(s) of live (never killed) workers were failed as "
            f"'worker lost' and retried: {false_lost[:10]}"
        )
    res.details["live_trials_failed_as_lost"] = false_lost
    retried_ops: Counter = Counter()
    for o in outs:
        for ln in _lines(o):
            m = re.match(r"storage \S+: (\w+) failed \(.*\); retrying in", ln)
            if m:
                retried_ops[m.group(1)] += 1
    res.details["storage_retries"] = dict(retried_ops)
    if retried_ops:
        res.notes.append(
            f"storage operations retried after a dropped connection: {dict(retried_ops)}"
        )
    worker_errors = Counter(e.split(" ")[0] for e in (logs_info.errors if logs_info else []))
    odd_exits = {k: v for k, v in exits.items() if k not in ("killed (SIGKILL)", "exit 0")}
    if odd_exits:
        res.notes.append(f"worker processes that exited by themselves before the end: {odd_exits}")
    res.details.update(
        {
            "study": name,
            "ids": n_ids,
            "workers": workers,
            "seconds_to_complete": round(elapsed, 1),
            "outcome": outcome,
            "worker_starts": starts,
            "externally_killed": len(ext_killed),
            "self_kills": dict(self_kills),
            "exits": dict(exits),
            "recovered_at_end": recovered,
            "pg_restarts": restart_log,
            "worker_errors": dict(worker_errors),
            "worker_error_examples": sorted(set(logs_info.errors))[:8] if logs_info else [],
            "check": chk,
        }
    )
    res.notes.append(
        f"{chk['complete_ids']}/{n_ids} ids complete in {elapsed:.0f} s; "
        f"{chk['retries']} retries; FAIL reasons {chk['fail_reasons']}"
    )
    if len(ext_killed) or self_kills:
        res.notes.append(f"kill -9 by harness {len(ext_killed)}, self-kills {dict(self_kills)}")
    if worker_errors:
        res.notes.append(
            f"exceptions out of study.optimize in workers (caught by worker.py's loop): "
            f"{dict(worker_errors)}"
        )
    if chk["dropped"] and logs_info is not None:
        # who reaped each dropped trial, and did the reaper survive the requeue?
        why: Counter = Counter()
        for d in chk["dropped"]:
            reaper = logs_info.reaped.get(d["trial"])
            if reaper is None:
                d["reaper"] = "none of the workers (the harness's final recovery)"
            elif reaper in killed_pids:
                d["reaper"] = f"pid {reaper}, killed before it queued the retry"
            else:
                d["reaper"] = f"pid {reaper}, alive"
            why[
                ("max_retries recorded, " if d["max_retries_recorded"] else "no max_retries, ")
                + d["reaper"].split(",")[-1].strip()
            ] += 1
        res.notes.append(f"dropped configurations by cause: {dict(why)}")
    if chk["dropped"]:
        d = chk["dropped"][0]
        res.notes.append(
            f"DROPPED {len(chk['dropped'])} configuration(s) never retried despite retries=1000, "
            "e.g. "
            f"id {d['id']} (trial {d['trial']}: {d['reason']}; max_retries recorded: "
            f"{d['max_retries_recorded']}) -- library bug, see the report"
        )
    if chk["lost"]:
        res.notes.append(f"LOST: {chk['lost'][:3]}")
    if chk["duplicated"]:
        res.notes.append(f"DUPLICATED ids: {chk['duplicated_ids'][:10]}")
    return chk


def _started_pids(logs: list[Path], cli_log: Path, cli: bool) -> set[int]:
    """Workers that got as far as running trials (their start line, or for the CLI
    fleet a first result)."""
    pids = set()
    if cli:
        for ln in _lines(cli_log):
            parts = ln.split()
            if len(parts) == 5:
                pids.add(int(parts[4]))
        return pids
    for log in logs:
        for ln in _lines(log):
            if ln.startswith("start "):
                pids.add(int(ln.split()[1]))
    return pids


def _check_cli_returns(log: Path, url: str, study_name: str, killed: set[int]) -> list[str]:
    """The CLI fleet cannot log after ``tell``; a trial whose objective returned must
    be COMPLETE with that value unless its worker was killed."""
    import hypersearch as hs

    if not log.exists():
        return []
    trials = {t.number: t for t in hs.load_study(study_name, url).get_trials(deepcopy=False)}
    lost = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) != 5 or parts[0] != "returned":
            continue
        number, value, pid = int(parts[2]), float(parts[3]), int(parts[4])
        t = trials.get(number)
        ok = t is not None and t.state.name == "COMPLETE" and t.value == value
        if not ok and pid not in killed:
            lost.append(
                f"trial {number} of a live CLI worker returned {value} but is "
                f"{t.state.name if t else 'missing'}"
            )
    return lost


# -- scenarios --------------------------------------------------------------------------------


def sc_kill(ctx: Ctx, res: Result) -> None:
    url = ctx.url(res.backend, res.scenario)
    if url is None:
        raise _Skip(f"no PostgreSQL: {ctx.pg_problem}")
    q = ctx.quick
    faults = {
        "p-relative": 0.03,
        "p-independent": 0.03,
        "p-tell-before": 0.03,
        "p-tell-after": 0.03,
    }
    run_fleet(
        ctx,
        res,
        url,
        n_ids=60 if q else 600,
        workers=3,
        faults=faults,
        kill_every=(1.0, 3.0) if q else (1.5, 4.0),
        grace=3.0,
        deadline_s=90 if q else 480,
        sleep=0.15,
    )


def sc_kill_cli(ctx: Ctx, res: Result) -> None:
    url = ctx.url(res.backend, res.scenario)
    if url is None:
        raise _Skip(f"no PostgreSQL: {ctx.pg_problem}")
    run_fleet(
        ctx,
        res,
        url,
        n_ids=250,
        workers=3,
        cli=True,
        kill_every=(1.0, 3.0),
        grace=3.0,
        deadline_s=300,
        sleep=0.3,
    )


def sc_pg_restart(ctx: Ctx, res: Result) -> None:
    url = ctx.pg()
    if url is None:
        raise _Skip(f"no PostgreSQL: {ctx.pg_problem}")
    if not ctx.pg_restart_ok:
        raise _Skip("cannot restart the server here (needs root and pg_ctlcluster)")
    q = ctx.quick
    # the grace is longer than a restart: a worker whose heartbeat stops while the
    # server is down must not be declared lost by the others
    run_fleet(
        ctx,
        res,
        url,
        n_ids=40 if q else 300,
        workers=3,
        sleep=0.25,
        pg_restarts=[0.4] if q else [0.2, 0.45, 0.7],
        grace=15.0,
        deadline_s=120 if q else 300,
    )
    abnormal = {k: v for k, v in res.details["exits"].items() if k != "exit 0"}
    if abnormal:
        res.restarts_survived = 0
        res.violations.append(f"workers died during the restarts: {abnormal}")
    res.notes.append(
        "server restarts: "
        + ", ".join(
            f"{r['seconds']} s at {r['at_complete']} ids (survived: {r['survived']})"
            for r in res.details["pg_restarts"]
        )
    )


def _tune_check(url: str, study_name: str, n_ids: int | None) -> dict[str, Any]:
    import hypersearch as hs

    trials = hs.load_study(study_name, url).get_trials(deepcopy=False)
    states = Counter(t.state.name for t in trials)
    violations = []
    if [t.number for t in trials] != list(range(len(trials))):
        violations.append("trial numbers not dense/unique")
    for s in ("RUNNING", "WAITING", "PAUSED"):
        if states.get(s):
            violations.append(f"{states[s]} trial(s) left {s}")
    by_id: dict[int, int] = Counter()
    for t in trials:
        if t.state.name == "COMPLETE":
            by_id[int(t.params["id"])] += 1
    out = {
        "trials": len(trials),
        "states": dict(states),
        "fail_reasons": dict(
            Counter(
                _fold(t.fail_reason or "no reason")[:110] for t in trials if t.state.name == "FAIL"
            )
        ),
        "resumed_from_checkpoint": sum(1 for t in trials if t.system_attrs.get("resume_step")),
        "retries": sum(1 for t in trials if "retry_of" in t.system_attrs),
        "pbt_exploits": sum(len(t.system_attrs.get("pbt:schedule", []) or []) for t in trials),
        "violations": violations,
    }
    if n_ids is not None:
        out["duplicated"] = sum(c - 1 for c in by_id.values() if c > 1)
        out["missing_ids"] = sorted(set(range(n_ids)) - set(by_id))
    no_reason = [t.number for t in trials if t.state.name == "FAIL" and not t.fail_reason]
    if no_reason:
        violations.append(f"FAIL trials without a reason: {no_reason}")
    return out


def _fold(reason: str) -> str:
    """A failure reason with its pids, times and paths folded, for counting."""
    reason = re.sub(r"since \S+ \(", "since <time> (", reason)
    reason = re.sub(r"process \d+", "process <pid>", reason)
    return re.sub(r"from /\S+", "from <dir>", reason)


def _orphan_temp_files(root: Path, states: dict[int, str]) -> dict[str, int]:
    """Temporary checkpoint files left by killed writers, by the state of the trial
    whose directory holds them."""
    out: Counter = Counter()
    if root.exists():
        for p in root.rglob(".tmp_*"):
            m = re.match(r"trial_(\d+)$", p.parent.name)
            out[states.get(int(m.group(1)), "?") if m else "?"] += 1
    return dict(out)


def _tune_job_args(url: str, name: str, cp: Path, n_ids: int, *, max_t: int, grace: float,
                   extra: list[str]) -> list[str]:
    """Command line of ``tune_job.py``: ``n_ids`` configurations, 2 at a time, checkpoints
    under ``cp``, heartbeat every 0.5 s with ``grace`` seconds of grace, plus ``extra``."""
    return [
        str(HERE / "tune_job.py"), "--url", url, "--study", name, "--storage-path", str(cp),
        "--ids", str(n_ids), "--concurrent", "2", "--max-t", str(max_t), *extra,
        "--heartbeat-interval", "0.5", "--heartbeat-grace", str(grace),
    ]


def sc_ckpt_kill(ctx: Ctx, res: Result) -> None:
    q = ctx.quick
    url = ctx.url("sqlite", res.scenario)
    name = f"ckpt-kill-{uuid.uuid4().hex[:6]}"
    n_ids = 8 if q else 20
    grace = 3.0
    log = ctx.tmp / f"{name}.log"
    out = ctx.tmp / f"{name}.out"
    cp = ctx.tmp / f"{name}-ckpt"
    env = {"HS_REL_TUNE_LOG": str(log), "HS_REL_P_KILL_SAVE": "0.06", "HS_REL_SLEEP": "0.08"}
    base = _tune_job_args(url, name, cp, n_ids, max_t=6, grace=grace, extra=["--retries", "50"])
    driver_kills = 1 if q else 2
    killed = 0
    runs = 0
    t0 = time.monotonic()
    resume = False
    rc = None
    rcs: list[int] = []
    while runs < driver_kills + 4:
        runs += 1
        p = ctx.procs.start(base + (["--resume"] if resume else []), out, env=env)
        # kill the whole driver (its executor workers too) once some more trials finished
        target = min(_n_complete(url, name) + ctx.rng.uniform(0.15, 0.35) * n_ids, n_ids - 1)
        while p.poll() is None:
            time.sleep(0.2)
            if killed < driver_kills and _n_complete(url, name) >= target:
                if Procs.kill(p):
                    killed += 1
                    _say(
                        f"  tune driver killed (kill -9 of its process group), "
                        f"{killed}/{driver_kills}"
                    )
                break
            if time.monotonic() - t0 > (150 if q else 300):
                Procs.kill(p)
                res.violations.append("the tune run did not finish in time (hang?)")
                break
        rc = p.wait()
        rcs.append(rc)
        if rc == 0:
            break
        resume = True
        time.sleep(grace + 0.5)  # a resumed run fails the dead run's trials after the grace
    lines = log.read_text().splitlines() if log.exists() else []
    kills = [ln.split() for ln in lines if ln.startswith("kill ckpt-save")]
    errors = [ln for ln in lines if ln.startswith("error")]
    chk = _tune_check(url, name, n_ids)
    res.trials_run = chk["trials"]
    res.workers_killed = killed + len(kills)
    res.duplicated = chk["duplicated"]
    res.violations.extend(chk["violations"])
    if rc != 0 or any(r not in (0, -9) for r in rcs):
        res.violations.append(f"tune runs exited with {rcs}: {errors[-1:] or ''}")
    if chk["missing_ids"]:
        res.violations.append(f"ids never completed: {chk['missing_ids']}")
    corrupt = sum(c for r, c in chk["fail_reasons"].items() if "corrupt checkpoint" in r)
    if corrupt:
        res.violations.append(f"{corrupt} trial(s) read back a torn checkpoint")
    for r, c in chk["fail_reasons"].items():
        if "WorkerDied" not in r and "worker lost" not in r and "corrupt checkpoint" not in r:
            res.violations.append(f"{c} FAIL trial(s) with an unexpected reason: {r}")
    orphans = _orphan_temp_files(cp, {t.number: t.state.name for t in _trials(url, name)})
    res.details.update(
        {
            "study": name,
            "ids": n_ids,
            "driver_kills": killed,
            "runs": runs,
            "save_kills": len(kills),
            "exit_codes": rcs,
            "check": chk,
            "orphan_temp_files": orphans,
            "tune_errors": errors,
            "seconds": round(time.monotonic() - t0, 1),
        }
    )
    res.notes.append(
        f"{n_ids - len(chk['missing_ids'])}/{n_ids} grid ids complete; "
        f"{len(kills)} kill(s) inside CheckpointStore.save, {killed} of the driver; "
        f"{chk['resumed_from_checkpoint']} trial(s) resumed from a checkpoint"
    )
    res.notes.append(f"FAIL reasons: {chk['fail_reasons']}")
    if orphans:
        res.notes.append(
            f"{sum(orphans.values())} temporary .tmp_* checkpoint file(s) of killed writers left, "
            f"in the directories of trials now {orphans} (a retry writes under its own number)"
        )


def _trials(url: str, name: str) -> list:
    import hypersearch as hs

    try:
        return hs.load_study(name, url, sampler=hs.samplers.RandomSampler(seed=0)).get_trials(
            deepcopy=False
        )
    except Exception:  # not created yet
        return []


def _n_complete(url: str, name: str) -> int:
    return sum(1 for t in _trials(url, name) if t.state.name == "COMPLETE")


def sc_ckpt_rmdir(ctx: Ctx, res: Result) -> None:
    q = ctx.quick
    scheds = ["asha"] if q else ["asha", "pbt"]
    total = 0
    for sched in scheds:
        url = ctx.url("sqlite", f"{res.scenario}-{sched}")
        name = f"rmdir-{sched}-{uuid.uuid4().hex[:6]}"
        log = ctx.tmp / f"{name}.log"
        out = ctx.tmp / f"{name}.out"
        cp = ctx.tmp / f"{name}-ckpt"
        n_ids = 8 if q else 16
        env = {"HS_REL_TUNE_LOG": str(log), "HS_REL_SLEEP": "0.1"}
        args = _tune_job_args(url, name, cp, n_ids, max_t=8, grace=3.0, extra=["--scheduler", sched])
        t0 = time.monotonic()
        p = ctx.procs.start(args, out, env=env)
        deleted_at = None
        limit = 120 if q else 180
        hung = False
        while p.poll() is None:
            time.sleep(0.2)
            if (
                deleted_at is None
                and _n_complete_or_paused(url, name) >= 3
                and (cp / name).exists()
            ):
                shutil.rmtree(cp / name, ignore_errors=True)
                deleted_at = round(time.monotonic() - t0, 1)
                _say(f"  {sched}: checkpoint directory deleted at {deleted_at} s")
            if time.monotonic() - t0 > limit:
                hung = True
                Procs.kill(p)
                break
        rc = p.wait()
        lines = log.read_text().splitlines() if log.exists() else []
        chk = _tune_check(url, name, None)
        total += chk["trials"]
        if hung:
            res.violations.append(f"{sched}: the run did not end within {limit} s (hang)")
        if rc != 0:
            res.violations.append(
                f"{sched}: hs.tune exited with {rc}: "
                f"{[ln for ln in lines if ln.startswith('error')][-1:]}"
            )
        res.violations.extend(f"{sched}: {v}" for v in chk["violations"])
        res.details[sched] = {
            "study": name,
            "deleted_at_s": deleted_at,
            "rc": rc,
            "check": chk,
            "seconds": round(time.monotonic() - t0, 1),
        }
        if deleted_at is None:
            res.notes.append(f"{sched}: the run ended before the directory could be deleted")
            continue
        missing = sum(
            c for r, c in chk["fail_reasons"].items() if "missing" in r or "No such file" in r
        )
        res.notes.append(
            f"{sched}: deleted at {deleted_at} s; run ended (rc {rc}) in "
            f"{res.details[sched]['seconds']} s; states {chk['states']}; "
            f"{missing} trial(s) failed on the missing checkpoint"
            + (f"; {chk['pbt_exploits']} exploit(s) (checkpoint copies)" if sched == "pbt" else "")
            + (
                f"; {chk['resumed_from_checkpoint']} trial(s) resumed from a checkpoint"
                if chk["resumed_from_checkpoint"]
                else ""
            )
        )
        for r, c in chk["fail_reasons"].items():
            res.notes.append(f"{sched}: {c} x FAIL '{r}'")
        if chk["fail_reasons"]:
            res.violations.append(
                f"{sched}: {sum(chk['fail_reasons'].values())} trial(s) failed after the checkpoint directory "
                "was deleted (a lost checkpoint must mean training again from scratch)"
            )
    res.trials_run = total


def _n_complete_or_paused(url: str, name: str) -> int:
    ts = _trials(url, name)
    return sum(1 for t in ts if t.state.name in ("COMPLETE", "PAUSED", "PRUNED")) + sum(
        1 for t in ts if (t.last_step or 0) >= 2
    )


def sc_full_disk(ctx: Ctx, res: Result) -> None:
    mnt = ctx.tmp / "small-disk"
    mnt.mkdir()
    how = "tmpfs"
    if ctx.no_mount:
        r = subprocess.CompletedProcess([], 1, "", "--no-mount given")
    else:
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)],
            capture_output=True,
            text=True,
        )
    if r.returncode == 0:
        ctx.mounts.append(mnt)
        ballast = mnt / "ballast"
        with open(ballast, "wb") as f:  # leaves about 1 MB for the database
            f.write(b"\0" * (2 * 1024 * 1024))
    else:
        how = f"RLIMIT_FSIZE (mount not permitted: {r.stderr.strip()[:80]})"
        ballast = None
    url = f"sqlite:///{mnt / 'study.db'}"
    name = "full-disk"
    log = ctx.tmp / "full-disk.log"
    flag = ctx.tmp / "full-disk.freed"
    out = ctx.tmp / "full-disk.out"
    args = [
        str(HERE / "disk_writer.py"),
        "--url",
        url,
        "--study",
        name,
        "--log",
        str(log),
        "--freed-flag",
        str(flag),
    ]
    if ballast is None:
        args += ["--fsize-limit", str(1024 * 1024)]
    p = ctx.procs.start(args, out)
    t0 = time.monotonic()
    while not _log_has(log, "full") and p.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.2)
    full_lines = [ln for ln in _lines(log) if ln.startswith("full")]
    if not full_lines:
        Procs.kill(p)
        raise RuntimeError(f"the writer never hit the limit: {_lines(out)[-5:]}")
    # the database while the disk is full: readable, consistent, every result there
    integrity_full = _integrity(mnt / "study.db")
    done_so_far = {
        int(ln.split()[1]): float(ln.split()[2]) for ln in _lines(log) if ln.startswith("done")
    }
    try:
        import hypersearch as hs
        from hypersearch.storage.sql import SQLStorage

        st = SQLStorage(url, retry_timeout=5)
        seen = {
            t.number: t
            for t in hs.load_study(name, st, sampler=hs.samplers.RandomSampler(seed=0)).get_trials(
                deepcopy=False
            )
        }
        st.close()
        bad = [n for n, v in done_so_far.items() if n not in seen or seen[n].value != v]
        read_while_full = (
            f"{len(seen)} trials readable, {len(done_so_far) - len(bad)}/{len(done_so_far)} "
            "completed results intact"
        )
        if bad:
            res.violations.append(f"while full: completed trials missing or changed: {bad[:10]}")
    except Exception as e:
        read_while_full = f"reading failed: {type(e).__name__}: {e}"
        res.violations.append(f"the study could not be read while the disk was full: {e}")
    if ballast is not None:
        ballast.unlink()
    flag.touch()
    try:
        p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        Procs.kill(p)
        res.violations.append("the writer did not finish after space was freed")
    # a new process (no limit) continues the study
    p2 = ctx.procs.start(args + ["--continue"], out)
    try:
        rc2 = p2.wait(timeout=120)
    except subprocess.TimeoutExpired:
        Procs.kill(p2)
        rc2 = None
    lines = _lines(log)
    done = {}
    n_before_full = None
    for ln in lines:
        parts = ln.split()
        if parts[0] == "done":
            done[int(parts[1])] = float(parts[2])
        elif parts[0] == "full" and n_before_full is None:
            n_before_full = len(done)
    import hypersearch as hs

    trials = hs.load_study(name, url).get_trials(deepcopy=False)
    by_number = {t.number: t for t in trials}
    lost = [
        n
        for n, v in done.items()
        if by_number.get(n) is None
        or by_number[n].state.name != "COMPLETE"
        or by_number[n].value != v
    ]
    states = Counter(t.state.name for t in trials)
    res.trials_run = len(trials)
    res.lost = len(lost)
    res.restarts_survived = 1 if rc2 == 0 else 0
    if [t.number for t in trials] != list(range(len(trials))):
        res.violations.append("trial numbers not dense/unique")
    if states.get("RUNNING"):
        res.violations.append(f"{states['RUNNING']} trial(s) left RUNNING")
    if integrity_full != "ok":
        res.violations.append(f"integrity_check while full: {integrity_full}")
    integrity_end = _integrity(mnt / "study.db")
    if integrity_end != "ok":
        res.violations.append(f"integrity_check at the end: {integrity_end}")
    same = [ln for ln in lines if ln.startswith("same-process")]
    cont = [ln for ln in lines if ln.startswith("continued")]
    if rc2 != 0 or not cont:
        res.violations.append(f"a new process could not continue the study (rc {rc2})")
    error_line = full_lines[0][len("full ") :]  # "<exception type> <message> (cause: ...)"
    res.details.update(
        {
            "limit": how,
            "error": full_lines,
            "integrity_when_full": integrity_full,
            "integrity_at_end": integrity_end,
            "done_before_full": n_before_full,
            "same_process": same,
            "continued": cont,
            "states": dict(states),
            "fail_reasons": dict(Counter(t.fail_reason for t in trials if t.fail_reason)),
        }
    )
    res.notes.append(f"limit: {how}; the writer got: {error_line[:200]}")
    res.notes.append(f"another process reading while the disk was full: {read_while_full}")
    res.notes.append(
        f"{n_before_full} trials completed before the disk filled ({len(done)} in all), "
        f"all intact at the end: {not lost}; integrity_check {integrity_full} (while full) "
        f"/ {integrity_end} (end)"
    )
    for ln in same + cont:
        res.notes.append(ln[:240])
    for r_, c in res.details["fail_reasons"].items():
        res.notes.append(f"{c} x FAIL '{r_[:120]}'")


def _lines(p: Path) -> list[str]:
    return p.read_text(errors="replace").splitlines() if p.exists() else []


def _log_has(p: Path, word: str) -> bool:
    return any(ln.startswith(word) for ln in _lines(p))


def _integrity(db: Path) -> str:
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            rows = c.execute("PRAGMA integrity_check").fetchall()
            n = c.execute("SELECT count(*) FROM hs_trials").fetchone()[0]
        finally:
            c.close()
        text = ",".join(r[0] for r in rows)
        return text if text != "ok" else "ok" if n >= 0 else "no trials"
    except Exception as e:
        return f"{type(e).__name__}: {e}"


def sc_bad_inputs(ctx: Ctx, res: Result) -> None:
    q = ctx.quick
    n_api = 80 if q else 300
    n_cli = 40 if q else 150
    if res.backend == "sqlite":
        api = badinputs.ApiCases(ctx.url("sqlite", "bad-api"), random.Random(ctx.rng.random())).run(
            n_api
        )
        cli = badinputs.run_cli(
            ctx.url("sqlite", "bad-cli"),
            n_cli,
            random.Random(ctx.rng.random()),
            HERE / "objective.py",
            ctx.tmp,
        )
    else:
        url = ctx.pg()
        if url is None:
            raise _Skip(f"no PostgreSQL: {ctx.pg_problem}")
        api = badinputs.ApiCases(url, random.Random(ctx.rng.random())).run(n_api // 2)
        cli = badinputs.run_cli(
            url, n_cli // 3, random.Random(ctx.rng.random()), HERE / "objective.py", ctx.tmp
        )
    res.bad_inputs = api["tried"] + cli["tried"]
    res.details.update({"api": api, "cli": cli})
    res.notes.append(
        f"API: {api['tried']} ({api['counts']['error']} must raise, "
        f"{api['counts']['recorded']} must be recorded as one FAIL trial), "
        f"{api['n_problems']} problem(s); CLI: {cli['tried']} command lines "
        f"(exit codes {cli['exit_codes']}), {cli['n_problems']} problem(s)"
    )
    for pr in api["problems"] + cli["problems"]:
        res.violations.append(pr[:220])


class _Skip(Exception):
    pass


SCENARIOS = [
    ("kill-sqlite", "sqlite", sc_kill, True),
    ("kill-postgres", "postgres", sc_kill, True),
    ("kill-cli", "postgres", sc_kill_cli, False),
    ("ckpt-kill", "sqlite", sc_ckpt_kill, True),
    ("pg-restart", "postgres", sc_pg_restart, True),
    ("sqlite-full-disk", "sqlite", sc_full_disk, True),
    ("ckpt-dir-deleted", "sqlite", sc_ckpt_rmdir, True),
    ("bad-inputs", "sqlite", sc_bad_inputs, True),
    ("bad-inputs", "postgres", sc_bad_inputs, True),
]


# -- report ---------------------------------------------------------------------------------------


def render(results: list[Result], header: list[str], footer: list[str]) -> str:
    cols = [
        "scenario",
        "backend",
        "trials run",
        "workers killed",
        "restarts survived",
        "bad inputs tried",
        "lost",
        "duplicated",
        "dropped",
        "result",
    ]
    rows = []
    for r in results:
        verdict = (
            "SKIPPED"
            if r.error and r.error.startswith("skipped")
            else "ERROR"
            if r.error
            else "ok"
            if r.ok
            else "LOST/DUP"
            if r.lost or r.duplicated
            else "DROPPED"
            if r.dropped
            else "VIOLATION"
        )
        rows.append(
            [
                r.scenario,
                r.backend,
                str(r.trials_run),
                str(r.workers_killed),
                str(r.restarts_survived),
                str(r.bad_inputs),
                str(r.lost),
                str(r.duplicated),
                str(r.dropped),
                verdict,
            ]
        )
    tot = [
        "TOTAL",
        "",
        *[str(sum(int(x[i]) for x in rows)) for i in range(2, 9)],
        "ok" if all(r.ok or (r.error or "").startswith("skipped") for r in results) else "FAILED",
    ]
    widths = [max(len(c), *(len(x[i]) for x in rows + [tot])) for i, c in enumerate(cols)]

    def line(vals):
        return "  ".join(
            v.ljust(w) if i < 2 else v.rjust(w)
            for i, (v, w) in enumerate(zip(vals, widths, strict=True))
        )

    out = [*header, "", line(cols), line(["-" * w for w in widths])]
    out += [line(x) for x in rows] + [line(["-" * w for w in widths]), line(tot), "", "notes:"]
    for r in results:
        out.append(f"* {r.scenario} ({r.backend}, {r.seconds:.0f} s)")
        if r.error:
            out.append(f"    {r.error.splitlines()[0][:300]}")
        for n in r.notes:
            out.append(f"    - {n}")
        for v in r.violations[:12]:
            out.append(f"    ! {v}")
        if len(r.violations) > 12:
            out.append(f"    ! ... {len(r.violations) - 12} more (see the JSON file)")
    out += ["", *footer]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs (under 2 minutes)")
    ap.add_argument("--only", default=None, help="comma-separated scenario names")
    ap.add_argument("--seed", type=int, default=None, help="seed of the fault schedule")
    ap.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (logs, databases)"
    )
    ap.add_argument(
        "--no-mount",
        action="store_true",
        help="full disk through RLIMIT_FSIZE even where a tmpfs could be mounted",
    )
    ap.add_argument(
        "--out", default=None, help="results file stem (default: benchmarks/results/reliability)"
    )
    a = ap.parse_args(argv)
    seed = a.seed if a.seed is not None else int(time.time()) % 100000
    ctx = Ctx(a.quick, a.keep, seed)
    ctx.no_mount = a.no_mount
    logging.getLogger("hypersearch").setLevel(logging.ERROR)  # the bad inputs' warnings
    only = set(a.only.split(",")) if a.only else None
    # a quick run never replaces the full run's results
    stem = (
        Path(a.out)
        if a.out
        else (
            Path(tempfile.gettempdir()) / "hs-reliability-quick"
            if a.quick
            else RESULTS / "reliability"
        )
    )
    results: list[Result] = []
    t_all = time.monotonic()

    def on_term(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    end_notes: list[str] = []
    try:
        os.nice(5)
    except OSError:
        pass
    try:
        for name, backend, fn, in_quick in SCENARIOS:
            if only is not None and name not in only:
                continue
            if a.quick and not in_quick:
                continue
            res = Result(name, backend)
            _say(f"{name} ({backend}) ...")
            t0 = time.monotonic()
            try:
                fn(ctx, res)
            except _Skip as e:
                res.error = f"skipped: {e}"
            except Exception as e:
                res.error = f"{type(e).__name__}: {e}"
                res.details["traceback"] = traceback.format_exc()
            res.seconds = time.monotonic() - t0
            _say(
                f"  -> {'ok' if res.ok else res.error or 'PROBLEMS'}: trials {res.trials_run}, "
                f"killed {res.workers_killed}, restarts {res.restarts_survived}, bad inputs "
                f"{res.bad_inputs}, lost {res.lost}, dup {res.duplicated}, dropped {res.dropped}, "
                f"violations {len(res.violations)} ({res.seconds:.0f} s)"
            )
            results.append(res)
    except KeyboardInterrupt:
        end_notes.append("interrupted")
    finally:
        end_notes += ctx.cleanup()
    import hypersearch

    header = [
        f"hypersearch reliability benchmark{' (--quick)' if a.quick else ''}: faults injected "
        "into running studies, then the study checked",
        f"hypersearch {hypersearch.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}, seed {seed}, "
        f"{time.monotonic() - t_all:.0f} s in all",
        "lost = a result a worker saw stored (or that committed before its worker was killed) "
        "missing or changed; duplicated = an id with more than one COMPLETE trial; dropped = an "
        "enqueued configuration never completed although retries were allowed.",
        "workers killed = kill -9 by the harness + self-kills at chosen points; "
        "restarts survived = "
        "PostgreSQL server restarts after which the workers went on by themselves (full disk: the "
        "study went on after space was freed).",
    ]
    footer = [f"{n}" for n in end_notes] + [
        f"command: python benchmarks/reliability/run.py{' --quick' if a.quick else ''}"
    ]
    text = render(results, header, footer)
    print("\n" + text)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".txt").write_text(text)
    stem.with_suffix(".json").write_text(
        json.dumps(
            {
                "seed": seed,
                "quick": a.quick,
                "results": [asdict(r) | {"ok": r.ok} for r in results],
                "end": end_notes,
            },
            indent=1,
            default=str,
        )
    )
    print(f"written {stem.with_suffix('.txt')} and .json")
    bad = any(r.lost or r.duplicated for r in results) or any(
        not r.ok and not (r.error or "").startswith("skipped") for r in results
    )
    return 1 if bad or "interrupted" in end_notes else 0


if __name__ == "__main__":
    sys.exit(main())
