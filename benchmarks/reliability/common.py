"""Helpers of the reliability benchmark: processes, PostgreSQL, logs and the checks
run on a study after its workers were killed (see ``run.py``)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PG_ADMIN = os.environ.get("HS_RELIABILITY_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NICE = ["nice", "-n", "10"] if shutil.which("nice") else []

# -- results -----------------------------------------------------------------------------------


@dataclass
class Result:
    """One row of the summary table (plus details for the JSON file)."""

    scenario: str
    backend: str
    trials_run: int = 0
    workers_killed: int = 0
    restarts_survived: int = 0
    bad_inputs: int = 0
    lost: int = 0
    duplicated: int = 0
    dropped: int = 0  # enqueued configurations never completed although retries were allowed
    violations: list[str] = field(default_factory=list)  # broken invariants
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.lost == 0
            and self.duplicated == 0
            and self.dropped == 0
            and not self.violations
        )


# -- processes -----------------------------------------------------------------------------------


class Procs:
    """Child processes, each in its own process group (``start_new_session``), niced;
    :meth:`kill_all` kills every group still alive."""

    def __init__(self) -> None:
        self.all: list[subprocess.Popen] = []

    def start(
        self, args: list[str], out: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO), str(HERE), *filter(None, [full_env.get("PYTHONPATH")])]
        )
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        full_env.update(env or {})
        with open(out, "ab") as f:
            p = subprocess.Popen(
                [*NICE, sys.executable, *args],
                stdout=f,
                stderr=subprocess.STDOUT,
                cwd=str(REPO),
                env=full_env,
                start_new_session=True,
            )
        self.all.append(p)
        return p

    @staticmethod
    def kill(p: subprocess.Popen, sig: int = signal.SIGKILL) -> bool:
        """Kill ``p``'s process group (``kill -9`` by default); True if it was alive."""
        if p.poll() is not None:
            return False
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def kill_all(self) -> None:
        for p in self.all:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # the group: its children too
            except (ProcessLookupError, PermissionError):
                pass
        for p in self.all:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


# -- PostgreSQL ----------------------------------------------------------------------------------


def pg_available() -> str | None:
    """None if the server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except Exception as e:
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"


def pg_create_db(prefix: str = "hs_rel") -> str:
    import psycopg

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def pg_drop_db(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_cluster() -> list[str] | None:
    """``[version, cluster]`` of the local Debian cluster, if it can be restarted here."""
    if (
        shutil.which("pg_ctlcluster") is None
        or os.geteuid() != 0
        or not os.path.isdir("/etc/postgresql")
    ):
        return None
    versions = sorted(
        os.listdir("/etc/postgresql"), key=lambda v: [int(x) for x in re.findall(r"\d+", v)]
    )
    if not versions:
        return None
    clusters = sorted(os.listdir(f"/etc/postgresql/{versions[-1]}"))
    return [versions[-1], "main" if "main" in clusters else clusters[0]]


def pg_ctl(action: str, timeout: float = 120) -> subprocess.CompletedProcess:
    cl = pg_cluster()
    if cl is None:
        raise RuntimeError("cannot control the PostgreSQL server (needs pg_ctlcluster and root)")
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cl, action],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def pg_ensure_running() -> str:
    """Start the server if it is down; returns what was done."""
    if pg_available() is None:
        return "running"
    if pg_cluster() is None:
        return "down (cannot start it here)"
    r = pg_ctl("start")
    for _ in range(60):
        if pg_available() is None:
            return "started"
        time.sleep(0.5)
    return f"still down after start: {r.stderr.strip()[:200]}"


# -- logs ----------------------------------------------------------------------------------------


@dataclass
class LogInfo:
    done: list[tuple[int, int, float, int]] = field(default_factory=list)  # id, number, value, pid
    kills: list[list[str]] = field(default_factory=list)  # [point, number, id, (value)]
    errors: list[str] = field(default_factory=list)
    starts: int = 0
    reaped: dict[int, int] = field(default_factory=dict)  # trial number -> pid of its reaper
    requeued: set[int] = field(default_factory=set)  # trial numbers queued again


def read_logs(paths: list[Path]) -> LogInfo:
    info = LogInfo()
    for p in paths:
        if not p.exists():
            continue
        for line in p.read_text(errors="replace").splitlines():
            parts = line.split(" ")
            if parts[0] == "done" and len(parts) >= 5:
                info.done.append((int(parts[1]), int(parts[2]), float(parts[3]), int(parts[4])))
            elif parts[0] == "kill":
                info.kills.append(parts[1:])
            elif parts[0] == "error":
                info.errors.append(" ".join(parts[1:]))
            elif parts[0] == "start":
                info.starts += 1
            elif parts[0] == "reaped" and len(parts) == 3:
                for n in parts[1].split(","):
                    info.reaped[int(n)] = int(parts[2])
            elif parts[0] == "requeued" and len(parts) == 4:
                info.requeued.add(int(parts[1]))
    return info


# -- checks --------------------------------------------------------------------------------------

LOST_REASONS = ("worker lost", "killed by signal", "WorkerDied")


def classify_reason(reason: str | None) -> str:
    if not reason:
        return "no reason"
    if "worker lost" in reason:
        return "worker lost (no heartbeat)"
    if "killed by signal" in reason or "WorkerDied" in reason:
        return "worker process killed"
    if "TrialStateError" in reason:
        return "TrialStateError"
    return reason.split(":")[0][:60]


def recover(url: str, study_name: str, grace: float) -> int:
    """What any new worker does first: fail the RUNNING trials whose heartbeat stopped
    more than ``grace`` seconds ago (and queue them again where they have retries).
    Returns how many it failed."""
    import hypersearch as hs
    from hypersearch.storage.sql import SQLStorage

    st = SQLStorage(url)
    try:
        study = hs.load_study(study_name, st, sampler=hs.samplers.RandomSampler(seed=0))
        return len(study._fail_stale_trials(grace))
    finally:
        st.close()


def check_id_study(
    url: str, study_name: str, n_ids: int, logs: LogInfo | None, fillers_ok: bool = False
) -> dict[str, Any]:
    """The invariants of a study whose configurations carry a unique ``id``.

    * every id has exactly one COMPLETE trial (more: duplicated; none: missing);
    * every ``done`` line of the logs (written after ``tell`` returned) is a COMPLETE
      trial with that id and value (else: lost);
    * a worker killed just after its finishing write committed (``tell-after``)
      left its trial COMPLETE with that value (else: lost); one killed just before
      the commit (``tell-before``) left it not COMPLETE (else: a torn write);
    * no trial RUNNING or WAITING; trial numbers dense and unique;
    * FAIL trials carry a reason (worker lost / killed); retries point back to a FAIL
      trial with the same parameters.
    """
    import hypersearch as hs
    from hypersearch.storage.sql import SQLStorage
    from hypersearch.trial._state import TrialState

    st = SQLStorage(url)
    try:
        study = hs.load_study(study_name, st, sampler=hs.samplers.RandomSampler(seed=0))
        trials = study.get_trials(deepcopy=False)
    finally:
        st.close()
    violations: list[str] = []
    numbers = [t.number for t in trials]
    if numbers != list(range(len(trials))):
        violations.append(f"trial numbers not dense/unique: {numbers[:20]}...")
    by_number = {t.number: t for t in trials}
    complete: dict[int, list[Any]] = {}
    fillers = 0
    for t in trials:
        if "id" not in t.params:
            fillers += 1
            if not fillers_ok:
                violations.append(f"trial {t.number} has no id")
            continue
        if t.state == TrialState.COMPLETE:
            complete.setdefault(int(t.params["id"]), []).append(t)
    duplicated = sum(len(v) - 1 for v in complete.values() if len(v) > 1)
    missing = sorted(set(range(n_ids)) - set(complete))
    states = Counter(t.state.name for t in trials)
    for s in ("RUNNING", "WAITING"):
        if states.get(s):
            violations.append(f"{states[s]} trial(s) left {s}")
    lost: list[str] = []
    torn: list[str] = []
    if logs is not None:
        for ident, number, value, pid in logs.done:
            t = by_number.get(number)
            if (
                t is None
                or t.state != TrialState.COMPLETE
                or t.params.get("id") != ident
                or t.value != value
            ):
                lost.append(
                    f"done id {ident} trial {number} (pid {pid}) is "
                    f"{'missing' if t is None else t.state.name}"
                )
        for k in logs.kills:
            point = k[0]
            if point not in ("tell-before", "tell-after") or not k[1].isdigit():
                continue
            t = by_number.get(int(k[1]))
            if point == "tell-after":
                v = float(k[3]) if len(k) > 3 and k[3] not in ("None", "?") else None
                if t is None or t.state != TrialState.COMPLETE or (v is not None and t.value != v):
                    lost.append(
                        f"trial {k[1]} committed before its worker was killed is "
                        f"{'missing' if t is None else t.state.name}"
                    )
            elif t is not None and t.state == TrialState.COMPLETE:
                torn.append(f"trial {k[1]} is COMPLETE although its worker died before the commit")
    violations.extend(torn)
    reasons = Counter(classify_reason(t.fail_reason) for t in trials if t.state == TrialState.FAIL)
    for r, c in reasons.items():
        if r not in ("worker lost (no heartbeat)", "worker process killed"):
            violations.append(f"{c} FAIL trial(s) with an unexpected reason: {r}")
    for t in trials:
        r = t.system_attrs.get("retry_of")
        if r is not None:
            src = by_number.get(int(r))
            if (
                src is None
                or src.state != TrialState.FAIL
                or src.params.get("id") != t.params.get("id")
            ):
                violations.append(
                    f"trial {t.number} retries trial {r}, which is not a FAIL trial of the same id"
                )
    # a configuration whose worker died and that was never queued again
    retried = {int(t.system_attrs["retry_of"]) for t in trials if "retry_of" in t.system_attrs}
    dropped = []
    for i in missing:
        chain = [t for t in trials if t.params.get("id") == i]
        ends = [t for t in chain if t.number not in retried]
        if ends and all(t.state == TrialState.FAIL for t in ends):
            e = ends[-1]
            dropped.append(
                {
                    "id": i,
                    "trial": e.number,
                    "reason": e.fail_reason,
                    "max_retries_recorded": "max_retries" in e.system_attrs,
                    "params_written": "x" in e.params,
                }
            )
    return {
        "trials": len(trials),
        "states": dict(states),
        "fillers": fillers,
        "complete_ids": len(complete),
        "duplicated": duplicated,
        "duplicated_ids": sorted(i for i, v in complete.items() if len(v) > 1),
        "missing_ids": missing,
        "lost": lost,
        "dropped": dropped,
        "fail_reasons": dict(reasons),
        "retries": len(retried),
        "violations": violations,
    }


def complete_ids(study) -> set[int]:
    from hypersearch.trial._state import TrialState

    return {
        int(t.params["id"])
        for t in study.get_trials([TrialState.COMPLETE], deepcopy=False)
        if "id" in t.params
    }


def enqueue_ids(study, n: int) -> None:
    for i in range(n):
        study.enqueue_trial({"id": i})
