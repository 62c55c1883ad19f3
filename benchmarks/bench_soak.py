"""Soak test: one study grown to 100,000 trials by 8 independent workers, on SQLite
and PostgreSQL, checked for lost or duplicated trials, with the workers' memory
and per-trial time recorded all along, and the read paths (``load_study``,
``best_trial``, listing, the CLI) timed at 1k, 10k and 100k trials next to
Optuna's RDB storage holding a study of the same size on the same backend.

What runs
---------
* ``--workers`` (8) independent, long-lived worker processes, started like a
  real deployment: each opens the storage once (``hs.load_study``) and calls
  ``study.optimize`` (library defaults, heartbeat included) until the study
  holds ``--trials`` trials.  The objective is trivial on purpose: three
  ``suggest_float`` and a hash, with ``RandomSampler`` (seed = worker index).
  The soak measures the framework and its storage, not a model; the cost of
  the default (model-based) sampler is measured by ``bench_sampler_overhead.py``.
* The objective's value is a 53-bit hash of the trial's number and its exact
  parameter values (``token_value``), so every stored trial can be checked
  against its own parameters, and each worker logs ``number value`` of every
  trial it completed to its own file.
* Stopping: after each trial a worker looks at the largest trial number its
  (incrementally refreshed) view of the study holds and stops once the study
  has ``--trials`` trials.  That view is as of the worker's last ``ask``, so
  each worker may start one trial more: the study ends with between N and
  N + workers - 1 trials (the overshoot is reported and checked).
* Memory and time per worker: every time the study passes a multiple of 1,000
  trials, each worker records its RSS (psutil, else ``/proc/self/statm``) and
  the mean wall time of its own trial cycles (ask + objective + tell) in that
  window of 1,000 study trials (about 1,000 / workers of its own).  The study's
  throughput per 1,000 completed trials comes from the workers' logs.
* Flatness: memory is flat if a worker's RSS grows by at most 10% from 10k trials to
  the end; per-trial time is flat if the median of the last 5 windows is at most
  1.25x the median of the first 5 after 2,000 warm-up trials (medians, because one
  window is noisy on a shared machine).
* Read paths at 1k, 10k and N trials: the workers are *paused* between trials
  (no trial is running, the database is idle, and the study has exactly the
  size reported), then fresh processes time, for hypersearch: ``load_study``,
  ``best_trial``, ``get_trials(deepcopy=False)``, ``study.trials`` (copies),
  ``count_trials``, the incremental read a worker does on each ``ask``, and the
  CLI ``hypersearch trials --limit 20`` / ``best-trial`` / ``studies`` (whole
  command, interpreter start included); for Optuna (``RDBStorage``, a separate
  database or file on the same backend): ``optuna.load_study``,
  ``best_trial``, ``get_trials(deepcopy=False)`` and ``study.trials``.  Each in
  its own fresh process, ``--repeats`` times (median), order alternating.
  Pause time is excluded from every per-trial figure.
* Filling Optuna's study: Optuna runs trials at about 20-60 ms each and its
  ``add_trials`` adds one trial per transaction at a similar cost, so 100k
  trials would take more than an hour per backend.  The first 1,000 Optuna
  trials are written by Optuna itself (``study.add_trials``); beyond that the
  study is grown by cloning those rows in SQL (``INSERT ... SELECT`` on
  Optuna's own tables: new trial ids and numbers, same parameters, values,
  states and times), then checked through ``optuna.load_study`` (count, dense
  numbers).  ``--optuna-fill api`` uses ``add_trials`` only (slow).
* Verification (from the database rows, not through the library's view):
  numbers dense and unique 0..n-1, no RUNNING/WAITING trial left, every value
  equal to the hash of its number and parameters, every logged
  ``(number, value)`` present exactly once and every stored trial logged once.

Usage::

    python benchmarks/bench_soak.py --quick               # 5,000 trials, a smoke run
    nice -n 10 python benchmarks/bench_soak.py            # 100k trials, 8 workers, both backends
    python benchmarks/bench_soak.py --backends sqlite --trials 20000 --repeats 1
    python benchmarks/bench_soak.py --trials 100000 --trials-postgres 30000
    python benchmarks/bench_soak.py --render benchmarks/results/soak.json   # redo .txt/.png
    python benchmarks/bench_soak.py --merge sqlite_run.json pg_run.json    # one report of two runs

Writes ``benchmarks/results/soak.txt`` (tables), ``soak.json`` (everything, the
per-1,000-trial curves included) and ``soak_memory.png`` (when matplotlib is
installed).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_overhead import Postgres, _loadavg, _versions, _write_json  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STUDY = "soak"
OPTUNA_STUDY = "soak-optuna"
N_PARAMS = 3
WINDOW = 1000  # study trials per sample / timing window
OPTUNA_API_TRIALS = 1000  # Optuna trials written by Optuna's own add_trials
CLI_LIMIT = 20
LARGE = 20_000  # studies this large are probed --large-repeats times


def token_value(number: int, params: dict[str, Any]) -> float:
    """The objective's value: a hash of the trial's number and its exact parameters,
    in [0, 1).  A trial stored with another trial's parameters or value fails the
    check, and values are (practically) unique."""
    key = f"{number}|" + "|".join(f"{k}={params[k]!r}" for k in sorted(params))
    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return (h >> 11) / float(1 << 53)


def _rss_reader():
    """A function returning this process's resident set size in MB."""
    try:
        import psutil

        proc = psutil.Process()
        return lambda: proc.memory_info().rss / 2**20
    except ImportError:
        page = os.sysconf("SC_PAGE_SIZE")

        def statm() -> float:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * page / 2**20

        return statm


# ---------------------------------------------------------------------------------------
# Worker process: one long-lived hypersearch worker of the soak.
# ---------------------------------------------------------------------------------------


def run_worker(spec: dict[str, Any]) -> None:
    import logging

    import hypersearch as hs
    from hypersearch.trial._state import TrialState

    logging.getLogger("hypersearch").setLevel(logging.WARNING)
    wid, target = spec["wid"], spec["trials"]
    d = Path(spec["dir"])
    rss = _rss_reader()
    t_load = time.perf_counter()
    study = hs.load_study(STUDY, spec["url"], sampler=hs.samplers.RandomSampler(seed=spec["seed"]))
    load_s = time.perf_counter() - t_load
    rss_loaded = rss()
    (d / f"ready_{wid}").touch()
    while not (d / "go").exists():
        time.sleep(0.01)

    names = [f"x{i}" for i in range(N_PARAMS)]

    def objective(trial) -> float:
        params = {n: trial.suggest_float(n, -1.0, 1.0) for n in names}
        return token_value(trial.number, params)

    log = open(d / f"log_{wid}.txt", "w", buffering=1 << 16)
    pauses = list(spec["pauses"])
    stop_file = d / "stop"
    samples: list[dict[str, Any]] = []
    checkpoints: dict[str, float] = {}
    st: dict[str, Any] = {
        "last": time.perf_counter(), "bucket": None, "acc": 0.0, "cnt": 0, "own": 0,
        "busy": 0.0, "max_cycle": 0.0,
    }

    def close_bucket() -> None:
        if st["cnt"]:
            samples.append({
                "study_trials": (st["bucket"] + 1) * WINDOW,
                "own_trials": st["own"],
                "rss_mb": round(rss(), 2),
                "ms_per_trial": round(st["acc"] / st["cnt"] * 1e3, 3),
                "n": st["cnt"],
            })
        st["acc"], st["cnt"] = 0.0, 0

    def callback(s, frozen) -> None:
        now = time.perf_counter()
        cycle = now - st["last"]
        st["busy"] += cycle
        st["max_cycle"] = max(st["max_cycle"], cycle)
        st["own"] += 1
        if frozen.state == TrialState.COMPLETE:
            log.write(f"{frozen.number} {frozen.values[0]!r} {time.time():.4f}\n")
        else:
            log.write(f"# {frozen.number} {frozen.state.name} {time.time():.4f}\n")
        b = frozen.number // WINDOW
        if st["bucket"] is None:
            st["bucket"] = b
        elif b > st["bucket"]:
            close_bucket()
            st["bucket"] = b
        st["acc"] += cycle
        st["cnt"] += 1
        known = len(s.history.trials)  # largest trial number this worker has seen + 1
        while pauses and known >= pauses[0]:
            k = pauses.pop(0)
            checkpoints[str(k)] = round(rss(), 2)
            log.flush()
            (d / f"paused_{k}_{wid}").touch()
            while not (d / f"resume_{k}").exists():
                time.sleep(0.02)
        if known >= target or (st["own"] % 50 == 0 and stop_file.exists()):
            s.stop()
        st["last"] = time.perf_counter()  # a pause is not part of the next cycle

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=None, callbacks=[callback], show_progress_bar=False)
    wall = time.perf_counter() - t0
    close_bucket()
    log.close()
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except ImportError:  # pragma: no cover - not on Windows
        peak = None
    out = {
        "wid": wid, "pid": os.getpid(), "load_study_s": load_s, "rss_loaded_mb": rss_loaded,
        "rss_end_mb": rss(), "rss_peak_mb": peak, "own_trials": st["own"], "wall_s": wall,
        "busy_s": st["busy"], "max_cycle_ms": st["max_cycle"] * 1e3,
        "checkpoint_rss_mb": checkpoints, "samples": samples,
    }
    (d / f"worker_{wid}.json").write_text(json.dumps(out))


# ---------------------------------------------------------------------------------------
# Probes: the read paths timed in a fresh process.
# ---------------------------------------------------------------------------------------


def _import_db_modules(url: str) -> None:
    """SQLAlchemy and the driver, imported by both libraries on first use: counted as
    import time, so that ``load_study`` times the libraries' own work."""
    import sqlalchemy  # noqa: F401

    if url.startswith("postgresql"):
        import psycopg  # noqa: F401


def _timed(fn):
    t = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t


def probe_hypersearch(spec: dict[str, Any]) -> dict[str, Any]:
    url, what = spec["url"], spec["what"]
    rss = _rss_reader()
    t = time.perf_counter()
    import logging

    import hypersearch as hs

    _import_db_modules(url)
    logging.getLogger("hypersearch").setLevel(logging.WARNING)
    out: dict[str, Any] = {"import_s": time.perf_counter() - t}
    rss0 = rss()
    if what == "best":  # as a user or the CLI opens a study: default sampler (AutoSampler)
        study, out["load_study_s"] = _timed(lambda: hs.load_study(STUDY, url))
    else:  # the storage read and the history alone
        study, out["load_study_s"] = _timed(
            lambda: hs.load_study(STUDY, url, sampler=hs.samplers.RandomSampler(seed=0)))
    out["rss_after_load_mb"] = rss()
    out["rss_load_delta_mb"] = out["rss_after_load_mb"] - rss0
    if what == "best":
        best, out["best_trial_s"] = _timed(lambda: study.best_trial)
        out["best"] = [best.number, best.value]
        return out
    trials, out["get_trials_s"] = _timed(lambda: study.get_trials(deepcopy=False))
    out["n_trials"] = len(trials)
    copies, out["trials_copy_s"] = _timed(lambda: study.trials)
    assert len(copies) == len(trials)
    del copies
    storage, sid = study._storage, study._study_id
    _, out["count_trials_s"] = _timed(lambda: storage.count_trials(sid))
    # the read each worker does when it asks for a trial: trials after its watermark,
    # plus (with other workers busy) the few trials it knows to be running
    n = len(trials)
    after = max(-1, n - 9)
    plain, with_nums = [], []
    for _ in range(15):
        plain.append(_timed(lambda: storage.get_trials(sid, after_number=after))[1])
        with_nums.append(_timed(
            lambda: storage.get_trials(sid, after_number=after, numbers=[max(0, n - 20), max(0, n - 15)])
        )[1])
    out["incremental_read_s"] = statistics.median(plain)
    out["incremental_read_unfinished_s"] = statistics.median(with_nums)
    # the CLI's work without the interpreter start: `hypersearch trials --limit 20`
    import io
    from contextlib import redirect_stdout

    from hypersearch.cli._commands import cmd_trials

    ns = argparse.Namespace(storage=url, study=STUDY, state=None, limit=CLI_LIMIT, format="table")
    with redirect_stdout(io.StringIO()):
        _, out["cli_trials_inprocess_s"] = _timed(lambda: cmd_trials(ns))
    out["rss_end_mb"] = rss()
    return out


def _optuna_storage(url: str):
    import optuna

    return optuna.storages.RDBStorage(url)


def probe_optuna(spec: dict[str, Any]) -> dict[str, Any]:
    url, what = spec["url"], spec["what"]
    rss = _rss_reader()
    t = time.perf_counter()
    import optuna

    _import_db_modules(url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out: dict[str, Any] = {"import_s": time.perf_counter() - t}
    rss0 = rss()
    study, out["load_study_s"] = _timed(
        lambda: optuna.load_study(study_name=OPTUNA_STUDY, storage=_optuna_storage(url))
    )
    out["rss_after_load_mb"] = rss()
    out["rss_load_delta_mb"] = out["rss_after_load_mb"] - rss0
    if what == "best":
        best, out["best_trial_s"] = _timed(lambda: study.best_trial)
        out["best"] = [best.number, best.value]
        return out
    trials, out["get_trials_s"] = _timed(lambda: study.get_trials(deepcopy=False))
    out["n_trials"] = len(trials)
    copies, out["trials_copy_s"] = _timed(lambda: study.trials)
    assert len(copies) == len(trials)
    out["rss_end_mb"] = rss()
    return out


# ---------------------------------------------------------------------------------------
# Filling Optuna's study to a given size.
# ---------------------------------------------------------------------------------------


def fill_optuna(spec: dict[str, Any]) -> dict[str, Any]:
    """Grow Optuna's study to ``spec['n']`` trials: the first OPTUNA_API_TRIALS (or
    all with ``mode='api'``) through ``study.add_trials``, the rest cloned in SQL."""
    import random

    import optuna
    import sqlalchemy as sa
    from optuna.distributions import FloatDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, n, mode = spec["url"], spec["n"], spec["mode"]
    storage = _optuna_storage(url)
    study = optuna.create_study(study_name=OPTUNA_STUDY, storage=storage, load_if_exists=True)
    engine = storage.engine
    sid = study._study_id
    pg = engine.dialect.name == "postgresql"

    def count() -> int:
        with engine.connect() as c:
            return int(c.execute(sa.text("SELECT count(*) FROM trials WHERE study_id = :s"),
                                 {"s": sid}).scalar_one())

    out: dict[str, Any] = {"api_trials": 0, "api_s": 0.0, "cloned_trials": 0, "clone_s": 0.0}
    cur = count()
    api_upto = n if mode == "api" else min(n, OPTUNA_API_TRIALS)
    rng = random.Random(cur)
    dists = {f"x{i}": FloatDistribution(-1.0, 1.0) for i in range(N_PARAMS)}
    t = time.perf_counter()
    while cur < api_upto:
        batch = []
        for i in range(min(100, api_upto - cur)):
            params = {k: rng.uniform(-1.0, 1.0) for k in dists}
            batch.append(optuna.trial.create_trial(
                params=params, distributions=dists, value=token_value(cur + i, params)))
        study.add_trials(batch)
        out["api_trials"] += len(batch)
        cur = count()
    out["api_s"] = time.perf_counter() - t
    if cur < n:
        t = time.perf_counter()
        with engine.begin() as c:
            # the clones' ids and numbers are derived from their sources', which needs
            # trial_id == number + 1 (a fresh database holding this study only)
            bad = c.execute(sa.text(
                "SELECT count(*) FROM trials WHERE study_id = :s AND trial_id <> number + 1"
            ), {"s": sid}).scalar_one()
            others = c.execute(sa.text("SELECT count(*) FROM trials WHERE study_id <> :s"),
                               {"s": sid}).scalar_one()
            if bad or others:
                raise RuntimeError("cannot clone: trial ids are not number + 1")
            while cur < n:
                k = min(cur, n - cur)  # copy trials 0..k-1 as numbers cur..cur+k-1
                p = {"s": sid, "off": cur, "k": k}
                c.execute(sa.text(
                    "INSERT INTO trials (trial_id, number, study_id, state, datetime_start,"
                    " datetime_complete) SELECT trial_id + :off, number + :off, study_id, state,"
                    " datetime_start, datetime_complete FROM trials"
                    " WHERE study_id = :s AND number < :k"), p)
                c.execute(sa.text(
                    "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json)"
                    " SELECT trial_id + :off, param_name, param_value, distribution_json"
                    " FROM trial_params WHERE trial_id <= :k"), p)
                c.execute(sa.text(
                    "INSERT INTO trial_values (trial_id, objective, value, value_type)"
                    " SELECT trial_id + :off, objective, value, value_type"
                    " FROM trial_values WHERE trial_id <= :k"), p)
                cur += k
                out["cloned_trials"] += k
            if pg:
                c.execute(sa.text(
                    "SELECT setval(pg_get_serial_sequence('trials', 'trial_id'),"
                    " (SELECT max(trial_id) FROM trials))"))
        if pg:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(sa.text("ANALYZE"))
        out["clone_s"] = time.perf_counter() - t
    with engine.connect() as c:
        r = c.execute(sa.text(
            "SELECT count(*), count(DISTINCT number), min(number), max(number) FROM trials"
            " WHERE study_id = :s"), {"s": sid}).one()
    if not (r[0] == r[1] == n and r[2] == 0 and r[3] == n - 1):
        raise RuntimeError(f"Optuna study has {tuple(r)} (count, distinct, min, max), wanted {n}")
    out["n"] = n
    return out


# ---------------------------------------------------------------------------------------
# Parent: databases, workers, pauses, measurements, verification, report.
# ---------------------------------------------------------------------------------------


#: failures of measuring processes that were retried (e.g. the shared PostgreSQL
#: server was restarted by someone else's test while a probe ran)
RETRIED: list[str] = []


def _run_retrying(cmd: list[str], what: str, timeout: float) -> tuple[str, float]:
    for attempt in range(4):
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        wall = time.perf_counter() - t
        if proc.returncode == 0:
            return proc.stdout, wall
        if attempt == 3:
            raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        last = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
        RETRIED.append(f"{time.strftime('%H:%M:%S')} {what}: {last}")
        time.sleep(5)
    raise AssertionError("unreachable")


def _child(kind: str, spec: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), kind, json.dumps(spec)]
    stdout, _ = _run_retrying(cmd, f"{kind} {spec.get('what', '')}", timeout)
    return json.loads(stdout.strip().splitlines()[-1])


def _cli_wall(url: str, argv: list[str]) -> float:
    cmd = [sys.executable, "-m", "hypersearch", "--storage", url, *argv]
    return _run_retrying(cmd, f"hypersearch {' '.join(argv)}", 1800)[1]


def _db_retry(fn, tries: int = 30):
    """Run a parent-side query again while the database is unreachable (restarted)."""
    import sqlalchemy as sa

    for attempt in range(tries):
        try:
            return fn()
        except sa.exc.DBAPIError as e:
            if attempt == tries - 1:
                raise
            RETRIED.append(f"{time.strftime('%H:%M:%S')} parent query: {str(e.orig)[:120]}")
            time.sleep(2)
    raise AssertionError("unreachable")


def _median_dicts(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in runs[0]:
        vals = [r[k] for r in runs if k in r]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            out[k] = statistics.median(vals)
        else:
            out[k] = vals[0]
    return out


def _sql_engine(url: str):
    import sqlalchemy as sa

    from hypersearch.storage.sql import normalize_url

    return sa.create_engine(normalize_url(url), pool_pre_ping=True)


def _hs_count(engine) -> int:
    import sqlalchemy as sa

    def q() -> int:
        with engine.connect() as c:
            return int(c.execute(sa.text(
                "SELECT count(*) FROM hs_trials t JOIN hs_studies s ON s.id = t.study_id"
                " WHERE s.name = :n"), {"n": STUDY}).scalar_one())

    return _db_retry(q)


def measure(backend: str, hs_url: str, op_url: str | None, n: int, args, log) -> dict[str, Any]:
    """The read paths of both libraries on studies of ``n`` trials (workers paused)."""
    res: dict[str, Any] = {"n": n}
    if backend == "postgres":  # statistics as autovacuum would have them; same for both
        import sqlalchemy as sa

        for u in filter(None, (hs_url, op_url)):
            eng = _sql_engine(u)

            def analyze(eng=eng) -> None:
                with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(sa.text("ANALYZE"))

            _db_retry(analyze)
            eng.dispose()
    if op_url is not None:
        fill = _child("--_optuna_fill", {"url": op_url, "n": n, "mode": args.optuna_fill})
        res["optuna_fill"] = fill
        log(f"    optuna study filled to {n}: {fill['api_trials']} via add_trials "
            f"({fill['api_s']:.1f} s), {fill['cloned_trials']} cloned ({fill['clone_s']:.1f} s)")
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in (
        "hs_best", "hs_list", "op_best", "op_list", "cli")}
    repeats = args.repeats if n < LARGE else min(args.repeats, args.large_repeats)
    res["repeats"] = repeats
    for r in range(repeats):
        order = ["hs", "op"] if r % 2 == 0 else ["op", "hs"]
        for fw in order:
            if fw == "hs":
                runs["hs_best"].append(_child("--_probe_hs", {"url": hs_url, "what": "best"}))
                runs["hs_list"].append(_child("--_probe_hs", {"url": hs_url, "what": "list"}))
            elif op_url is not None:
                runs["op_best"].append(_child("--_probe_optuna", {"url": op_url, "what": "best"}))
                runs["op_list"].append(_child("--_probe_optuna", {"url": op_url, "what": "list"}))
        runs["cli"].append({
            "trials_limit": _cli_wall(hs_url, ["trials", "--study", STUDY, "--limit", str(CLI_LIMIT)]),
            "best_trial": _cli_wall(hs_url, ["best-trial", "--study", STUDY]),
            "studies": _cli_wall(hs_url, ["studies"]),
        })
    for k, v in runs.items():
        if v:
            res[k] = _median_dicts(v)
    res["raw"] = runs
    h, o = res["hs_best"], res.get("op_best")
    hl, ol = res["hs_list"], res.get("op_list")
    if o and h["best"][1] is not None and ol:
        res["same_answers"] = hl["n_trials"] == ol["n_trials"] == n
    log(f"    hypersearch: load {h['load_study_s']:.3f}s best {h['best_trial_s'] * 1e3:.2f}ms "
        f"list {hl['get_trials_s']:.3f}s copies {hl['trials_copy_s']:.3f}s "
        f"CLI trials -n {CLI_LIMIT} {res['cli']['trials_limit']:.2f}s "
        f"read+unfinished {hl['incremental_read_unfinished_s'] * 1e3:.2f}ms "
        f"(plain {hl['incremental_read_s'] * 1e3:.2f}ms) count {hl['count_trials_s'] * 1e3:.1f}ms")
    if o:
        log(f"    optuna:      load {o['load_study_s']:.3f}s best {o['best_trial_s'] * 1e3:.2f}ms "
            f"list {ol['get_trials_s']:.3f}s copies {ol['trials_copy_s']:.3f}s")
    return res


def verify(backend: str, url: str, run_dir: Path, workers: int, target: int) -> dict[str, Any]:
    """Checks on the stored rows (not through the library's number-indexed view)."""
    import sqlalchemy as sa

    eng = _sql_engine(url)

    def read():
        with eng.connect() as c:
            sid = c.execute(sa.text("SELECT id FROM hs_studies WHERE name = :n"),
                            {"n": STUDY}).scalar_one()
            return c.execute(sa.text(
                "SELECT number, state, values_json, params_json FROM hs_trials"
                " WHERE study_id = :s ORDER BY number"), {"s": sid}).all()

    rows = _db_retry(read)
    eng.dispose()
    from hypersearch.trial._state import TrialState

    numbers = [r[0] for r in rows]
    states: dict[str, int] = {}
    db_values: dict[int, float] = {}
    bad_token = []
    for number, state, values_json, params_json in rows:
        name = TrialState(state).name
        states[name] = states.get(name, 0) + 1
        if name == "COMPLETE":
            v = json.loads(values_json)[0]
            db_values[number] = v
            if v != token_value(number, json.loads(params_json)):
                bad_token.append(number)
    logged: dict[int, list[float]] = {}
    other_logged = 0
    for f in sorted(run_dir.glob("log_*.txt")):
        for line in f.read_text().splitlines():
            if line.startswith("#"):
                other_logged += 1
                continue
            num, val, _ = line.split()
            logged.setdefault(int(num), []).append(float(val))
    dup_logged = sorted(k for k, v in logged.items() if len(v) > 1)
    missing_in_db = sorted(k for k in logged if k not in db_values)
    not_logged = sorted(k for k in db_values if k not in logged)
    mismatch = sorted(k for k, v in logged.items() if k in db_values and v[0] != db_values[k])
    n = len(rows)
    n_complete = states.get("COMPLETE", 0)
    best = min(db_values.items(), key=lambda kv: kv[1]) if db_values else None
    out = {
        "best_in_db": list(best) if best else None,
        "rows": n,
        "distinct_numbers": len(set(numbers)),
        "dense": numbers == list(range(n)),
        "states": states,
        "complete": n_complete,
        "target": target,
        "overshoot": n_complete - target,
        "overshoot_allowed": workers - 1,
        "running_left": states.get("RUNNING", 0) + states.get("WAITING", 0),
        "values_not_matching_params": len(bad_token),
        "logged_pairs": sum(len(v) for v in logged.values()),
        "logged_non_complete": other_logged,
        "logged_twice": len(dup_logged),
        "logged_missing_in_db": len(missing_in_db),
        "stored_not_logged": len(not_logged),
        "logged_value_mismatch": len(mismatch),
        "examples": {"bad_token": bad_token[:5], "logged_twice": dup_logged[:5],
                     "missing": missing_in_db[:5], "not_logged": not_logged[:5],
                     "mismatch": mismatch[:5]},
    }
    out["ok"] = (
        out["dense"] and out["distinct_numbers"] == n and out["running_left"] == 0
        and n_complete == n and 0 <= out["overshoot"] <= workers - 1
        and not bad_token and not dup_logged and not missing_in_db and not not_logged
        and not mismatch and out["logged_pairs"] == n_complete
    )
    return out


def _throughput_windows(run_dir: Path, pauses: list[tuple[float, float]]) -> list[dict[str, Any]]:
    """Study-wide trials/s per WINDOW completed trials (pause time taken out)."""
    times = []
    for f in run_dir.glob("log_*.txt"):
        for line in f.read_text().splitlines():
            times.append(float(line.split()[-1]))
    times.sort()
    out = []
    for i in range(0, len(times) - WINDOW + 1, WINDOW):
        a, b = times[i], times[i + WINDOW - 1]
        paused = sum(max(0.0, min(b, e) - max(a, s)) for s, e in pauses)
        wall = max(1e-9, b - a - paused)
        out.append({"study_trials": i + WINDOW, "trials_per_s": (WINDOW - 1) / wall,
                    "ms_per_trial": wall / (WINDOW - 1) * 1e3})
    return out


def run_backend(backend: str, target: int, args, pg: Postgres | None, tmp: Path, log) -> dict[str, Any]:
    import hypersearch as hs

    res: dict[str, Any] = {"backend": backend, "target": target, "workers": args.workers}
    created: list[str] = []
    if backend == "sqlite":
        hs_url = f"sqlite:///{tmp / 'soak_hs.db'}"
        op_url = f"sqlite:///{tmp / 'soak_optuna.db'}"
    else:
        assert pg is not None
        tag = f"hs_soak_{os.getpid()}"
        hs_url, op_url = pg.create(f"{tag}_hs"), pg.create(f"{tag}_optuna")
        created += [f"{tag}_hs", f"{tag}_optuna"]
    if args.no_optuna:
        op_url = None
    run_dir = tmp / f"run_{backend}"
    run_dir.mkdir()
    checkpoints = sorted({c for c in args.checkpoints if c < target} | {target})
    pauses_at = [c for c in checkpoints if c < target]
    res["checkpoints"] = checkpoints
    procs: list[subprocess.Popen] = []
    pause_spans: list[tuple[float, float]] = []
    try:
        hs.create_study(STUDY, hs_url, direction="minimize")
        for wid in range(args.workers):
            spec = {"wid": wid, "url": hs_url, "trials": target, "seed": wid,
                    "dir": str(run_dir), "pauses": pauses_at}
            err = open(run_dir / f"stderr_{wid}.txt", "w")
            procs.append(subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--_worker", json.dumps(spec)],
                stdout=subprocess.DEVNULL, stderr=err))
        while not all((run_dir / f"ready_{w}").exists() for w in range(args.workers)):
            _check_procs(procs, run_dir)
            time.sleep(0.1)
        (run_dir / "go").touch()
        t_go = time.time()
        log(f"  {backend}: {args.workers} workers started, target {target} trials")
        eng = _sql_engine(hs_url)
        last_print = time.time()
        deadline = t_go + args.max_minutes * 60
        stopped_early = False
        measurements: dict[str, Any] = {}

        def wait_for(cond) -> None:
            nonlocal last_print, stopped_early
            while not cond():
                _check_procs(procs, run_dir)
                now = time.time()
                if now - last_print >= args.progress_every:
                    last_print = now
                    n = _hs_count(eng)
                    active = now - t_go - sum(e - s for s, e in pause_spans)
                    log(f"    {backend}: {n} trials after {active:.0f} s of running "
                        f"({n / max(active, 1e-9):.1f}/s overall)")
                if now > deadline and not stopped_early:
                    stopped_early = True
                    log(f"    {backend}: --max-minutes {args.max_minutes} reached; stopping workers")
                    (run_dir / "stop").touch()
                    for k in pauses_at:
                        (run_dir / f"resume_{k}").touch()
                time.sleep(0.2)

        for k in pauses_at:
            wait_for(lambda k=k: all(
                (run_dir / f"paused_{k}_{w}").exists() or procs[w].poll() is not None
                for w in range(args.workers)))
            if stopped_early:
                break
            t_p = time.time()
            n = _hs_count(eng)
            log(f"  {backend}: workers paused at {n} trials; measuring")
            measurements[str(k)] = measure(backend, hs_url, op_url, n, args, log)
            (run_dir / f"resume_{k}").touch()
            pause_spans.append((t_p, time.time()))
        wait_for(lambda: all(p.poll() is not None for p in procs))
        _check_procs(procs, run_dir)
        t_end = time.time()
        eng.dispose()
        res["run_wall_s"] = t_end - t_go
        res["paused_s"] = sum(e - s for s, e in pause_spans)
        res["stopped_early"] = stopped_early
        retries = [line for w in range(args.workers)
                   for line in (run_dir / f"stderr_{w}.txt").read_text().splitlines()
                   if "retrying" in line]
        res["worker_storage_retries"] = len(retries)
        res["worker_storage_retry_examples"] = retries[:5]
        v = verify(backend, hs_url, run_dir, args.workers, target)
        if stopped_early:  # the target was not reached: the overshoot check does not apply
            v["ok"] = v["ok"] or (v["overshoot"] < 0 and v["dense"] and v["running_left"] == 0
                                  and not v["logged_twice"] and not v["logged_missing_in_db"]
                                  and not v["stored_not_logged"] and not v["logged_value_mismatch"]
                                  and not v["values_not_matching_params"])
        res["verify"] = v
        log(f"  {backend}: verification {'OK' if v['ok'] else 'FAILED'}: {v['rows']} trials "
            f"({v['states']}), overshoot {v['overshoot']}, dense {v['dense']}, "
            f"logged twice {v['logged_twice']}, missing {v['logged_missing_in_db']}, "
            f"unlogged {v['stored_not_logged']}, mismatched {v['logged_value_mismatch']}, "
            f"bad values {v['values_not_matching_params']}")
        log(f"  {backend}: workers ran {res['run_wall_s'] - res['paused_s']:.0f} s "
            f"({v['rows'] / max(res['run_wall_s'] - res['paused_s'], 1e-9):.1f} trials/s)")
        final_key = str(target) if not stopped_early else f"{v['rows']} (stopped early)"
        log(f"  {backend}: final measurement at {v['rows']} trials")
        measurements[final_key] = final = measure(backend, hs_url, op_url, v["rows"], args, log)
        # what the library answers, from a fresh process, against the rows themselves
        v["best_trial_matches_db"] = final["hs_best"]["best"] == v["best_in_db"]
        v["listing_matches_db"] = final["hs_list"]["n_trials"] == v["rows"]
        v["ok"] = v["ok"] and v["best_trial_matches_db"] and v["listing_matches_db"]
        res["measurements"] = measurements
        res["workers_detail"] = [
            json.loads((run_dir / f"worker_{w}.json").read_text()) for w in range(args.workers)
        ]
        res["throughput_windows"] = _throughput_windows(run_dir, pause_spans)
        res["pause_spans"] = [(s - t_go, e - t_go) for s, e in pause_spans]
        if backend == "sqlite":
            res["db_size_mb"] = {
                "hypersearch": os.path.getsize(tmp / "soak_hs.db") / 2**20,
                "optuna": os.path.getsize(tmp / "soak_optuna.db") / 2**20 if op_url else None,
            }
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            with contextlib.suppress(Exception):
                p.wait(timeout=10)
        if pg is not None:
            for name in created:
                with contextlib.suppress(Exception):
                    pg.drop(name)
    return res


def _check_procs(procs: list[subprocess.Popen], run_dir: Path) -> None:
    for w, p in enumerate(procs):
        rc = p.poll()
        if rc not in (None, 0):
            err = (run_dir / f"stderr_{w}.txt").read_text()[-3000:]
            raise RuntimeError(f"worker {w} exited with {rc}:\n{err}")


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


EDGE = 5  # windows whose median is the "first" / "last" per-trial time


def _edge_k(n: int) -> int:
    return max(1, min(EDGE, n // 3))


def _edge(b: dict[int, dict[str, Any]], sizes: list[int], first: bool) -> float | None:
    """Median ms/trial of the first (or last) EDGE timing windows: one window is noisy
    on a shared machine (the SQLite lock, other jobs, a restarted server)."""
    if not sizes:
        return None
    k = _edge_k(len(sizes))
    sel = sizes[:k] if first else sizes[-k:]
    return statistics.median(b[s]["ms_per_trial"] for s in sel)


def _curve(res: dict[str, Any]) -> dict[str, Any]:
    """Per-worker RSS and ms/trial by study size; flatness verdicts."""
    workers = res["workers_detail"]
    by_w = [{s["study_trials"]: s for s in w["samples"]} for w in workers]
    sizes = sorted(set().union(*[set(b) for b in by_w]))
    full = [s for s in sizes if all(s in b and b[s]["n"] >= 2 for b in by_w)]
    n = res["verify"]["rows"]
    ref = 10_000 if n >= 20_000 else max(WINDOW, (n // 5) // WINDOW * WINDOW)
    warm = min(2 * WINDOW, max(WINDOW, n // 5))
    out: dict[str, Any] = {"sizes": full, "ref_trials": ref, "warmup_trials": warm, "per_worker": []}
    timing_sizes = [s for s in full if s > warm]
    for w, b in zip(workers, by_w):
        rss_ref = next((b[s]["rss_mb"] for s in full if s >= ref), None)
        rss_end = b[full[-1]]["rss_mb"] if full else None
        first = _edge(b, timing_sizes, first=True)
        last = _edge(b, timing_sizes, first=False)
        growth = (rss_end - rss_ref) if rss_ref is not None and rss_end is not None else None
        span = (full[-1] - next(s for s in full if s >= ref)) if rss_ref is not None else 0
        out["per_worker"].append({
            "wid": w["wid"], "rss_loaded_mb": w["rss_loaded_mb"], "rss_ref_mb": rss_ref,
            "rss_end_mb": rss_end, "rss_growth_mb": growth,
            "kb_per_study_trial": growth * 1024 / span if growth is not None and span else None,
            "rss_min_mb": min(b[s]["rss_mb"] for s in full) if full else None,
            "rss_max_mb": max(b[s]["rss_mb"] for s in full) if full else None,
            "ms_first": first, "ms_last": last,
            "ms_ratio_last_first": (last / first) if first and last else None,
            "ms_min": min(b[s]["ms_per_trial"] for s in timing_sizes) if timing_sizes else None,
            "ms_max": max(b[s]["ms_per_trial"] for s in timing_sizes) if timing_sizes else None,
            "max_cycle_ms": w["max_cycle_ms"], "own_trials": w["own_trials"],
        })
    pw = out["per_worker"]
    growths = [p["rss_growth_mb"] for p in pw if p["rss_growth_mb"] is not None]
    refs = [p["rss_ref_mb"] for p in pw if p["rss_ref_mb"] is not None]
    ratios = [p["ms_ratio_last_first"] for p in pw if p["ms_ratio_last_first"] is not None]
    out["rss_growth_median_mb"] = statistics.median(growths) if growths else None
    out["rss_flat"] = bool(growths) and statistics.median(growths) <= 0.10 * statistics.median(refs)
    out["ms_ratio_median"] = statistics.median(ratios) if ratios else None
    out["ms_flat"] = bool(ratios) and statistics.median(ratios) <= 1.25
    tw = [t for t in res["throughput_windows"] if t["study_trials"] > warm]
    if tw:
        k = _edge_k(len(tw))
        out["study_ms_first"] = statistics.median(t["ms_per_trial"] for t in tw[:k])
        out["study_ms_last"] = statistics.median(t["ms_per_trial"] for t in tw[-k:])
        out["study_per_s_first"] = statistics.median(t["trials_per_s"] for t in tw[:k])
        out["study_per_s_last"] = statistics.median(t["trials_per_s"] for t in tw[-k:])
        out["study_ms_ratio"] = out["study_ms_last"] / out["study_ms_first"]
    return out


def _fmt_s(v: float | None) -> str:
    if v is None:
        return "-"
    if v < 1e-3:
        return f"{v * 1e6:.0f}us"
    if v < 1:
        return f"{v * 1e3:.1f}ms"
    return f"{v:.2f}s"


def report(out: dict[str, Any]) -> str:
    lines: list[str] = []
    p = lines.append
    cfg = out["config"]
    p(f"Soak test: {cfg['workers']} independent workers, RandomSampler, 3 floats, trivial objective")
    p(f"created {out['created']}  python {out['environment']['python']}  "
      f"cpus {out['environment']['cpu_count']}  loadavg start {out['environment']['loadavg_start']}"
      f" end {out['environment']['loadavg_end']}")
    for note in out.get("notes", []):
        p(f"NOTE: {note}")
    for backend, res in out["backends"].items():
        if "error" in res:
            p("")
            p(f"== {backend}: FAILED: {res['error'][:500]}")
            continue
        v = res["verify"]
        p("")
        p(f"== {backend}: target {res['target']} trials, {res['workers']} workers ==")
        active = res["run_wall_s"] - res["paused_s"]
        p(f"run: {v['rows']} trials in {active:.0f} s of running ({v['rows'] / active:.1f} trials/s;"
          f" {res['paused_s']:.0f} s paused for measurements not counted)"
          + ("  STOPPED EARLY (--max-minutes)" if res["stopped_early"] else ""))
        if res.get("worker_storage_retries"):
            p(f"workers' storage operations retried after a dropped connection: "
              f"{res['worker_storage_retries']} (e.g. {res['worker_storage_retry_examples'][0][:160]})")
        p(f"verification: {'OK' if v['ok'] else 'FAILED'}  rows {v['rows']}  distinct numbers "
          f"{v['distinct_numbers']}  dense 0..n-1 {v['dense']}  states {v['states']}  "
          f"RUNNING/WAITING left {v['running_left']}")
        p(f"  fresh-process best_trial {res['measurements'][list(res['measurements'])[-1]]['hs_best']['best']}"
          f" == best row in db {v['best_in_db']}: {v.get('best_trial_matches_db')};"
          f" get_trials length == rows: {v.get('listing_matches_db')}")
        p(f"  overshoot {v['overshoot']} (allowed 0..{v['overshoot_allowed']}: each worker checks "
          f"its view of the study size, as of its last ask, before starting a trial)")
        p(f"  logged (number, value) pairs {v['logged_pairs']}: logged twice {v['logged_twice']}, "
          f"not in db {v['logged_missing_in_db']}, stored but not logged {v['stored_not_logged']}, "
          f"value differs {v['logged_value_mismatch']}; stored values not matching their "
          f"params {v['values_not_matching_params']}")
        c = _curve(res)
        res["curve"] = c
        ws = res["workers_detail"]
        bw = [{s["study_trials"]: s for s in w["samples"]} for w in ws]
        tw = {t["study_trials"]: t for t in res["throughput_windows"]}
        sizes = c["sizes"]
        step = max(1, len(sizes) // 20)
        shown = sorted(set(sizes[::step]) | ({sizes[-1]} if sizes else set()))
        p("")
        p("worker RSS (MB) by study size (each worker samples when the study passes a multiple of 1000)")
        p(f"{'trials':>8} " + " ".join(f"{'w' + str(i):>7}" for i in range(len(ws)))
          + f" {'min':>7} {'max':>7}")
        for s in shown:
            row = [bw[i][s]["rss_mb"] for i in range(len(ws))]
            p(f"{s:>8} " + " ".join(f"{x:7.1f}" for x in row) + f" {min(row):7.1f} {max(row):7.1f}")
        p("")
        p("ms per trial of each worker (mean cycle ask+objective+tell over its trials in the window"
          " of 1000 study trials ending there), and the whole study's trials/s")
        p(f"{'trials':>8} " + " ".join(f"{'w' + str(i):>6}" for i in range(len(ws)))
          + f" {'median':>7} {'min':>6} {'max':>6} {'study/s':>8}")
        for s in shown:
            row = [bw[i][s]["ms_per_trial"] for i in range(len(ws))]
            t = tw.get(s)
            p(f"{s:>8} " + " ".join(f"{x:6.2f}" for x in row)
              + f" {statistics.median(row):7.2f} {min(row):6.2f} {max(row):6.2f}"
              + (f" {t['trials_per_s']:8.1f}" if t else f" {'-':>8}"))
        p("")
        p(f"flatness (RSS growth from {c['ref_trials']} trials to the end; 'ms first'/'ms last' ="
          f" median of the first/last {EDGE} timing windows after {c['warmup_trials']} trials):")
        p(f"{'worker':>6} {'RSS@load':>9} {'RSS@ref':>8} {'RSS@end':>8} {'growth':>7} "
          f"{'KB/trial':>8} {'ms first':>8} {'ms last':>8} {'last/1st':>8} {'ms min':>7} "
          f"{'ms max':>7} {'max cycle':>9}")
        for w in c["per_worker"]:
            def f(x, spec=".1f"):
                return "-" if x is None else format(x, spec)
            p(f"{w['wid']:>6} {f(w['rss_loaded_mb']):>9} {f(w['rss_ref_mb']):>8} "
              f"{f(w['rss_end_mb']):>8} {f(w['rss_growth_mb']):>7} {f(w['kb_per_study_trial'], '.2f'):>8} "
              f"{f(w['ms_first'], '.2f'):>8} {f(w['ms_last'], '.2f'):>8} "
              f"{f(w['ms_ratio_last_first'], '.2f'):>8} {f(w['ms_min'], '.2f'):>7} "
              f"{f(w['ms_max'], '.2f'):>7} {f(w['max_cycle_ms'], '.0f'):>9}")
        p(f"memory flat (median growth {c['rss_growth_median_mb']:.1f} MB from {c['ref_trials']} "
          f"trials to the end, <= 10% of RSS at the reference): {'YES' if c['rss_flat'] else 'NO'}")
        p(f"per-trial time flat (median over workers of last/first {c['ms_ratio_median']:.2f}"
          f" <= 1.25): {'YES' if c['ms_flat'] else 'NO'}"
          + (f"; whole study {c['study_per_s_first']:.0f} -> {c['study_per_s_last']:.0f} trials/s"
             f" ({c['study_ms_first']:.2f} -> {c['study_ms_last']:.2f} ms/trial,"
             f" x{c['study_ms_ratio']:.2f})" if "study_ms_first" in c else ""))
        p("")
        p(f"read paths from a fresh process (median of {cfg['repeats']} runs, "
          f"{cfg.get('large_repeats', cfg['repeats'])} from {LARGE} trials; workers paused, no trial running)")
        head = (f"{'trials':>7} {'operation':<34} {'hypersearch':>11} {'optuna RDB':>11} "
                f"{'optuna/hs':>9}")
        p(head)
        p("-" * len(head))
        for m in res["measurements"].values():
            n = m["n"]
            h, hl = m["hs_best"], m["hs_list"]
            o, ol = m.get("op_best"), m.get("op_list")
            rows = [
                ("load_study (default sampler)", h["load_study_s"], o and o["load_study_s"]),
                ("best_trial (after load)", h["best_trial_s"], o and o["best_trial_s"]),
                ("load_study + best_trial", h["load_study_s"] + h["best_trial_s"],
                 o and o["load_study_s"] + o["best_trial_s"]),
                ("load_study (RandomSampler)", hl["load_study_s"], ol and ol["load_study_s"]),
                ("get_trials(deepcopy=False)", hl["get_trials_s"], ol and ol["get_trials_s"]),
                ("study.trials (copies)", hl["trials_copy_s"], ol and ol["trials_copy_s"]),
                ("load_study + get_trials", hl["load_study_s"] + hl["get_trials_s"],
                 ol and ol["load_study_s"] + ol["get_trials_s"]),
                ("import (library, SQLAlchemy, driver)", h["import_s"], o and o["import_s"]),
                (f"CLI trials --limit {CLI_LIMIT} (whole cmd)", m["cli"]["trials_limit"], None),
                ("  same, in-process (cmd_trials)", hl["cli_trials_inprocess_s"], None),
                ("CLI best-trial (whole command)", m["cli"]["best_trial"], None),
                ("CLI studies (whole command)", m["cli"]["studies"], None),
                ("count_trials (worker --max-trials)", hl["count_trials_s"], None),
                ("ask's read, after watermark only", hl["incremental_read_s"], None),
                ("ask's read, + 2 unfinished numbers", hl["incremental_read_unfinished_s"], None),
            ]
            for i, (name, hv, ov) in enumerate(rows):
                ratio = "-" if not (ov and hv) else f"{ov / hv:.{1 if ov >= hv else 2}f}x"
                p(f"{(str(n) if i == 0 else ''):>7} {name:<34} {_fmt_s(hv):>11} {_fmt_s(ov):>11} "
                  f"{ratio:>9}")
            rss_h, rss_o = hl["rss_end_mb"], ol and ol["rss_end_mb"]
            p(f"{'':>7} {'reader RSS after listing (MB)':<34} {rss_h:>11.0f} "
              f"{(f'{rss_o:.0f}' if rss_o else '-'):>11}")
            if "optuna_fill" in m:
                fl = m["optuna_fill"]
                p(f"{'':>7} (Optuna study: {fl['api_trials']} trials added by add_trials in "
                  f"{fl['api_s']:.1f} s this time, {fl['cloned_trials']} cloned in SQL)")
        if "db_size_mb" in res:
            ds = res["db_size_mb"]
            p(f"SQLite file sizes: hypersearch {ds['hypersearch']:.1f} MB"
              + (f", optuna {ds['optuna']:.1f} MB" if ds.get("optuna") else ""))
    return "\n".join(lines) + "\n"


def merge_runs(runs: list[dict[str, Any]], paths: list[Path]) -> dict[str, Any]:
    """One result of several runs: each backend from the last run that has it."""
    source: dict[str, int] = {}
    for i, run in enumerate(runs):
        for b, r in run["backends"].items():
            if "error" not in r:
                source[b] = i
    out = json.loads(json.dumps(runs[max(source.values(), default=0)]))
    out["backends"], out["notes"], out["targets"], out["merged_from"] = {}, [], {}, []
    for i, (run, path) in enumerate(zip(runs, paths)):
        names = [b for b, j in source.items() if j == i]
        out["merged_from"].append({"file": path.name, "created": run["created"], "backends": names,
                                   "config": run["config"],
                                   "loadavg_start": run["environment"]["loadavg_start"]})
        for b in names:
            out["backends"][b] = run["backends"][b]
            out["targets"][b] = run["targets"][b]
        others = [b for b in run["backends"] if b not in names]
        for note in run.get("notes", []) if names else []:
            if note not in out["notes"] and not any(note.startswith(f"{b}:") for b in others):
                out["notes"].append(note)
    out["notes"].insert(0, "backends measured in separate invocations of this script: " + "; ".join(
        f"{', '.join(m['backends'])} at {m['created']} (load average {m['loadavg_start']:.1f})"
        for m in out["merged_from"] if m["backends"]))
    return out


def plot(out: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    backends = [b for b, r in out["backends"].items() if "workers_detail" in r]
    if not backends:
        return False
    fig, axes = plt.subplots(2, len(backends), figsize=(6 * len(backends), 7), squeeze=False)
    for j, b in enumerate(backends):
        res = out["backends"][b]
        rows = res["verify"]["rows"]
        for w in res["workers_detail"]:
            ss = [s for s in w["samples"] if s["study_trials"] <= rows]  # no partial window
            xs = [s["study_trials"] for s in ss]
            axes[0][j].plot(xs, [s["rss_mb"] for s in ss], lw=1, label=f"w{w['wid']}")
            axes[1][j].plot(xs, [s["ms_per_trial"] for s in ss], lw=0.8)
        tw = res["throughput_windows"]
        ax2 = axes[1][j].twinx()
        ax2.plot([t["study_trials"] for t in tw], [t["trials_per_s"] for t in tw], "k--", lw=1.2)
        ax2.set_ylabel("study trials/s (dashed)")
        axes[0][j].set_title(f"{b}: worker RSS")
        axes[0][j].set_ylabel("RSS (MB)")
        axes[1][j].set_ylabel("ms per trial per worker (log)")
        axes[1][j].set_yscale("log")
        axes[1][j].set_xlabel("trials in the study")
        axes[0][j].legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=100_000, help="trials in the study (default 100000)")
    ap.add_argument("--trials-sqlite", type=int, default=None, help="override --trials for SQLite")
    ap.add_argument("--trials-postgres", type=int, default=None, help="override --trials for PostgreSQL")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--backends", nargs="+", choices=("sqlite", "postgres"), default=["sqlite", "postgres"])
    ap.add_argument("--checkpoints", type=int, nargs="+", default=[1000, 10_000, 100_000],
                    help="study sizes at which the read paths are timed (the final size always is)")
    ap.add_argument("--repeats", type=int, default=3, help="fresh-process probes per checkpoint")
    ap.add_argument("--large-repeats", type=int, default=1,
                    help=f"probes per checkpoint of {LARGE} trials or more (default 1)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 5000 trials, 1 repeat")
    ap.add_argument("--no-optuna", action="store_true", help="skip Optuna's side of the read paths")
    ap.add_argument("--optuna-fill", choices=("clone", "api"), default="clone",
                    help="grow Optuna's study beyond 1000 trials by cloning rows in SQL (default) "
                    "or with add_trials only (about 50 ms per trial)")
    ap.add_argument("--max-minutes", type=float, default=60.0,
                    help="per backend: stop the workers after this long (the report says so)")
    ap.add_argument("--progress-every", type=float, default=30.0)
    ap.add_argument("--pg-url-base", default=DEFAULT_PG_URL)
    ap.add_argument("--tmpdir", type=Path, default=None)
    ap.add_argument("--output", type=Path, default=RESULTS / "soak.json")
    ap.add_argument("--text-output", type=Path, default=None, help="default: --output with .txt")
    ap.add_argument("--render", type=Path, default=None, metavar="JSON",
                    help="only rewrite the .txt and .png of an earlier run's JSON")
    ap.add_argument("--merge", type=Path, nargs="+", default=None, metavar="JSON",
                    help="combine the backends of several runs' JSON into --output (.json, .txt,"
                    " .png), e.g. SQLite and PostgreSQL measured in separate invocations")
    ap.add_argument("--note", action="append", default=[],
                    help="a note to add to the report (with --merge or --render too)")
    ap.add_argument("--_worker", help=argparse.SUPPRESS)
    ap.add_argument("--_probe_hs", help=argparse.SUPPRESS)
    ap.add_argument("--_probe_optuna", help=argparse.SUPPRESS)
    ap.add_argument("--_optuna_fill", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.trials = 5000
        args.repeats = 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args._worker:
        run_worker(json.loads(args._worker))
        return 0
    for flag, fn in (("_probe_hs", probe_hypersearch), ("_probe_optuna", probe_optuna),
                     ("_optuna_fill", fill_optuna)):
        if getattr(args, flag):
            print(json.dumps(fn(json.loads(getattr(args, flag)))))
            return 0

    text_path = args.text_output or args.output.with_suffix(".txt")
    if args.render is not None:
        out = json.loads(args.render.read_text())
        out["notes"] += [n for n in args.note if n not in out["notes"]]
        text = report(out)
        text_path = args.text_output or args.render.with_suffix(".txt")
        text_path.write_text(text)
        plot(out, args.render.with_name(args.render.stem + "_memory.png"))
        print(text)
        return 0
    if args.merge:
        out = merge_runs([json.loads(p.read_text()) for p in args.merge], args.merge)
        out["notes"] += args.note
        text = report(out)
        _write_json(args.output, out)
        text_path.write_text(text)
        plot(out, args.output.with_name(args.output.stem + "_memory.png"))
        print(text)
        return 0
    progress: list[str] = []

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        progress.append(line)

    notes: list[str] = list(args.note)
    pg = None
    if "postgres" in args.backends:
        pg = Postgres(args.pg_url_base)
        why = pg.probe()
        if why is not None:
            notes.append(f"PostgreSQL skipped: {why}")
            args.backends = [b for b in args.backends if b != "postgres"]
            pg = None
    targets = {b: getattr(args, f"trials_{b}") or args.trials for b in args.backends}
    for b, t in targets.items():
        if t != args.trials:
            notes.append(f"{b}: {t} trials instead of {args.trials} (--trials-{b})")
    if args.optuna_fill == "clone" and not args.no_optuna:
        notes.append(
            f"Optuna's study: the first {OPTUNA_API_TRIALS} trials are written by Optuna's "
            "study.add_trials, the rest are SQL clones of those rows in Optuna's own tables "
            "(filling 100k trials through Optuna's API takes about 50 ms x 100k per backend)")
    load_start = _loadavg()
    if load_start is not None and load_start > 0.5 * (os.cpu_count() or 1):
        notes.append(f"load average {load_start:.1f} on {os.cpu_count()} CPUs at start: the machine "
                     "is shared, absolute times are inflated and noisy; ratios and trends matter")
    out: dict[str, Any] = {
        "benchmark": "soak",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                   if not k.startswith("_")},
        "targets": targets,
        "environment": {
            "python": platform.python_version(), "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "versions": _versions(),
            "postgres_server": pg.server_version if pg is not None else None,
            "loadavg_start": load_start, "nice": os.nice(0),
        },
        "notes": notes,
        "backends": {},
    }
    log(f"soak: {targets}, {args.workers} workers, checkpoints {args.checkpoints}")
    tmp = Path(tempfile.mkdtemp(prefix="hs_soak_", dir=args.tmpdir))
    started = time.perf_counter()
    try:
        for backend in args.backends:
            try:
                out["backends"][backend] = run_backend(backend, targets[backend], args, pg, tmp, log)
            except Exception as e:  # report and go on with the next backend
                import traceback

                log(f"  {backend}: FAILED: {e}")
                out["backends"][backend] = {"error": f"{e}\n{traceback.format_exc()}"}
    finally:
        if pg is not None:
            pg.drop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    out["environment"]["loadavg_end"] = _loadavg()
    out["retried_measurements"] = RETRIED
    if RETRIED:
        notes.append(f"{len(RETRIED)} measuring process(es) or queries failed and were re-run "
                     f"(first: {RETRIED[0]})")
    out["wall_s"] = time.perf_counter() - started
    text = report(out)
    out["progress"] = progress
    _write_json(args.output, out)
    text_path.write_text(text)
    png = args.output.with_name(args.output.stem + "_memory.png")
    if plot(out, png):
        print(f"plot written to {png}")
    print(text)
    print(f"results written to {args.output} and {text_path}")
    ok = all("verify" in r and r["verify"]["ok"] for r in out["backends"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
