"""Per-trial cost of model-based samplers as the history grows, vs Optuna, same run.

* TPE: 10 float parameters, a cheap objective, ``--tpe-trials`` (default 1000)
  trials; ms per trial over windows of the history (e.g. trials 100-200 and
  900-1000) for hypersearch's TPESampler and Optuna's TPESampler (default and
  multivariate).
* GP: 5 and 10 float parameters, ``--gp-trials`` (default 100) trials; ms per
  trial over the last 20 trials for hypersearch's GPSampler and Optuna's
  GPSampler (needs torch).

Usage::

    python benchmarks/bench_sampler_overhead.py
    python benchmarks/bench_sampler_overhead.py --tpe-trials 500 --skip-gp
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _objective(dim: int):
    def f(trial):
        x = np.array([trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(dim)])
        return float(np.sum((x - 1.0) ** 2) + np.sum(np.sin(3 * x)))

    return f


def _run(make_study, dim: int, n: int, hs_style: bool) -> np.ndarray:
    study = make_study()
    stamps: list[float] = []

    def cb(*_):
        stamps.append(time.perf_counter())

    obj = _objective(dim)
    stamps.append(time.perf_counter())
    if hs_style:
        study.optimize(obj, n_trials=n, callbacks=[cb], show_progress_bar=False)
    else:
        # Optuna re-reads the trial for callbacks; time with the objective instead
        def timed(trial):
            v = obj(trial)
            stamps.append(time.perf_counter())
            return v

        study.optimize(timed, n_trials=n)
    return np.diff(np.array(stamps)) * 1000.0


def _windows(ms: np.ndarray, windows: list[tuple[int, int]]) -> dict[str, float]:
    return {f"{a}-{b}": float(np.mean(ms[a:b])) for a, b in windows if b <= len(ms)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tpe-trials", type=int, default=1000)
    ap.add_argument("--gp-trials", type=int, default=100)
    ap.add_argument("--skip-gp", action="store_true")
    ap.add_argument("--output", default=str(Path(__file__).resolve().parent / "results" / "sampler_overhead.json"))
    args = ap.parse_args(argv)

    import optuna

    import hypersearch as hs

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out: dict = {"tpe": {}, "gp": {}}
    n = args.tpe_trials
    windows = [(0, 100), (100, 200), (max(n - 100, 0), n)]
    runs = {
        "hypersearch TPESampler": (lambda: hs.create_study(sampler=hs.samplers.TPESampler(seed=0)), True),
        "optuna TPESampler": (lambda: optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0)), False),
        "optuna TPESampler(multivariate)": (
            lambda: optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, multivariate=True)), False),
    }
    print(f"TPE, 10 float parameters, {n} trials: ms per trial (ask + objective + tell)")
    for name, (make, hs_style) in runs.items():
        ms = _run(make, 10, n, hs_style)
        out["tpe"][name] = _windows(ms, windows)
        print(f"  {name:34s} " + "  ".join(f"[{k}] {v:7.2f}" for k, v in out["tpe"][name].items()), flush=True)
    last = f"{windows[-1][0]}-{windows[-1][1]}"
    h = out["tpe"]["hypersearch TPESampler"].get(last)
    for other in ("optuna TPESampler", "optuna TPESampler(multivariate)"):
        o = out["tpe"][other].get(last)
        if h and o:
            print(f"  at trials {last}: {other} / hypersearch = {o / h:.1f}x")

    if not args.skip_gp:
        g = args.gp_trials
        for dim in (5, 10):
            print(f"GP, {dim} float parameters, {g} trials: ms per trial over the last 20")
            gruns = {
                "hypersearch GPSampler": (lambda: hs.create_study(sampler=hs.samplers.GPSampler(seed=0)), True),
                "optuna GPSampler": (lambda: optuna.create_study(sampler=optuna.samplers.GPSampler(seed=0)), False),
            }
            res = {}
            for name, (make, hs_style) in gruns.items():
                try:
                    ms = _run(make, dim, g, hs_style)
                except Exception as e:  # Optuna's GP needs torch
                    print(f"  {name}: skipped ({type(e).__name__}: {e})")
                    continue
                res[name] = float(np.mean(ms[-20:]))
                print(f"  {name:34s} {res[name]:8.1f} ms/trial", flush=True)
            if len(res) == 2:
                print(f"  optuna / hypersearch = {res['optuna GPSampler'] / res['hypersearch GPSampler']:.1f}x")
            out["gp"][f"{dim}d"] = res
    p = Path(args.output)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(out, indent=1))
    print(f"results written to {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
