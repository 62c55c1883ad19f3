"""AutoML across model families against tuning one family, at equal wall-clock time.

Usage::

    nice -n 10 python benchmarks/bench_automl.py    # 4 data sets x 5 seeds x 4 methods (~10 min)
    python benchmarks/bench_automl.py --quick        # smoke run: 1 seed, 3 s budgets
    python benchmarks/bench_automl.py --methods automl hs-hgb optuna-hgb --time-budget 20

For each bundled data set (digits, breast_cancer, wine: classification, test
accuracy; diabetes: regression, test R^2 and RMSE) and each seed, the data is
split once (75 % train / 25 % test, stratified for classification, seeded).
Every method then gets the same training part, the same wall-clock search budget
``T`` (``--time-budget``, default 8 s) and the same 3-fold cross-validation
(same folds: same seed), and its chosen pipeline, refitted on the whole training
part, is scored once on the test part:

* ``automl``: ``hypersearch.automl.fit`` over all six families (TPE over the
  joint conditional space, data-subset fidelities with ASHA, family defaults
  first);
* ``hs-hgb``, ``hs-rf``, ``hs-svm``: the same machinery restricted to one
  family (``families=[...]``): hypersearch tuning a single family;
* ``optuna-hgb`` (opt-in: ``--methods``): Optuna's TPE (seeded) tuning
  HistGradientBoosting on the same hyperparameter space (``automl.suggest_config``
  works with Optuna trials), with its default configuration enqueued first, plain
  3-fold CV per trial (no pruning), ``timeout=T``.  Optuna cannot stop a
  trial at the deadline, so on digits its first trial alone overruns T severalfold.

Every run is single-threaded (OpenMP/BLAS at one thread; ``--workers`` runs
execute at once, default 2), so methods get the same compute for the same
time.  Reported per data set and method: mean +- std of the test metric over
seeds, the mean CV score and number of trials; ``automl`` against the best
single-family method of that data set (the one with the best mean test score,
picked after the fact, which favours the baseline): the difference of means,
their ratio, wins/ties/losses over seeds, the Wilcoxon signed-rank p-value over
seeds (paired: same split) and the Mann-Whitney U p-value.  With 5 seeds the
smallest two-sided Wilcoxon p-value possible is 0.0625, so per-data-set tests
cannot reach significance at 0.05; the pooled test over all data sets (20
pairs; accuracy and R^2 differences together) can.

Results: ``benchmarks/results/automl.{json,txt}``.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one core per run: runs execute side by side

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = {
    "digits": "classification",
    "breast_cancer": "classification",
    "wine": "classification",
    "diabetes": "regression",
}
SINGLE = ("hs-hgb", "hs-rf", "hs-svm")
METHODS = ("automl", *SINGLE, "optuna-hgb")
#: optuna-hgb is opt-in (--methods): on digits its first trial alone overruns T several times.
DEFAULT_METHODS = ("automl", *SINGLE)


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    logging.getLogger("hypersearch").setLevel(logging.ERROR)
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
    except ImportError:  # pragma: no cover
        pass


def load(name: str):
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def split(name: str, seed: int):
    from sklearn.model_selection import train_test_split

    X, y = load(name)
    strat = y if DATASETS[name] == "classification" else None
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=strat)


def test_scores(task: str, model, X_te, y_te) -> dict[str, float]:
    pred = model.predict(X_te)
    if task == "classification":
        return {"score": float(np.mean(pred == y_te))}
    from sklearn.metrics import r2_score

    return {
        "score": float(r2_score(y_te, pred)),
        "rmse": float(np.sqrt(np.mean((pred - y_te) ** 2))),
    }


def run_hypersearch(name: str, seed: int, method: str, budget: float) -> dict:
    from hypersearch import automl

    task = DATASETS[name]
    X_tr, X_te, y_tr, y_te = split(name, seed)
    families = None if method == "automl" else [method.split("-", 1)[1]]
    t0 = time.monotonic()
    res = automl.fit(X_tr, y_tr, task=task, time_budget=budget, seed=seed, families=families)
    return {
        "cv_score": res.best_score,
        "best_family": res.best_family,
        "trials": res.n_trials,
        "family_scores": res.family_scores,
        "wall_s": time.monotonic() - t0,
        **test_scores(task, res.best_pipeline, X_te, y_te),
    }


def run_optuna(name: str, seed: int, method: str, budget: float) -> dict:
    import optuna
    from sklearn.model_selection import KFold, StratifiedKFold

    from hypersearch import automl

    task = DATASETS[name]
    X_tr, X_te, y_tr, y_te = split(name, seed)
    t0 = time.monotonic()
    ctx = automl.TaskContext(
        task,
        n_features=X_tr.shape[1],
        n_classes=len(np.unique(y_tr)) if task == "classification" else 0,
        random_state=seed,
    )
    scorer = "accuracy" if task == "classification" else "r2"
    folds_cls = StratifiedKFold if task == "classification" else KFold
    folds = list(folds_cls(n_splits=3, shuffle=True, random_state=seed).split(X_tr, y_tr))
    from sklearn.metrics import get_scorer

    score_fn = get_scorer(scorer)

    def objective(trial) -> float:
        params = automl.suggest_config(trial, ctx, ["hgb"])
        vals = []
        for tr, va in folds:
            pipe = automl.build_pipeline(params, ctx).fit(X_tr[tr], y_tr[tr])
            vals.append(score_fn(pipe, X_tr[va], y_tr[va]))
        return float(np.mean(vals))

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(automl.default_configs(ctx, ["hgb"])[0])
    study.optimize(objective, timeout=budget)
    best = automl.build_pipeline(study.best_params, ctx).fit(X_tr, y_tr)
    return {
        "cv_score": study.best_value,
        "best_family": "hgb",
        "trials": {"COMPLETE": len(study.trials)},
        "family_scores": {"hgb": study.best_value},
        "wall_s": time.monotonic() - t0,
        **test_scores(task, best, X_te, y_te),
    }


def job(name: str, seed: int, method: str, budget: float) -> dict:
    _quiet()
    fn = run_optuna if method.startswith("optuna") else run_hypersearch
    out = fn(name, seed, method, budget)
    return {"dataset": name, "seed": seed, "method": method, **out}


# -- statistics ----------------------------------------------------------------------------


def _wilcoxon(a: list[float], b: list[float]) -> float | None:
    from scipy import stats

    d = np.asarray(a) - np.asarray(b)
    if len(d) < 2 or np.allclose(d, 0):
        return 1.0 if len(d) >= 2 else None
    try:
        return float(stats.wilcoxon(a, b, zero_method="zsplit").pvalue)
    except ValueError:
        return None


def _mwu(a: list[float], b: list[float]) -> float | None:
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return None
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def _paired(a: dict, b: dict) -> tuple[list[float], list[float]]:
    common = sorted(set(a["seeds"]) & set(b["seeds"]))
    return (
        [a["scores"][a["seeds"].index(s)] for s in common],
        [b["scores"][b["seeds"].index(s)] for s in common],
    )


def _compare(sa: list[float], sb: list[float], unpaired_test: bool = True) -> dict:
    """automl (``sa``) against another method (``sb``), paired by seed.  The
    Mann-Whitney test is skipped for pools of several data sets (meaningless there)."""
    d = np.asarray(sa) - np.asarray(sb)
    mb = float(np.mean(sb))
    return {
        "pairs": len(d),
        "difference": round(float(d.mean()), 12) + 0.0,  # + 0.0: no "-0.0000"
        "ratio": float(np.mean(sa)) / mb if mb else None,
        "wins_ties_losses": [int((d > 0).sum()), int((d == 0).sum()), int((d < 0).sum())],
        "wilcoxon_p": _wilcoxon(sa, sb),
        "mannwhitney_p": _mwu(sa, sb) if unpaired_test else None,
    }


def summarise(runs: list[dict]) -> dict:
    """Per data set: each method's statistics and automl's comparison with every
    other method and with the best single family; pooled comparisons over data sets."""
    out: dict = {"datasets": {}, "pooled": {}}
    pooled: dict[str, tuple[list[float], list[float]]] = {}
    for name in DATASETS:
        rows = [r for r in runs if r["dataset"] == name]
        if not rows:
            continue
        methods = {}
        for m in METHODS:
            rs = sorted((r for r in rows if r["method"] == m), key=lambda r: r["seed"])
            if not rs:
                continue
            s = [r["score"] for r in rs]
            entry = {
                "seeds": [r["seed"] for r in rs],
                "scores": s,
                "mean": float(np.mean(s)),
                "std": float(np.std(s, ddof=1)) if len(s) > 1 else 0.0,
                "cv_mean": float(np.mean([r["cv_score"] for r in rs])),
                "trials_mean": float(np.mean([sum(r["trials"].values()) for r in rs])),
                "wall_mean": float(np.mean([r["wall_s"] for r in rs])),
                "families": {
                    f: sum(r["best_family"] == f for r in rs)
                    for f in {r["best_family"] for r in rs}
                },
            }
            if "rmse" in rs[0]:
                rm = [r["rmse"] for r in rs]
                entry["rmse_mean"] = float(np.mean(rm))
                entry["rmse_std"] = float(np.std(rm, ddof=1)) if len(rm) > 1 else 0.0
            methods[m] = entry
        vs: dict[str, dict] = {}
        best = None
        if "automl" in methods:
            for m in methods:
                if m == "automl":
                    continue
                sa, sb = _paired(methods["automl"], methods[m])
                vs[m] = _compare(sa, sb)
                pa, pb = pooled.setdefault(m, ([], []))
                pa += sa
                pb += sb
            singles = [m for m in SINGLE if m in methods]
            if singles:
                # best mean test score; ties go to the smaller spread
                best = max(singles, key=lambda m: (methods[m]["mean"], -methods[m]["std"]))
                sa, sb = _paired(methods["automl"], methods[best])
                pa, pb = pooled.setdefault("best single family", ([], []))
                pa += sa
                pb += sb
        out["datasets"][name] = {
            "task": DATASETS[name],
            "methods": methods,
            "best_single": best,
            "automl_vs": vs,
        }
    out["pooled"] = {m: _compare(a, b, unpaired_test=False) for m, (a, b) in pooled.items()}
    return out


def _fmt_p(p: float | None) -> str:
    return "-" if p is None or (isinstance(p, float) and math.isnan(p)) else f"{p:.3g}"


def render(summary: dict, meta: dict) -> str:
    lines = [
        "AutoML vs one tuned family at equal wall-clock time",
        f"budget T = {meta['time_budget']} s per search, 3-fold CV, seeds {meta['seeds']}, "
        f"{meta['workers']} runs at a time, single-threaded runs; Python {meta['python']}, "
        f"scikit-learn {meta['sklearn']}, optuna {meta['optuna']}",
        _runs_line(meta),
        "test metric: accuracy (classification) or R^2 (diabetes), mean +- std over seeds; "
        "cv: mean CV score of the chosen configuration",
        "wall s: mean wall time of a run (search + refit); a run may overrun T by the "
        "cross-validation of its first configuration, which is never cut short",
        "automl - X: mean paired difference of test scores, wins/ties/losses of automl over seeds, "
        "Wilcoxon signed-rank p (paired), Mann-Whitney p",
        "",
    ]
    for name, d in summary["datasets"].items():
        metric = "accuracy" if d["task"] == "classification" else "R^2"
        lines.append(f"## {name} ({d['task']}, test {metric})")
        head = f"{'method':<12} {'test':>16} {'cv':>8} {'trials':>7} {'wall s':>7}"
        if d["task"] == "regression":
            head += f" {'test RMSE':>16}"
        lines.append(head + "  chosen families")
        for m, e in d["methods"].items():
            row = (
                f"{m:<12} {e['mean']:>8.4f} +- {e['std']:<5.4f} {e['cv_mean']:>8.4f} "
                f"{e['trials_mean']:>7.1f} {e['wall_mean']:>7.1f}"
            )
            if "rmse_mean" in e:
                row += f" {e['rmse_mean']:>8.2f} +- {e['rmse_std']:<5.2f}"
            fams = ", ".join(
                f"{f} x{n}" for f, n in sorted(e["families"].items(), key=lambda kv: -kv[1])
            )
            lines.append(row + "  " + fams)
        for m, c in d["automl_vs"].items():
            tag = "  <- best single family" if m == d["best_single"] else ""
            lines.append(_fmt_compare(f"automl - {m}", c) + tag)
        lines.append("")
    if summary["pooled"]:
        lines.append("## pooled over data sets (accuracy and R^2 differences together)")
        for m, c in summary["pooled"].items():
            lines.append(_fmt_compare(f"automl - {m}", c))
    return "\n".join(lines) + "\n"


def _runs_line(meta: dict) -> str:
    line = f"runs: {meta['runs_done']} ({meta['runs_new']} new in {meta['total_s']:.0f} s"
    if meta.get("merged_from"):
        old = meta["earlier_meta"] or {}
        took = old.get("total_s", float("nan"))
        line += (
            f"; {meta['runs_done'] - meta['runs_new']} from an earlier invocation "
            f"({Path(meta['merged_from']).name}), which took {took:.0f} s"
        )
    return line + ")"


def _fmt_compare(label: str, c: dict) -> str:
    w, t, lo = c["wins_ties_losses"]
    ratio = f"{c['ratio']:.4f}" if c["ratio"] is not None else "-"
    return (
        f"{label:<36} {c['difference']:+.4f} (ratio {ratio}, {c['pairs']} pairs) "
        f"W/T/L {w}/{t}/{lo}  Wilcoxon p={_fmt_p(c['wilcoxon_p'])}  "
        f"MWU p={_fmt_p(c['mannwhitney_p'])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--time-budget", type=float, default=8.0)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument(
        "--methods", nargs="+", default=list(DEFAULT_METHODS), choices=list(METHODS)
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--max-wall",
        type=float,
        default=690.0,
        help="seconds after which runs not yet started are cancelled (reported as missing)",
    )
    parser.add_argument("--quick", action="store_true", help="1 seed, 3 s budgets, no result files")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="recompute the summary and text of the stored results (no runs)",
    )
    parser.add_argument(
        "--merge",
        default=None,
        help="JSON results of an earlier run: its runs are kept and only missing ones are run "
        "(e.g. add --methods optuna-hgb to a finished run)",
    )
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.time_budget = 1, 3.0
    _quiet()
    if args.render_only:
        stem = "automl" + (f"_{args.tag}" if args.tag else "")
        stored = json.loads((RESULTS / f"{stem}.json").read_text())
        stored["summary"] = summarise(stored["runs"])
        text = render(stored["summary"], stored["meta"])
        (RESULTS / f"{stem}.json").write_text(json.dumps(stored, indent=1))
        (RESULTS / f"{stem}.txt").write_text(text)
        print(text)
        return
    seeds = list(range(args.seeds))
    runs: list[dict] = []
    earlier_meta = None
    if args.merge:
        stored = json.loads(Path(args.merge).read_text())
        runs = list(stored["runs"])
        earlier_meta = stored["meta"]
        if earlier_meta["time_budget"] != args.time_budget:
            raise SystemExit(
                f"--merge: {args.merge} used T = {earlier_meta['time_budget']} s, "
                f"not {args.time_budget} s"
            )
    have = {(r["dataset"], r["seed"], r["method"]) for r in runs}
    jobs = [
        (d, s, m)
        for s in seeds
        for d in args.datasets
        for m in args.methods
        if (d, s, m) not in have
    ]
    start = time.monotonic()
    n_before = len(runs)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futs = {pool.submit(job, d, s, m, args.time_budget): (d, s, m) for d, s, m in jobs}
        cancelled = False
        for i, f in enumerate(as_completed(futs)):
            d, s, m = futs[f]
            if not cancelled and time.monotonic() - start > args.max_wall:
                cancelled = True
                n = sum(g.cancel() for g in futs)
                print(f"--max-wall {args.max_wall:.0f} s reached: {n} runs not started", flush=True)
            if f.cancelled():
                continue
            try:
                r = f.result()
            except Exception as e:  # a crashed run is reported, not hidden
                print(
                    f"[{i + 1}/{len(jobs)}] {d} seed {s} {m}: ERROR {type(e).__name__}: {e}",
                    flush=True,
                )
                continue
            runs.append(r)
            print(
                f"[{i + 1}/{len(jobs)}] {d:<13} seed {s} {m:<10} test {r['score']:.4f} "
                f"cv {r['cv_score']:.4f} "
                f"{r['best_family']:<6} {sum(r['trials'].values()):>4} trials {r['wall_s']:.1f} s "
                f"({time.monotonic() - start:.0f} s)",
                flush=True,
            )
    import optuna
    import sklearn

    meta = {
        "time_budget": args.time_budget,
        "seeds": seeds,
        "workers": args.workers,
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "optuna": optuna.__version__,
        "cpus": os.cpu_count(),
        "total_s": time.monotonic() - start,
        "runs_planned": len(jobs),
        "runs_new": len(runs) - n_before,
        "runs_done": len(runs),
        "methods": sorted({r["method"] for r in runs}, key=METHODS.index),
        "datasets": args.datasets,
        "merged_from": args.merge,
        "earlier_meta": earlier_meta,
    }
    summary = summarise(runs)
    text = render(summary, meta)
    print("\n" + text)
    if args.quick:
        return
    RESULTS.mkdir(exist_ok=True)
    stem = "automl" + (f"_{args.tag}" if args.tag else "")
    (RESULTS / f"{stem}.json").write_text(
        json.dumps({"meta": meta, "summary": summary, "runs": runs}, indent=1)
    )
    (RESULTS / f"{stem}.txt").write_text(text)
    print(f"wrote {RESULTS / (stem + '.txt')} and .json")


if __name__ == "__main__":
    main()
