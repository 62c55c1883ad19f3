"""Does a scheduler's cost per trial grow with the length of the run?

Schedulers must decide from an incremental view of what trials reported, so the
framework time a trial costs should stay flat as a run goes from hundreds to
thousands of trials.  Promotion schedulers are the hard case: almost every
trial ends PAUSED at some rung (never promoted), so a scheduler that rescans
its paused trials, or re-sorts a rung, on every decision pays in proportion to
everything that ran before.

One ``hs.tune`` run per scheduler with a trivial trainable (a noisy
exponential curve, no sleeping; the promotion variants save a checkpoint at
every report, as a real resumable trainable would), one worker, in-memory
storage.  Reported: framework CPU milliseconds per trial (process time, not wall
time: the machine's other tenants make wall time too noisy) in consecutive
windows of trials, and the ratio of the last window to the first (1.0 = flat).  Optuna's
``SuccessiveHalvingPruner`` with a define-by-run loop runs beside as the peer
of the stopping variant (Optuna has no promotion/pause).

Usage::

    python benchmarks/bench_scheduler_scaling.py                 # 4000 trials each, ~4 min
    python benchmarks/bench_scheduler_scaling.py --trials 1000   # quicker
    python benchmarks/bench_scheduler_scaling.py --tag before    # results/scheduler_scaling_before.*
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
#: CPU seconds of this process (every thread): on a shared machine, wall time
#: also counts the time other tenants hold the core, which varies from window
#: to window by more than the effect measured here.
_clock = time.process_time
MAX_T = 27
ETA = 3


def _curve(x: float, t: int, rng: np.random.Generator) -> float:
    return (0.1 + x) + math.exp(-t / (1.0 + 10 * x)) + 0.01 * float(rng.standard_normal())


def run_hs(kind: str, n: int, window: int) -> list[float]:
    import hypersearch as hs

    S = hs.schedulers
    kw = dict(metric="loss", mode="min", max_t=MAX_T, reduction_factor=ETA)
    scheduler = {
        "asha-stopping": lambda: S.ASHA(**kw, grace_period=1),
        "asha-promotion": lambda: S.ASHA(**kw, grace_period=1, variant="promotion"),
        "hyperband-promotion": lambda: S.Hyperband(**kw, min_t=1, variant="promotion"),
        "sha-synchronous": lambda: S.SuccessiveHalving(**kw, min_t=1, synchronous=True, n_configs=81),
        "median": lambda: S.MedianStoppingRule(mode="min", n_startup_trials=5),
    }[kind]()
    ckpt = kind not in ("asha-stopping", "median")
    rng = np.random.default_rng(0)
    stamps: list[float] = []

    def trainable(config):
        c = hs.get_checkpoint() if ckpt else None
        t = 0 if c is None else c["t"]
        if c is None:
            stamps.append(_clock())
        while t < MAX_T:
            t += 1
            hs.report(loss=_curve(config["x"], t, rng), checkpoint={"t": t} if ckpt else None)

    with tempfile.TemporaryDirectory() as tmp:
        hs.tune(trainable, {"x": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=n,
                scheduler=scheduler, sampler=hs.samplers.RandomSampler(seed=0), seed=0,
                max_concurrent=1, storage_path=tmp, show_progress_bar=False)
        stamps.append(_clock())
    return _windows(stamps, window)


def run_optuna(kind: str, n: int, window: int) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(0)
    stamps: list[float] = []

    def objective(trial):
        stamps.append(_clock())
        x = trial.suggest_float("x", 0, 1)
        v = math.inf
        for t in range(1, MAX_T + 1):
            v = _curve(x, t, rng)
            trial.report(v, t)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return v

    pruner = (optuna.pruners.MedianPruner(n_startup_trials=5) if kind == "optuna-median"
              else optuna.pruners.SuccessiveHalvingPruner(1, ETA))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), pruner=pruner)
    study.optimize(objective, n_trials=n)
    stamps.append(_clock())
    return _windows(stamps, window)


def _windows(stamps: list[float], window: int) -> list[float]:
    """Milliseconds per trial over consecutive windows of ``window`` trial starts
    (the trainable's own work is a few microseconds per report).  The last stamp,
    taken when the run returned, is left out: closing a run (the paused trials
    are marked finished) is a one-off cost, not a cost per trial."""
    stamps = stamps[:-1]
    out = []
    for i in range(0, len(stamps) - 1, window):
        j = min(i + window, len(stamps) - 1)
        out.append(1000 * (stamps[j] - stamps[i]) / (j - i))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=4000)
    ap.add_argument("--window", type=int, default=500)
    ap.add_argument("--kinds", nargs="*",
                    default=["asha-stopping", "asha-promotion", "hyperband-promotion", "sha-synchronous", "optuna-sha",
                             "median", "optuna-median"])
    ap.add_argument("--tag", default="")
    ap.add_argument("--output-dir", default=str(RESULTS))
    args = ap.parse_args(argv)
    rows = {}
    for kind in args.kinds:
        if kind.startswith("optuna-"):
            try:
                w = run_optuna(kind, args.trials, args.window)
            except ImportError:
                print("optuna is not installed: its row is skipped (pip install 'hypersearch[bench]')")
                continue
        else:
            w = run_hs(kind, args.trials, args.window)
        rows[kind] = w
        print(f"{kind:22s} " + " ".join(f"{v:6.2f}" for v in w) + f"   last/first {w[-1] / w[0]:.2f}", flush=True)
    lines = [
        f"Framework CPU ms per trial in windows of {args.window} trials ({args.trials} trials, max_t={MAX_T}, eta={ETA}, "
        "one worker, in-memory storage; promotion variants checkpoint every report)",
        f"{'scheduler':22s} " + " ".join(f"{f'<{(i + 1) * args.window}':>6s}" for i in range(max(map(len, rows.values()))))
        + "   last/first",
    ]
    for kind, w in rows.items():
        lines.append(f"{kind:22s} " + " ".join(f"{v:6.2f}" for v in w) + f"   {w[-1] / w[0]:10.2f}")
    text = "\n".join(lines)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = "scheduler_scaling" + (f"_{args.tag}" if args.tag else "")
    (out / f"{stem}.txt").write_text(text + "\n")
    (out / f"{stem}.json").write_text(json.dumps({
        "trials": args.trials, "window": args.window, "ms_per_trial": rows,
        "python": platform.python_version(), "machine": platform.machine(),
    }, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
