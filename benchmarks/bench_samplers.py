"""Sample efficiency of samplers: hypersearch vs Optuna on the same problems, seeds and budgets.

Usage::

    python benchmarks/bench_samplers.py                          # every problem, 5 seeds, 50 trials
    python benchmarks/bench_samplers.py --problems branin hartmann6 --seeds 10
    python benchmarks/bench_samplers.py --kinds synthetic mixed   # skip the real models
    python benchmarks/bench_samplers.py --samplers hs-default optuna-tpe hs-random

For each (problem, sampler, seed) one study of ``max(budgets)`` trials runs in a
worker process.  Reported per problem and budget:

* **normalised regret** = (best found - reference) / (median random-search best -
  reference), where the reference is the known optimum or, for real models,
  the best value any run found; 0 is the optimum, 1 is as good as the median
  random search at the same budget (random search = hs-random and optuna-random
  runs pooled).  Mean over seeds; mean over problems in the last row.
* two-sided Mann-Whitney U tests per problem on the best values at each budget
  ("worse"/"better" when p < 0.05): hs-default against optuna-tpe and, when
  both ran, hs-gp against optuna-gp.
* **overhead** per trial: wall time of optimize minus time inside the objective.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import PROBLEMS  # noqa: E402

ALL_SAMPLERS = [
    "hs-default",
    "hs-tpe",
    "hs-gp",
    "hs-qmc",
    "hs-random",
    "optuna-tpe",
    "optuna-gp",
    "optuna-random",
]


class _Timed:
    """Wraps an objective to time the user's own work in it: the objective's time
    minus the time of its suggest calls (which are framework work, and where
    Optuna does its sampling)."""

    def __init__(self, fn):
        self.fn = fn
        self.inside = 0.0
        self.suggest = 0.0
        self.values: list[float] = []

    def __call__(self, trial):
        proxy = _TrialProxy(trial, self)
        t0 = time.perf_counter()
        v = self.fn(proxy)
        self.inside += time.perf_counter() - t0
        self.values.append(float(v))
        return v


class _TrialProxy:
    def __init__(self, trial, timer: _Timed):
        self._trial = trial
        self._timer = timer

    def __getattr__(self, name):
        attr = getattr(self._trial, name)
        if not name.startswith("suggest"):
            return attr

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self._timer.suggest += time.perf_counter() - t0

        return timed


def _make_hs(name: str, seed: int):
    import hypersearch as hs

    if name == "hs-default":
        return hs.create_study(seed=seed)
    if name == "hs-random":
        return hs.create_study(sampler=hs.samplers.RandomSampler(seed=seed))
    if name == "hs-qmc":
        return hs.create_study(sampler=hs.samplers.QMCSampler(seed=seed))
    if name == "hs-tpe":
        from hypersearch.samplers.tpe import TPESampler

        return hs.create_study(sampler=TPESampler(seed=seed))
    if name == "hs-gp":
        from hypersearch.samplers.gp import GPSampler

        return hs.create_study(sampler=GPSampler(seed=seed))
    raise ValueError(name)


def _make_optuna(name: str, seed: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = {
        "optuna-tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "optuna-gp": lambda: optuna.samplers.GPSampler(seed=seed),
        "optuna-random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }[name]()
    return optuna.create_study(sampler=sampler)


def run_one(problem: str, sampler: str, seed: int, n_trials: int) -> dict:
    """One study; returns the value of every trial and the timing split."""
    import warnings

    warnings.filterwarnings("ignore")
    obj = _Timed(PROBLEMS[problem].objective)
    study = _make_hs(sampler, seed) if sampler.startswith("hs-") else _make_optuna(sampler, seed)
    t0 = time.perf_counter()
    if sampler.startswith("hs-"):
        study.optimize(obj, n_trials=n_trials, show_progress_bar=False)
    else:
        study.optimize(obj, n_trials=n_trials)
    total = time.perf_counter() - t0
    return {
        "problem": problem,
        "sampler": sampler,
        "seed": seed,
        "values": obj.values,
        "total_s": total,
        "objective_s": obj.inside,
        "overhead_ms": 1000 * (total - obj.inside + obj.suggest) / max(len(obj.values), 1),
    }


def _available(samplers: list[str]) -> tuple[list[str], list[str]]:
    ok, notes = [], []
    for s in samplers:
        try:
            if s.startswith("hs-"):
                _make_hs(s, 0)
            else:
                _make_optuna(s, 0)
            ok.append(s)
        except Exception as e:  # missing optional sampler or package
            notes.append(f"{s} skipped: {type(e).__name__}: {e}")
    return ok, notes


# Mann-Whitney comparisons reported per problem: JSON key -> (hypersearch, Optuna) sampler
TESTS = {
    "hs_default_vs_optuna_tpe": ("hs-default", "optuna-tpe"),
    "hs_gp_vs_optuna_gp": ("hs-gp", "optuna-gp"),
}


def _compare(best: dict, x: str, y: str, mannwhitneyu) -> dict | None:
    """Two-sided Mann-Whitney U test of sampler x's best values against y's
    (None when either did not run, has under 3 seeds, or all values are equal)."""
    if x not in best or y not in best:
        return None
    a, c = best[x], best[y]
    if len(a) < 3 or len(c) < 3 or (np.allclose(a, a[0]) and np.allclose(c, a[0])):
        return None
    p = float(mannwhitneyu(a, c, alternative="two-sided").pvalue)
    verdict = "same"
    if p < 0.05:
        verdict = "better" if np.median(a) < np.median(c) else "worse"
    return {"p": p, "verdict": verdict}


def summarise(runs: list[dict], budgets: list[int]) -> dict:
    from scipy.stats import mannwhitneyu

    out: dict = {}
    by_problem: dict[str, list[dict]] = {}
    for r in runs:
        by_problem.setdefault(r["problem"], []).append(r)
    for prob, rs in by_problem.items():
        opt = PROBLEMS[prob].optimum
        ref = opt if opt is not None else min(min(r["values"]) for r in rs)
        entry: dict = {"reference": ref, "budgets": {}}
        for b in budgets:
            best = {}
            for r in rs:
                best.setdefault(r["sampler"], []).append(min(r["values"][:b]))
            rand = best.get("hs-random", []) + best.get("optuna-random", [])
            med = float(np.median(rand)) if rand else math.nan
            scale = med - ref
            regret = {}
            for s, vals in best.items():
                if not rand:
                    regret[s] = math.nan
                elif scale <= 1e-12:
                    regret[s] = 0.0 if all(v - ref <= 1e-12 for v in vals) else 1.0
                else:
                    regret[s] = float(np.mean([max(v - ref, 0.0) / scale for v in vals]))
            entry["budgets"][str(b)] = {
                "random_median": med,
                "normalised_regret": regret,
                "best_values": best,
            }
            for key, (x, y) in TESTS.items():
                entry["budgets"][str(b)][key] = _compare(best, x, y, mannwhitneyu)
        overhead = {}
        for r in rs:
            overhead.setdefault(r["sampler"], []).append(r["overhead_ms"])
        entry["overhead_ms"] = {s: float(np.median(v)) for s, v in overhead.items()}
        out[prob] = entry
    return out


def print_table(summary: dict, samplers: list[str], budgets: list[int]) -> None:
    for b in budgets:
        print(f"\nMean normalised regret at {b} trials (0 = optimum/best seen, 1 = median random search)")
        tests = [(k, x, y) for k, (x, y) in TESTS.items() if x in samplers and y in samplers]
        if not tests:  # keep the hs-default vs optuna-tpe column even when a side did not run
            tests = [("hs_default_vs_optuna_tpe", "hs-default", "optuna-tpe")]
        labels = [f"{x} vs {y}" for _, x, y in tests]
        widths = [max(len(lab), 16) for lab in labels]
        head = f"{'problem':24s}" + "".join(f"{s:>14s}" for s in samplers)
        head += "".join(f"   {lab:{w}s}" for lab, w in zip(labels, widths)).rstrip()
        print(head)
        print("-" * len(head))
        cols: dict[str, list[float]] = {s: [] for s in samplers}
        for prob, entry in summary.items():
            e = entry["budgets"][str(b)]
            cells = ""
            for s in samplers:
                v = e["normalised_regret"].get(s, math.nan)
                cols[s].append(v)
                cells += f"{v:14.3f}"
            tt = ""
            for (key, _, _), w in zip(tests, widths):
                t = e.get(key)
                tt += f"   {(t['verdict'] + ' (p=' + format(t['p'], '.3f') + ')') if t else '-':{w}s}"
            print(f"{prob:24s}{cells}{tt.rstrip()}")
        print("-" * len(head))
        means = {s: float(np.nanmean(v)) if v else math.nan for s, v in cols.items()}
        print(f"{'MEAN':24s}" + "".join(f"{means[s]:14.3f}" for s in samplers))
        if "hs-default" in means and "optuna-tpe" in means and means["optuna-tpe"] > 0:
            print(f"ratio hs-default / optuna-tpe mean regret: {means['hs-default'] / means['optuna-tpe']:.2f}")
        if "hs-gp" in means and "optuna-gp" in means and means["optuna-gp"] > 0:
            print(f"ratio hs-gp / optuna-gp mean regret:       {means['hs-gp'] / means['optuna-gp']:.2f}")
        if "hs-tpe" in means and "optuna-tpe" in means and means["optuna-tpe"] > 0:
            print(f"ratio hs-tpe / optuna-tpe mean regret:     {means['hs-tpe'] / means['optuna-tpe']:.2f}")
    print("\nMedian framework overhead per trial (ms, time outside the objective)")
    print(f"{'problem':24s}" + "".join(f"{s:>14s}" for s in samplers))
    for prob, entry in summary.items():
        print(f"{prob:24s}" + "".join(f"{entry['overhead_ms'].get(s, math.nan):14.1f}" for s in samplers))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", nargs="*", default=None, help="problem names (default: all of --kinds)")
    ap.add_argument("--kinds", nargs="*", default=["synthetic", "mixed", "real"])
    ap.add_argument("--samplers", nargs="*", default=ALL_SAMPLERS)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budgets", type=int, nargs="*", default=[25, 50])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--output", default=str(Path(__file__).resolve().parent / "results" / "samplers.json"))
    args = ap.parse_args(argv)

    problems = args.problems or [n for n, p in PROBLEMS.items() if p.kind in args.kinds]
    unknown = [p for p in problems if p not in PROBLEMS]
    if unknown:
        ap.error(f"unknown problem(s) {unknown}; known: {sorted(PROBLEMS)}")
    samplers, notes = _available(args.samplers)
    for n in notes:
        print("note:", n)
    n_trials = max(args.budgets)
    jobs = [(p, s, seed, n_trials) for p in problems for s in samplers for seed in range(args.seeds)]
    print(f"{len(jobs)} runs: {len(problems)} problems x {len(samplers)} samplers x {args.seeds} seeds, "
          f"{n_trials} trials each, {args.jobs} processes", flush=True)
    start = time.perf_counter()
    runs = []
    with ProcessPoolExecutor(max_workers=args.jobs) as ex:
        futs = [ex.submit(run_one, *j) for j in jobs]
        for i, f in enumerate(as_completed(futs), 1):
            r = f.result()
            runs.append(r)
            if i % 20 == 0 or i == len(futs):
                print(f"  {i}/{len(futs)} runs done ({time.perf_counter() - start:.0f} s)", flush=True)
    summary = summarise(runs, args.budgets)
    print_table(summary, samplers, args.budgets)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "sampler sample efficiency",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {"problems": problems, "samplers": samplers, "seeds": args.seeds, "budgets": args.budgets},
        "environment": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "notes": notes,
        "wall_s": time.perf_counter() - start,
        "summary": summary,
    }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(out)
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
