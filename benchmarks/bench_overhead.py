"""Per-trial framework overhead: hypersearch vs Optuna on the same trivial objective.

The objective suggests five floats ``x0..x4`` in ``[-5, 5]`` and returns their sum
of squares, so almost all of the time of a trial is the framework's: asking for a
trial, sampling (random search, seed 0), recording parameters and finishing the
trial in the storage.  Each framework runs ``--n-trials`` trials (default 1000) on

* in-memory storage,
* a fresh SQLite file,
* a fresh PostgreSQL database (created for the run and dropped afterwards),

and the script prints a table and writes ``benchmarks/results/overhead.json``.

Fairness rules (see ``benchmarks/README.md``):

* Both frameworks run the very same objective code, the same number of trials,
  on the same machine in the same invocation, each against its own fresh
  database or file, with library defaults (only logging and progress bars off).
* Every measurement runs in its own fresh Python process, so neither side
  inherits warm caches, imports or a grown heap from the other; imports and
  study creation happen before the clock starts and are reported separately.
* No warm-up trials for either side: the first trial is measured like the others.
* Per-trial timestamps are taken *inside the objective*, not with an
  ``optimize`` callback: Optuna re-reads the trial from its storage for
  callbacks, which would add a storage round trip per trial to Optuna only.
* The order of the two frameworks alternates between repeats.

Usage::

    python benchmarks/bench_overhead.py                 # 1000 trials, all storages
    python benchmarks/bench_overhead.py --n-trials 200 --repeats 3 --skip-postgres
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
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
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "overhead.json"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

FRAMEWORKS = ("hypersearch", "optuna")
STORAGES = ("memory", "sqlite", "postgres")
N_PARAMS = 5
EDGE = 100  # trials in the "first N" / "last N" windows


# ---------------------------------------------------------------------------------------
# Worker: one (framework, storage) measurement in a fresh interpreter.
# ---------------------------------------------------------------------------------------


def _make_objective(entry: list[float], exit_: list[float], user: list[float]):
    """The benchmark objective, identical for both frameworks.

    It records when it was entered, when the suggestions were done and when it
    returns; only the arithmetic between the last two stamps counts as "user"
    time (``suggest_float`` is framework work and counts as overhead).
    """
    perf = time.perf_counter
    names = [f"x{i}" for i in range(N_PARAMS)]

    def objective(trial: Any) -> float:
        t_in = perf()
        xs = [trial.suggest_float(name, -5.0, 5.0) for name in names]
        t_user = perf()
        value = sum(x * x for x in xs)
        t_out = perf()
        entry.append(t_in)
        user.append(t_out - t_user)
        exit_.append(t_out)
        return value

    return objective


def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Create a study, time ``optimize`` and return raw timings (called in a child)."""
    import logging

    framework, url, n_trials = spec["framework"], spec["url"], spec["n_trials"]
    if framework == "hypersearch":
        import hypersearch as hs

        logging.getLogger("hypersearch").setLevel(logging.WARNING)
        c0 = time.perf_counter()
        study = hs.create_study(storage=url, sampler=hs.samplers.RandomSampler(seed=0))
        create_s = time.perf_counter() - c0
        optimize_kwargs: dict[str, Any] = {"show_progress_bar": False}
        version = hs.__version__
    elif framework == "optuna":
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        c0 = time.perf_counter()
        study = optuna.create_study(storage=url, sampler=optuna.samplers.RandomSampler(seed=0))
        create_s = time.perf_counter() - c0
        optimize_kwargs = {"show_progress_bar": False}
        version = optuna.__version__
    else:  # pragma: no cover - guarded by argparse
        raise ValueError(framework)

    entry: list[float] = []
    exit_: list[float] = []
    user: list[float] = []
    objective = _make_objective(entry, exit_, user)

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n_trials, **optimize_kwargs)
    t1 = time.perf_counter()

    # Sanity checks, outside the timed region.
    trials = study.trials
    n_complete = sum(1 for t in trials if t.state.name == "COMPLETE")
    if len(exit_) != n_trials or len(trials) != n_trials or n_complete != n_trials:
        raise RuntimeError(
            f"{framework}: expected {n_trials} complete trials, got {len(trials)} trials "
            f"({n_complete} complete) and {len(exit_)} objective calls"
        )
    return {
        "framework": framework,
        "version": version,
        "create_s": create_s,
        "t0": t0,
        "t1": t1,
        "entry": entry,
        "exit": exit_,
        "user": user,
        "best_value": float(study.best_value),
    }


def _summarize(raw: dict[str, Any], n_trials: int) -> dict[str, Any]:
    """Turn raw stamps into per-trial metrics (all times per trial in ms)."""
    t0, t1 = raw["t0"], raw["t1"]
    entry, exit_, user = raw["entry"], raw["exit"], raw["user"]
    total = t1 - t0
    user_s = sum(user)
    in_objective_s = sum(b - a for a, b in zip(entry, exit_, strict=True))
    # Cycle i runs from the end of objective i-1 to the end of objective i: it holds
    # one tell (of i-1), one ask (of i) and objective i.  The final tell (after the
    # last objective) is added to the last cycle, so the cycles sum to ``total``.
    stamps = [t0, *exit_]
    cycles = [stamps[i + 1] - stamps[i] - user[i] for i in range(n_trials)]
    cycles[-1] += t1 - exit_[-1]
    k = min(EDGE, max(1, n_trials // 2))
    ms = 1e3
    return {
        "total_s": total,
        "create_s": raw["create_s"],
        "user_s": user_s,
        # Main metric: everything except the user's arithmetic, per trial.
        "overhead_ms": (total - user_s) / n_trials * ms,
        # Literal reading "total minus time inside the objective": excludes the
        # suggest_float calls as well.
        "outside_objective_ms": (total - in_objective_s) / n_trials * ms,
        "suggest_ms": (in_objective_s - user_s) / n_trials * ms,
        "first_ms": statistics.fmean(cycles[:k]) * ms,
        "last_ms": statistics.fmean(cycles[-k:]) * ms,
        "first_median_ms": statistics.median(cycles[:k]) * ms,
        "last_median_ms": statistics.median(cycles[-k:]) * ms,
        "median_trial_ms": statistics.median(cycles) * ms,
        "edge_window": k,
        "best_value": raw["best_value"],
        "cycle_ms": [round(c * ms, 4) for c in cycles],
    }


# ---------------------------------------------------------------------------------------
# Parent: databases, subprocesses, aggregation, report.
# ---------------------------------------------------------------------------------------


class Postgres:
    """Creates and drops throw-away databases on the server of ``url``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme
        if not scheme.startswith("postgres"):
            raise ValueError(f"--pg-url-base must be a postgresql:// URL, got {url!r}")
        driver = scheme.split("+", 1)[1] if "+" in scheme else "psycopg"
        self._parts = parts
        self.sa_scheme = f"postgresql+{driver}"
        self.admin_url = urlunsplit(
            ("postgresql", parts.netloc, parts.path or "/postgres", parts.query, "")
        )
        self.created: list[str] = []
        self.server_version: str | None = None

    def connect(self):
        import psycopg

        return psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5)

    def probe(self) -> str | None:
        """``None`` when reachable, else the reason it is not."""
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "psycopg is not installed (pip install 'psycopg[binary]')"
        try:
            with self.connect() as conn:
                self.server_version = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as e:  # any failure means "skip"
            return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else e}"
        return None

    def create(self, name: str) -> str:
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.created.append(name)
        return urlunsplit((self.sa_scheme, self._parts.netloc, "/" + name, self._parts.query, ""))

    def drop(self, name: str) -> None:
        from psycopg import sql

        with self.connect() as conn:
            try:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            except Exception:  # servers before PostgreSQL 13
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            with contextlib.suppress(Exception):
                self.drop(name)


def _run_child(spec: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", json.dumps(spec)]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(
            f"worker {spec['framework']}/{spec['storage']} exited with {proc.returncode}:\n"
            + proc.stderr.strip()[-4000:]
        )
    if proc.stderr.strip():
        for line in proc.stderr.strip().splitlines()[-5:]:
            print(f"    [{spec['framework']} stderr] {line}", file=sys.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _measure(
    framework: str, storage: str, repeat: int, args, pg: Postgres | None, tmpdir: Path
) -> dict[str, Any]:
    db_name = None
    sqlite_path = None
    if storage == "memory":
        url = None
    elif storage == "sqlite":
        sqlite_path = tmpdir / f"{framework}_{repeat}.db"
        url = f"sqlite:///{sqlite_path}"
    else:
        assert pg is not None
        db_name = f"hs_bench_{os.getpid()}_{framework}_{repeat}"
        url = pg.create(db_name)
    spec = {"framework": framework, "storage": storage, "url": url, "n_trials": args.n_trials}
    try:
        raw = _run_child(spec, args.worker_timeout)
    finally:
        if db_name is not None and pg is not None:
            pg.drop(db_name)
        if sqlite_path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(f"{sqlite_path}{suffix}")
    out = _summarize(raw, args.n_trials)
    out["version"] = raw["version"]
    out["repeat"] = repeat
    return out


_MEDIAN_KEYS = (
    "total_s",
    "create_s",
    "overhead_ms",
    "outside_objective_ms",
    "suggest_ms",
    "first_ms",
    "last_ms",
    "first_median_ms",
    "last_median_ms",
    "median_trial_ms",
)


def _median_of(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in _MEDIAN_KEYS}


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def _print_table(summary: dict[str, Any], n_trials: int, repeats: int, k: int) -> None:
    label = f"median of {repeats} runs" if repeats > 1 else "single run"
    print()
    print(f"Per-trial overhead, {n_trials} trials, random search, 5 floats ({label}); ms/trial")
    head = (
        f"{'storage':<9} {'hypersearch':>11} {'optuna':>10} {'optuna/hs':>9}"
        f" | {'hs first' + str(k):>11} {'hs last' + str(k):>10}"
        f" | {'op first' + str(k):>11} {'op last' + str(k):>10}"
    )
    print(head)
    print("-" * len(head))
    for storage, row in summary.items():
        hs_m = row.get("hypersearch")
        op_m = row.get("optuna")
        ratio = row.get("ratio_optuna_over_hypersearch")
        print(
            f"{storage:<9} {_fmt(hs_m and hs_m['overhead_ms']):>11} {_fmt(op_m and op_m['overhead_ms']):>10}"
            f" {_fmt(ratio, '.2f') + ('x' if ratio else ''):>9}"
            f" | {_fmt(hs_m and hs_m['first_ms']):>11} {_fmt(hs_m and hs_m['last_ms']):>10}"
            f" | {_fmt(op_m and op_m['first_ms']):>11} {_fmt(op_m and op_m['last_ms']):>10}"
        )
    print()
    print("Total wall time of optimize() in seconds (study creation excluded):")
    for storage, row in summary.items():
        cells = []
        for fw in FRAMEWORKS:
            m = row.get(fw)
            if m is not None:
                cells.append(f"{fw} {m['total_s']:.2f} s (create {m['create_s'] * 1e3:.0f} ms)")
        print(f"  {storage:<9} " + "; ".join(cells))


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for dist in ("hypersearch", "optuna", "SQLAlchemy", "psycopg", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    import sqlite3

    out["sqlite"] = sqlite3.sqlite_version
    return out


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on Windows
        return None


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    os.replace(tmp, path)


def _csv(kind: str, allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        items = [s.strip() for s in text.split(",") if s.strip()]
        bad = [s for s in items if s not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"{kind} must be among {', '.join(allowed)}")
        return items

    return parse


def _positive_int(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return v


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--n-trials", type=_positive_int, default=1000, help="trials per run (default 1000)"
    )
    p.add_argument(
        "--repeats", type=_positive_int, default=1, help="runs per case; the median is reported"
    )
    p.add_argument(
        "--storages",
        type=_csv("storages", STORAGES),
        default=list(STORAGES),
        help="comma-separated subset of memory,sqlite,postgres (default: all)",
    )
    p.add_argument(
        "--frameworks",
        type=_csv("frameworks", FRAMEWORKS),
        default=list(FRAMEWORKS),
        help="comma-separated subset of hypersearch,optuna (default: both)",
    )
    p.add_argument(
        "--pg-url-base",
        default=DEFAULT_PG_URL,
        help="URL of the PostgreSQL maintenance database used to create/drop the "
        f"benchmark databases (default {DEFAULT_PG_URL})",
    )
    p.add_argument("--skip-postgres", action="store_true", help="do not run the PostgreSQL rows")
    p.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"JSON output (default {DEFAULT_OUTPUT})",
    )
    p.add_argument(
        "--tmpdir", type=Path, default=None, help="where the SQLite files go (default: system temp)"
    )
    p.add_argument(
        "--worker-timeout",
        type=float,
        default=1800.0,
        help="seconds allowed per run (default 1800)",
    )
    p.add_argument("--_worker", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args._worker:
        print(json.dumps(run_worker(json.loads(args._worker))))
        return 0

    storages = [s for s in STORAGES if s in args.storages]
    frameworks = [f for f in FRAMEWORKS if f in args.frameworks]
    pg: Postgres | None = None
    notes: list[str] = []
    if "postgres" in storages:
        if args.skip_postgres:
            storages.remove("postgres")
            notes.append("PostgreSQL skipped (--skip-postgres)")
        else:
            pg = Postgres(args.pg_url_base)
            why = pg.probe()
            if why is not None:
                note = f"PostgreSQL skipped: cannot reach {pg.admin_url} ({why})"
                print(f"NOTE: {note}", file=sys.stderr)
                notes.append(note)
                storages.remove("postgres")
                pg = None

    k = min(EDGE, max(1, args.n_trials // 2))
    load_start = _loadavg()
    if load_start is not None and load_start > 0.5 * (os.cpu_count() or 1):
        note = (
            f"1-minute load average is {load_start:.2f} on {os.cpu_count()} CPUs at start: "
            "other processes compete for the CPU, so timings are noisier (use --repeats)"
        )
        print(f"NOTE: {note}", file=sys.stderr)
        notes.append(note)
    print(
        f"hypersearch vs optuna overhead: {args.n_trials} trials x {args.repeats} repeat(s), "
        f"storages {', '.join(storages) or '-'}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    tmpdir = Path(tempfile.mkdtemp(prefix="hs_bench_", dir=args.tmpdir))
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        s: {f: [] for f in frameworks} for s in storages
    }
    errors: list[str] = []
    started = time.perf_counter()
    try:
        for storage in storages:
            for r in range(args.repeats):
                order = frameworks if r % 2 == 0 else frameworks[::-1]
                for fw in order:
                    print(
                        f"  {storage:<8} {fw:<11} run {r + 1}/{args.repeats} ...",
                        end="",
                        flush=True,
                    )
                    try:
                        res = _measure(fw, storage, r, args, pg, tmpdir)
                    except Exception as e:  # report and go on
                        print(" FAILED")
                        msg = f"{fw}/{storage} run {r + 1}: {e}"
                        print(f"    {msg}", file=sys.stderr)
                        errors.append(msg)
                        continue
                    runs[storage][fw].append(res)
                    print(
                        f" {res['total_s']:7.2f} s, {res['overhead_ms']:.3f} ms/trial"
                        f" (first {k}: {res['first_ms']:.3f}, last {k}: {res['last_ms']:.3f})",
                        flush=True,
                    )
    except KeyboardInterrupt:
        print("\ninterrupted; reporting what finished", file=sys.stderr)
        errors.append("interrupted")
    finally:
        if pg is not None:
            pg.drop_all()
        shutil.rmtree(tmpdir, ignore_errors=True)

    summary: dict[str, Any] = {}
    for storage in storages:
        row: dict[str, Any] = {}
        for fw in frameworks:
            if runs[storage][fw]:
                row[fw] = _median_of(runs[storage][fw])
        if "hypersearch" in row and "optuna" in row:
            row["ratio_optuna_over_hypersearch"] = (
                row["optuna"]["overhead_ms"] / row["hypersearch"]["overhead_ms"]
            )
        summary[storage] = row
    _print_table(summary, args.n_trials, args.repeats, k)
    for note in notes:
        print(f"note: {note}")
    for err in errors:
        print(f"error: {err}")

    payload = {
        "benchmark": "per-trial overhead",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "config": {
            "n_trials": args.n_trials,
            "repeats": args.repeats,
            "storages": storages,
            "frameworks": frameworks,
            "objective": "sum of squares of x0..x4, suggest_float in [-5, 5]",
            "sampler": "RandomSampler(seed=0)",
            "edge_window": k,
            "aggregate": "median over repeats",
        },
        "metrics": {
            "overhead_ms": "(optimize wall time - time in the objective's arithmetic) / n_trials",
            "outside_objective_ms": "(optimize wall time - whole objective incl. suggest calls) / n_trials",
            "suggest_ms": "time in the 5 suggest_float calls per trial",
            "first_ms/last_ms": "mean cost of the first/last edge_window trials (one ask, one tell, one objective each)",
            "median_trial_ms": "median per-trial cost over all trials",
            "ratio_optuna_over_hypersearch": "optuna overhead_ms / hypersearch overhead_ms",
        },
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "versions": _versions(),
            "postgres_server": pg.server_version if pg is not None else None,
            "loadavg_1min_start": load_start,
            "loadavg_1min_end": _loadavg(),
        },
        "notes": notes,
        "errors": errors,
        "wall_s": time.perf_counter() - started,
        "summary": summary,
        "runs": runs,
    }
    _write_json(args.output, payload)
    print(f"\nresults written to {args.output}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
