"""Warm starting from earlier studies against a cold start, with Optuna beside.

Usage::

    python benchmarks/bench_transfer.py                 # 10 seeds, 30 target trials
    python benchmarks/bench_transfer.py --seeds 3 --trials 20

**Tasks.**  Two problem families whose instances differ by a shift of the
optimum ("similar tasks"): ``rastrigin4`` (a 4-D quadratic bowl with a cosine
ripple, on [-5, 5]^4) and ``styblinski6`` (6-D Styblinski-Tang on [-5, 5]^6).
For each seed, two *source* studies (50 trials of hypersearch's GP each) are
run on instances shifted by N(0, 0.4) per coordinate from a base shift, and the
*target* study on a third such instance.  The ``adversarial`` scenario instead
gives a source whose objective is the *negated* target family, so its good
configurations are the target's worst: it shows what the meta-learned weights
save when an earlier study is misleading.

**Variants** (target study, ``--trials`` trials each):

* ``hs-gp cold``: ``GPSampler`` from scratch;
* ``hs-gp enqueue``: ``create_study(warm_start_from=sources)`` with the GP's
  transfer prior off (only the sources' 5 best configurations are queued);
* ``hs-gp transfer``: the same with the transfer prior on (the default);
* ``optuna-tpe cold`` / ``optuna-tpe enqueue``: Optuna's TPE, and Optuna's warm
  start recipe (``enqueue_trial`` of each source's 5 best);
* ``optuna-gp cold``: Optuna's ``GPSampler``.

**Reported**: mean best-so-far regret (best value minus the optimum) after 5,
10, 20 and ``--trials`` trials; trials until the regret first drops to the
median that ``hs-gp cold`` reaches at ``--trials`` trials (the threshold;
``>N`` when never), as a median over seeds and as a ratio to ``hs-gp cold``;
and a one-sided Mann-Whitney U test of each variant's final regret against
``hs-gp cold``.  Results go to ``benchmarks/results/transfer.{json,txt}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results"
VARIANTS = ["hs-gp cold", "hs-gp enqueue", "hs-gp transfer", "optuna-tpe cold", "optuna-tpe enqueue", "optuna-gp cold"]
BASE_SHIFT = {"rastrigin4": np.array([1.0, -1.5, 0.5, 2.0]), "styblinski6": np.array([0.8, -0.6, 0.3, 0.9, -0.4, 0.2])}
DIMS = {"rastrigin4": 4, "styblinski6": 6}
_ST_MIN = -39.16616570377142  # Styblinski-Tang minimum per dimension


def value(problem: str, shift: np.ndarray, x: np.ndarray, negate: bool = False) -> float:
    z = x - shift
    if problem == "rastrigin4":
        v = float(np.sum(z**2) + 3.0 * np.sum(1.0 - np.cos(2.0 * np.pi * z)))
    else:
        v = float(0.5 * np.sum(z**4 - 16 * z**2 + 5 * z) - _ST_MIN * len(z))
    return -v if negate else v


def optimum(problem: str) -> float:
    return 0.0  # both families are shifted so that their minimum is 0 (inside the box)


def _hs_objective(problem, shift, negate=False):
    d = DIMS[problem]

    def f(trial):
        x = np.array([trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(d)])
        return value(problem, shift, x, negate)

    return f


def _shifts(problem: str, seed: int):
    rng = np.random.default_rng(1000 + seed)
    base = BASE_SHIFT[problem]
    d = DIMS[problem]
    # Styblinski-Tang's minimum sits at z = -2.9035 per coordinate: keep it in the box.
    lo, hi = (-2.0, 4.0) if problem == "styblinski6" else (-4.5, 4.5)

    def mk():
        return np.clip(base + rng.normal(0, 0.4, d), lo, hi)

    return [mk(), mk()], mk()


def _sources(problem: str, scenario: str, seed: int):
    import hypersearch as hs

    src_shifts, _ = _shifts(problem, seed)
    specs = [(src_shifts[0], True)] if scenario == "adversarial" else [(s, False) for s in src_shifts]
    studies = []
    for k, (sh, neg) in enumerate(specs):
        s = hs.create_study(sampler=hs.samplers.GPSampler(seed=10_000 + 97 * seed + k))
        s.optimize(_hs_objective(problem, sh, neg), n_trials=50)
        studies.append(s)
    return studies


def _target(problem: str, variant: str, seed: int, sources: list, n_trials: int) -> list[float]:
    import hypersearch as hs

    _, tgt_shift = _shifts(problem, seed)
    if "cold" in variant:
        sources = []
    if variant.startswith("hs-"):
        sampler = hs.samplers.GPSampler(seed=seed, transfer_prior=variant.endswith("transfer"))
        st = hs.create_study(sampler=sampler, warm_start_from=sources)
        st.optimize(_hs_objective(problem, tgt_shift), n_trials=n_trials)
        vals = [t.value for t in st.trials]
    else:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = (
            optuna.samplers.GPSampler(seed=seed) if "gp" in variant else optuna.samplers.TPESampler(seed=seed)
        )
        ost = optuna.create_study(sampler=sampler)
        for s in sources:
            for t in sorted(s.get_trials(["COMPLETE"]), key=lambda t: t.value)[:5]:
                ost.enqueue_trial(dict(t.params))
        ost.optimize(_hs_objective(problem, tgt_shift), n_trials=n_trials)
        vals = [t.value for t in ost.trials]
    best = np.minimum.accumulate(np.array(vals[:n_trials], dtype=float))
    return (best - optimum(problem)).tolist()


def _run(args):
    """Every variant and scenario of one (problem, seed): the sources are shared."""
    problem, seed, n_trials = args
    import logging

    logging.getLogger("hypersearch").setLevel(logging.WARNING)
    out = []
    for scenario in ("similar", "adversarial"):
        sources = _sources(problem, scenario, seed)
        for v in VARIANTS:
            if scenario == "adversarial" and "cold" in v:
                continue
            out.append((problem, scenario, v, seed, _target(problem, v, seed, sources, n_trials)))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=str(RESULTS / "transfer"))
    a = ap.parse_args(argv)
    jobs = [(p, s, a.trials) for p in DIMS for s in range(a.seeds)]
    out: dict = {}
    with ProcessPoolExecutor(a.workers) as pool:
        for rows in pool.map(_run, jobs):
            for p, sc, v, s, r in rows:
                out.setdefault(p, {}).setdefault(sc, {}).setdefault(v, {})[s] = r
    # Cold runs do not depend on the scenario: the adversarial table shows the same ones.
    for p in out:
        for v in VARIANTS:
            if "cold" in v:
                out[p]["adversarial"][v] = out[p]["similar"][v]
    lines = _report(out, a.trials)
    text = "\n".join(lines)
    print(text)
    Path(a.out + ".json").write_text(json.dumps(out))
    Path(a.out + ".txt").write_text(text + "\n")


def _report(out: dict, n: int) -> list[str]:
    from scipy.stats import mannwhitneyu

    lines = []
    at = [k for k in (5, 10, 20, n) if k <= n]
    for p, scen in out.items():
        for sc, res in scen.items():
            cold = np.array([res["hs-gp cold"][s] for s in sorted(res["hs-gp cold"])])
            thr = float(np.median(cold[:, -1]))
            lines.append(f"\n## {p}, {sc} sources  (threshold regret {thr:.3g} = hs-gp cold's median at {n})")
            head = f"{'variant':20s}" + "".join(f"{'@' + str(k):>9s}" for k in at)
            lines.append(head + f"{'trials to thr':>15s}{'ratio':>8s}{'p(<cold)':>10s}")

            def reach(R, thr=thr):
                hits = [int(np.argmax(r <= thr)) + 1 if (r <= thr).any() else n + 1 for r in R]
                return float(np.median(hits))

            base = reach(cold)
            for v in VARIANTS:
                if v not in res:
                    continue
                R = np.array([res[v][s] for s in sorted(res[v])])
                t = reach(R)
                ts = f">{n}" if t > n else f"{t:.0f}"
                pval = mannwhitneyu(R[:, -1], cold[:, -1], alternative="less").pvalue if v != "hs-gp cold" else float("nan")
                lines.append(
                    f"{v:20s}" + "".join(f"{R[:, k - 1].mean():9.3g}" for k in at)
                    + f"{ts:>15s}{t / base:8.2f}{pval:10.3f}"
                )
    return lines


if __name__ == "__main__":
    main()
