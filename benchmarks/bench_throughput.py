"""Parallel throughput: trials per second with many worker processes on one study,
hypersearch vs Optuna 5 in the same run, and wall-clock scaling on a sleeping
objective.

Part 1 (``--part throughput``): a trivial objective (5 random floats, random
search on both sides, so the framework and its storage are all that is
measured).  For 1, 2, 4 and 8 independent worker processes sharing one study
(the many-machines setup: each process opens the storage, loads the study and
runs ``optimize``), the trials per second of the whole group, timed from a
barrier after every worker has started and connected.  Storages: SQLite file,
PostgreSQL (a fresh database per run), and Optuna's JournalStorage (file
backend).  Also hypersearch's own ``study.optimize(n_jobs=N)`` (one driver, N
worker processes).

Part 2 (``--part scaling``): an objective that sleeps 0.2 s; 8 workers; speed-up
= serial time of the trials / wall time (ideal 8x), for hypersearch
``n_jobs=8`` (worker processes), 8 independent hypersearch processes on
PostgreSQL, and 8 independent Optuna processes on PostgreSQL.

Usage::

    python benchmarks/bench_throughput.py                  # both parts
    python benchmarks/bench_throughput.py --part throughput --trials 400 --workers 1 2 4 8
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path

PG_BASE = "postgresql://postgres@127.0.0.1:5432"


def _trivial_hs(trial):
    return sum(trial.suggest_float(f"x{i}", -5.0, 5.0) ** 2 for i in range(5))


def _trivial_optuna(trial):
    return sum(trial.suggest_float(f"x{i}", -5.0, 5.0) ** 2 for i in range(5))


def _sleep_hs(trial):
    trial.suggest_float("x", 0.0, 1.0)
    time.sleep(0.2)
    return 0.0


def _sleep_optuna(trial):
    trial.suggest_float("x", 0.0, 1.0)
    time.sleep(0.2)
    return 0.0


# -- databases -----------------------------------------------------------------------------------


def _pg_create() -> str | None:
    try:
        import psycopg
    except ImportError:
        return None
    name = f"hs_tp_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True, connect_timeout=5) as c:
            c.execute(f'CREATE DATABASE "{name}"')
    except Exception as e:  # no server
        print(f"  (PostgreSQL unavailable: {e})")
        return None
    return f"{PG_BASE}/{name}"


def _pg_drop(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _storage_url(kind: str, tmp: Path) -> str | None:
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
    if kind == "postgres":
        return _pg_create()
    if kind == "journal":
        return str(tmp / f"{uuid.uuid4().hex[:8]}.log")
    raise ValueError(kind)


def _optuna_storage(kind: str, url: str):
    import optuna

    if kind == "journal":
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url))
    if kind == "postgres":
        url = url.replace("postgresql://", "postgresql+psycopg://")
    return optuna.storages.RDBStorage(url)


# -- workers ---------------------------------------------------------------------------------------


def _hs_worker(url, name, n, seed, sleep, barrier, out):
    import hypersearch as hs

    study = hs.load_study(name, url, sampler=hs.samplers.RandomSampler(seed=seed))
    barrier.wait()
    t0 = time.perf_counter()
    study.optimize(_sleep_hs if sleep else _trivial_hs, n_trials=n, heartbeat_interval=None)
    out.put((t0, time.perf_counter()))


def _optuna_worker(kind, url, name, n, seed, sleep, barrier, out):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=_optuna_storage(kind, url),
                              sampler=optuna.samplers.RandomSampler(seed=seed))
    barrier.wait()
    t0 = time.perf_counter()
    study.optimize(_sleep_optuna if sleep else _trivial_optuna, n_trials=n)
    out.put((t0, time.perf_counter()))


def _group(framework: str, kind: str, url: str, workers: int, total: int, sleep: bool) -> float:
    """Wall seconds for ``workers`` processes to run ``total`` trials together."""
    ctx = mp.get_context("spawn")
    name = f"tp-{uuid.uuid4().hex[:8]}"
    if framework == "hypersearch":
        import hypersearch as hs

        hs.create_study(name, url)
    else:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        optuna.create_study(study_name=name, storage=_optuna_storage(kind, url))
    barrier, out = ctx.Barrier(workers + 1), ctx.Queue()
    per = [total // workers + (1 if i < total % workers else 0) for i in range(workers)]
    procs = []
    for i in range(workers):
        if framework == "hypersearch":
            args = (url, name, per[i], i, sleep, barrier, out)
            procs.append(ctx.Process(target=_hs_worker, args=args))
        else:
            args = (kind, url, name, per[i], i, sleep, barrier, out)
            procs.append(ctx.Process(target=_optuna_worker, args=args))
    for p in procs:
        p.start()
    barrier.wait(timeout=600)
    t_start = time.perf_counter()
    ends = [out.get(timeout=3600)[1] for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"{framework} worker failed with exit code {p.exitcode}")
    return max(ends) - t_start


def _driver(url: str, workers: int, total: int, sleep: bool) -> float:
    """hypersearch's own n_jobs=N: one driver, N worker processes (started before timing)."""
    import hypersearch as hs

    study = hs.create_study(f"drv-{uuid.uuid4().hex[:8]}", url, sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(_sleep_hs if sleep else _trivial_hs, n_trials=total, n_jobs=workers,
                   executor="process", heartbeat_interval=None)
    # from the first trial's start to the last one's end: the workers' start-up
    # (once per optimize call, like the independent workers' connect) is left out
    trials = study.trials
    first = min(t.datetime_start for t in trials)
    last = max(t.datetime_complete for t in trials)
    return (last - first).total_seconds()


def part_throughput(args, tmp: Path) -> dict:
    res: dict = {}
    print(f"trivial objective, {args.trials} trials per run: trials per second of the whole group")
    header = f"{'storage':10s} {'framework':28s}" + "".join(f"{w:>9d}w" for w in args.workers)
    print(header)
    for kind in args.storages:
        runs = [("hypersearch", kind)] if kind != "journal" else []
        if kind in ("sqlite", "postgres"):
            runs.append(("optuna RDB", kind))
        if kind == "journal":
            runs.append(("optuna Journal", kind))
        for fw, k in runs:
            row = {}
            for w in args.workers:
                url = _storage_url(k, tmp)
                if url is None:
                    break
                try:
                    wall = _group("hypersearch" if fw == "hypersearch" else "optuna", k, url, w,
                                  args.trials, sleep=False)
                    row[w] = args.trials / wall
                finally:
                    if k == "postgres":
                        _pg_drop(url)
            if row:
                res[f"{k}/{fw}"] = row
                print(f"{k:10s} {fw:28s}" + "".join(f"{row.get(w, float('nan')):10.1f}" for w in args.workers),
                      flush=True)
        if kind in ("sqlite", "postgres") and not args.skip_driver:
            row = {}
            for w in args.workers:
                url = _storage_url(kind, tmp)
                if url is None:
                    break
                try:
                    row[w] = args.trials / _driver(url, w, args.trials, sleep=False)
                finally:
                    if kind == "postgres":
                        _pg_drop(url)
            if row:
                res[f"{kind}/hypersearch n_jobs"] = row
                print(f"{kind:10s} {'hypersearch n_jobs (1 driver)':28s}"
                      + "".join(f"{row.get(w, float('nan')):10.1f}" for w in args.workers), flush=True)
    for kind in ("sqlite", "postgres"):
        h, o = res.get(f"{kind}/hypersearch"), res.get(f"{kind}/optuna RDB")
        if h and o:
            print(f"  {kind}: hypersearch / optuna RDB throughput = "
                  + ", ".join(f"{w}w {h[w] / o[w]:.1f}x" for w in args.workers if w in h and w in o))
    j, h = res.get("journal/optuna Journal"), res.get("sqlite/hypersearch")
    if j and h:
        print("  hypersearch SQLite / optuna Journal (file) = "
              + ", ".join(f"{w}w {h[w] / j[w]:.1f}x" for w in args.workers if w in h and w in j))
    return res


def part_scaling(args, tmp: Path) -> dict:
    n = args.sleep_trials
    serial = n * 0.2
    print(f"0.2 s sleep objective, {n} trials, 8 workers: speed-up over {serial:.0f} s serial (ideal 8x)")
    res = {}
    cases = [
        ("hypersearch n_jobs=8 (processes), SQLite", lambda: _driver(_storage_url("sqlite", tmp), 8, n, True)),
        ("hypersearch n_jobs=8 (processes), memory", lambda: _driver(None, 8, n, True)),
    ]
    pg = _pg_create()
    if pg is not None:
        _pg_drop(pg)
        cases += [
            ("hypersearch 8 processes, PostgreSQL", "hypersearch"),
            ("optuna 8 processes, PostgreSQL", "optuna"),
        ]
    for label, how in cases:
        if callable(how):
            wall = how()
        else:
            url = _pg_create()
            try:
                wall = _group(how, "postgres", url, 8, n, sleep=True)
            finally:
                _pg_drop(url)
        res[label] = {"wall_s": wall, "speedup": serial / wall}
        print(f"  {label:45s} wall {wall:6.2f} s  speed-up {serial / wall:4.2f}x", flush=True)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("throughput", "scaling", "both"), default="both")
    ap.add_argument("--trials", type=int, default=400, help="trials per throughput run")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4, 8])
    ap.add_argument("--storages", nargs="*", default=["sqlite", "postgres", "journal"])
    ap.add_argument("--sleep-trials", type=int, default=80)
    ap.add_argument("--skip-driver", action="store_true", help="skip hypersearch's n_jobs rows")
    ap.add_argument("--output", default=str(Path(__file__).resolve().parent / "results" / "throughput.json"))
    args = ap.parse_args(argv)
    import optuna

    import hypersearch as hs

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out: dict = {
        "benchmark": "throughput",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": vars(args),
        "environment": {
            "python": platform.python_version(), "cpus": os.cpu_count(), "hypersearch": hs.__version__,
            "optuna": optuna.__version__, "loadavg": os.getloadavg(),
        },
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.part in ("throughput", "both"):
            out["throughput_trials_per_s"] = part_throughput(args, tmp)
        if args.part in ("scaling", "both"):
            out["scaling"] = part_scaling(args, tmp)
    p = Path(args.output)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(out, indent=1, default=str))
    print(f"results written to {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
