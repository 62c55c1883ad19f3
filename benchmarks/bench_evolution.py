"""Evolutionary and RL samplers against hypersearch's model-based samplers and Optuna.

Usage::

    python benchmarks/bench_evolution.py                          # both parts, the sizes below
    python benchmarks/bench_evolution.py --parts single --seeds 3
    python benchmarks/bench_evolution.py --parts multi --zdt-dim 10
    python benchmarks/bench_evolution.py --samplers hs-cmaes optuna-cmaes hs-random optuna-random

**Single-objective part.**  Every problem of ``problems.py`` of kind
``synthetic`` and ``mixed`` (the suite of ``bench_samplers.py``), plus
``nas_cell`` (an architecture-like categorical space defined below, shown in the
tables but not in the suite mean), each sampler,
``--seeds`` seeds, one study of ``max(--budgets)`` trials per (problem, sampler,
seed) in a worker process.  Reported per problem and budget, as in
``bench_samplers.py``:

* **normalised regret** = (best found - optimum) / (median random-search best -
  optimum); 0 is the optimum, 1 is as good as the median random search at the
  same budget (random search = hs-random and optuna-random pooled).  Mean over
  seeds; mean over the suite's problems in the MEAN row.
* two-sided Mann-Whitney U tests per problem on the best values ("worse" /
  "better" when p < 0.05): hs-cmaes against optuna-cmaes, hs-tpe against
  optuna-tpe.
* **overhead** per trial: wall time of optimize minus time inside the objective
  (suggest calls count as framework time), median over seeds.

Every sampler runs with its library's defaults and a seed.  Optuna's
``CmaEsSampler`` (defaults: no restarts, no margin) searches only the numeric
parameters present in every completed trial; categorical and conditional
parameters go to its independent sampler (random search).  It is used as it
is.  ``hs-default`` (the AutoSampler: a Gaussian process up to 200 completed
trials) is run for ``--default-trials`` trials only (default 50): at 200 trials
its GP costs more than every other sampler together (measure with
``--default-trials 200``); its cells at larger budgets are ``n/a``.

**Multi-objective part.**  ZDT1 and ZDT2 (``--zdt-dim`` variables, 30 is the
standard), DTLZ2 (three objectives, seven variables; ``--mo-seeds`` seeds) and
``rf_breast_cancer``: a random forest on scikit-learn's bundled
breast-cancer data with fixed 3-fold stratified CV folds, parameters
``n_estimators`` (int 1-16, log), ``max_depth`` (int 1-8), ``max_features``
(int 1-15 features per split, of 30) and ``min_samples_leaf`` (categorical 1,
2, 4, 8, 16), objectives (CV error, n_estimators x max_depth), both minimised.
Its values come from a table of every configuration built at the start of the
run (see ``rf_prefix_errors``: exactly the errors a direct fit gives, which
``--check-rf-table`` entries re-check), so all its studies together cost one
pass over the grid.  Reported per budget (``--mo-budgets``): the exact
hypervolume (2-D, or 3-D for DTLZ2) of the trials so far with respect to a fixed reference point
(``MO_PROBLEMS``; printed with each table, with the hypervolume of the true
Pareto front for ZDT), mean +- std over seeds, and two-sided Mann-Whitney U
tests of hs-nsga2 against optuna-nsga2 and hs-tpe against optuna-tpe (MOTPE on
both sides).

Results (the summary, every run's timings and best-so-far or hypervolume curve,
the configuration, package versions, load average and wall time) are written to
``--output`` (default ``benchmarks/results/evolution.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from problems import PROBLEMS, Problem  # noqa: E402

SO_SAMPLERS = [
    "hs-cmaes",
    "hs-de",
    "hs-ga",
    "hs-pso",
    "hs-rl",
    "hs-tpe",
    "hs-default",
    "hs-random",
    "optuna-cmaes",
    "optuna-tpe",
    "optuna-random",
]
MO_SAMPLERS = ["hs-nsga2", "hs-tpe", "hs-random", "optuna-nsga2", "optuna-tpe", "optuna-random"]
# Mann-Whitney comparisons: JSON key -> (hypersearch, Optuna) sampler
SO_TESTS = {"hs_cmaes_vs_optuna_cmaes": ("hs-cmaes", "optuna-cmaes"), "hs_tpe_vs_optuna_tpe": ("hs-tpe", "optuna-tpe")}
MO_TESTS = {"hs_nsga2_vs_optuna_nsga2": ("hs-nsga2", "optuna-nsga2"), "hs_tpe_vs_optuna_tpe": ("hs-tpe", "optuna-tpe")}


# -- an architecture-like space (single-objective, in addition to the suite) --------------------

# A NAS-Bench-201-like cell: 4 nodes, 6 edges, each edge one of 5 operations, the cell stacked
# 1-5 times at one of 3 widths.  The "validation error" is a fixed random surrogate (seeded
# tables): per-edge operation effects, pairwise interactions between all edges, a capacity
# term in width and depth whose depth part pays off only with a skip connection, and 0.9
# (chance) for a cell with no path from input to output.  Cheap, so the optimum is known by
# enumerating all 234,375 architectures.
NAS_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NAS_OPS = ("none", "skip", "conv1x1", "conv3x3", "avgpool")
NAS_WIDTHS = (16, 32, 64)
NAS_CELLS = (1, 2, 3, 4, 5)


@cache
def _nas_tables() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(201)
    op_mean = np.array([0.03, 0.015, 0.0, -0.02, 0.01])
    unary = op_mean + rng.normal(0.0, 0.01, size=(len(NAS_EDGES), len(NAS_OPS)))
    pair = rng.normal(0.0, 0.006, size=(len(NAS_EDGES), len(NAS_EDGES), len(NAS_OPS), len(NAS_OPS)))
    return unary, pair


def _nas_error(ops: np.ndarray, width: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Vectorised surrogate error; ``ops`` (n, 6) operation indices, ``width`` and ``cells``
    (n,) indices into NAS_WIDTHS and NAS_CELLS."""
    unary, pair = _nas_tables()
    n_e = len(NAS_EDGES)
    err = 0.20 + sum(unary[e, ops[:, e]] for e in range(n_e))
    err = err + sum(pair[e, f, ops[:, e], ops[:, f]] for e in range(n_e) for f in range(e + 1, n_e))
    has_skip = (ops == NAS_OPS.index("skip")).any(axis=1)
    depth = np.asarray(cells, dtype=float)  # 0..4 extra cells
    capacity = np.asarray(width, dtype=float) + 0.5 * depth
    err = err - 0.012 * capacity + 0.004 * capacity**2 + np.where(has_skip, -0.01, 0.008) * depth
    live = ops != NAS_OPS.index("none")
    e = {edge: live[:, i] for i, edge in enumerate(NAS_EDGES)}
    reach1 = e[(0, 1)]
    reach2 = e[(0, 2)] | (reach1 & e[(1, 2)])
    connected = e[(0, 3)] | (reach1 & e[(1, 3)]) | (reach2 & e[(2, 3)])
    return np.where(connected, err, 0.9)


def nas_cell(trial) -> float:
    ops = [NAS_OPS.index(trial.suggest_categorical(f"edge_{a}{b}", list(NAS_OPS))) for a, b in NAS_EDGES]
    width = NAS_WIDTHS.index(trial.suggest_categorical("width", list(NAS_WIDTHS)))
    cells = trial.suggest_int("cells", NAS_CELLS[0], NAS_CELLS[-1]) - NAS_CELLS[0]
    return float(_nas_error(np.array([ops]), np.array([width]), np.array([cells]))[0])


def _nas_optimum() -> float:
    ops = np.indices((len(NAS_OPS),) * len(NAS_EDGES)).reshape(len(NAS_EDGES), -1).T
    best = math.inf
    for w in range(len(NAS_WIDTHS)):
        for c in range(len(NAS_CELLS)):
            n = len(ops)
            best = min(best, float(_nas_error(ops, np.full(n, w), np.full(n, c)).min()))
    return best


# Problems of this benchmark outside problems.py: reported in the tables, not in the suite mean.
EXTRA_PROBLEMS = {"nas_cell": Problem("nas_cell", "architecture", nas_cell, _nas_optimum(), 8)}
SO_PROBLEMS = {**PROBLEMS, **EXTRA_PROBLEMS}


# -- multi-objective problems ------------------------------------------------------------------


def _dtlz2(trial) -> tuple[float, float, float]:
    """DTLZ2 with three objectives and seven variables (k = 5): the Pareto front is
    the positive octant of the unit sphere, reached when x2..x6 are 0.5."""
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(7)])
    g = float(np.sum((x[2:] - 0.5) ** 2))
    c, s_ = np.cos(x[:2] * np.pi / 2), np.sin(x[:2] * np.pi / 2)
    return (1 + g) * c[0] * c[1], (1 + g) * c[0] * s_[1], (1 + g) * s_[0]


def _zdt(trial, dim: int, square: bool) -> tuple[float, float]:
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(dim)])
    f1 = float(x[0])
    g = 1.0 + 9.0 * float(np.sum(x[1:])) / (dim - 1)
    f2 = g * (1.0 - (f1 / g) ** 2) if square else g * (1.0 - math.sqrt(f1 / g))
    return f1, f2


@cache
def _breast_cancer():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


@cache
def _folds():
    from sklearn.model_selection import StratifiedKFold

    X, y = _breast_cancer()
    return list(StratifiedKFold(n_splits=3, shuffle=True, random_state=0).split(X, y))


# The random-forest problem is evaluated from a table built once per invocation (in the worker
# pool, before the studies start): every (max_depth, max_features, min_samples_leaf) of the grid
# below, a forest of RF_TREES trees per fold, and the CV error of its first k trees for every
# k.  With random_state fixed, scikit-learn's forest of k trees *is* that prefix (tree i's seed is
# the i-th draw of the forest's random state), so the table holds exactly the error that fitting
# ``RandomForestClassifier(n_estimators=k, ...)`` on the same folds gives (checked by
# ``--check-rf-table``), at a fraction of the cost of fitting in every trial.
RF_TREES = 16
RF_DEPTHS = range(1, 9)
RF_FEATURES = range(1, 16)  # features drawn per split (of 30)
RF_LEAVES = (1, 2, 4, 8, 16)  # min_samples_leaf


def _rf_model(n_estimators: int, max_depth: int, max_features: int, min_samples_leaf: int):
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=n_estimators,
        max_depth=max_depth,
        max_features=max_features,
        min_samples_leaf=min_samples_leaf,
        random_state=0,
        n_jobs=1,
    )


def rf_prefix_errors(max_depth: int, max_features: int, min_samples_leaf: int) -> list[float]:
    """3-fold CV error of the forests of 1..RF_TREES trees with these settings."""
    X, y = _breast_cancer()
    wrong = np.zeros(RF_TREES)
    for train, valid in _folds():
        m = _rf_model(RF_TREES, max_depth, max_features, min_samples_leaf).fit(X[train], y[train])
        xv = X[valid].astype(np.float32)  # what the forest's own predict does
        proba = np.cumsum([t.predict_proba(xv) for t in m.estimators_], axis=0)  # (trees, rows, classes)
        wrong += (m.classes_[proba.argmax(axis=2)] != y[valid]).mean(axis=1)
    return (wrong / len(_folds())).tolist()


def rf_direct_error(n_estimators: int, max_depth: int, max_features: int, min_samples_leaf: int) -> float:
    """The same error by fitting the forest of n_estimators trees on each fold."""
    X, y = _breast_cancer()
    errors = []
    for train, valid in _folds():
        m = _rf_model(n_estimators, max_depth, max_features, min_samples_leaf).fit(X[train], y[train])
        errors.append(float(np.mean(m.predict(X[valid]) != y[valid])))
    return float(np.mean(errors))


def _rf_key(max_depth: int, max_features: int, min_samples_leaf: int) -> str:
    return f"{max_depth},{max_features},{min_samples_leaf}"


@cache
def _load_rf_table(path: str) -> dict[str, list[float]]:
    return json.loads(Path(path).read_text())


_RF_TABLE_PATH: str | None = None  # set in the worker by run_one


def rf_breast_cancer(trial) -> tuple[float, float]:
    """(3-fold CV error, n_estimators x max_depth) of a random forest on breast_cancer."""
    n_estimators = trial.suggest_int("n_estimators", 1, RF_TREES, log=True)
    max_depth = trial.suggest_int("max_depth", RF_DEPTHS[0], RF_DEPTHS[-1])
    max_features = trial.suggest_int("max_features", RF_FEATURES[0], RF_FEATURES[-1])
    min_samples_leaf = trial.suggest_categorical("min_samples_leaf", list(RF_LEAVES))
    if _RF_TABLE_PATH is None:
        error = rf_direct_error(n_estimators, max_depth, max_features, min_samples_leaf)
    else:
        table = _load_rf_table(_RF_TABLE_PATH)
        error = table[_rf_key(max_depth, max_features, min_samples_leaf)][n_estimators - 1]
    return error, float(n_estimators * max_depth)


@dataclass(frozen=True)
class MOProblem:
    name: str
    objective: Callable  # fn(trial, dim) -> (f1, f2)
    reference: tuple[float, ...]
    best_hv: float | None  # hypervolume of the true Pareto front w.r.t. the reference (None: unknown)
    dim_dependent: bool
    n_objectives: int = 2


def _zdt_best_hv(ref: tuple[float, float], square: bool) -> float:
    # front f2 = 1 - f1**p for f1 in [0, 1] (p = 1/2 for ZDT1, 2 for ZDT2), then f2 = 0 up to ref[0]
    area_under_front = 2.0 / 3.0 if square else 1.0 / 3.0
    return ref[0] * ref[1] - area_under_front


# Reference points: ZDT f1 is in [0, 1] and f2 <= g <= 10, so every trial weakly dominates
# (1.1, 10).  The forest's size is at most 16 x 8 = 128; its error ranges from about 0.035 to
# 0.15, and the reference error 0.1 counts only forests better than a typical single stump.
MO_PROBLEMS = {
    "zdt1": MOProblem("zdt1", lambda t, d: _zdt(t, d, False), (1.1, 10.0), _zdt_best_hv((1.1, 10.0), False), True),
    "zdt2": MOProblem("zdt2", lambda t, d: _zdt(t, d, True), (1.1, 10.0), _zdt_best_hv((1.1, 10.0), True), True),
    "rf_breast_cancer": MOProblem("rf_breast_cancer", lambda t, d: rf_breast_cancer(t), (0.1, 130.0), None, False),
    # DTLZ2's objectives lie in [0, 1 + g], g <= 1.25; the front's octant of the unit sphere
    # leaves 1.5**3 - pi/6 of the reference box dominated
    "dtlz2": MOProblem("dtlz2", lambda t, d: _dtlz2(t), (1.5, 1.5, 1.5), 1.5**3 - math.pi / 6, False, 3),
}


def hypervolume_of(points, ref: tuple[float, ...]) -> float:
    """Exact hypervolume of ``points`` (all objectives minimised) bounded by ``ref``:
    the 2-D sweep below, or hypersearch's exact 3-D algorithm."""
    if len(ref) == 2:
        return hypervolume_2d(points, ref)  # type: ignore[arg-type]
    from hypersearch.multiobjective import hypervolume

    pts = [p for p in points if all(a < r for a, r in zip(p, ref))]
    return float(hypervolume(pts, list(ref))) if pts else 0.0


def hypervolume_2d(points, ref: tuple[float, float]) -> float:
    """Exact hypervolume (area) dominated by ``points`` (both objectives minimised)
    and bounded by ``ref``; points not strictly better than ``ref`` in both add nothing."""
    pts = sorted((float(a), float(b)) for a, b in points if a < ref[0] and b < ref[1])
    hv, low = 0.0, ref[1]
    for a, b in pts:  # by f1 ascending: each point that lowers the running min of f2 adds a strip
        if b < low:
            hv += (ref[0] - a) * (low - b)
            low = b
    return hv


# -- running one study -------------------------------------------------------------------------


class _Timed:
    """Wraps an objective to time the user's own work in it: the objective's time
    minus the time of its suggest calls (framework work, and where Optuna does its
    independent sampling).  The same definition as bench_samplers.py."""

    def __init__(self, fn):
        self.fn = fn
        self.inside = 0.0
        self.suggest = 0.0
        self.values: list = []

    def __call__(self, trial):
        proxy = _TrialProxy(trial, self)
        t0 = time.perf_counter()
        v = self.fn(proxy)
        self.inside += time.perf_counter() - t0
        self.values.append([float(x) for x in v] if isinstance(v, tuple) else float(v))
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


def _make_sampler(name: str, seed: int, multi: bool):
    if name.startswith("hs-"):
        import hypersearch as hs

        return {
            "hs-cmaes": lambda: hs.samplers.CmaEsSampler(seed=seed),
            "hs-de": lambda: hs.samplers.DESampler(seed=seed),
            "hs-ga": lambda: hs.samplers.GASampler(seed=seed),
            "hs-pso": lambda: hs.samplers.PSOSampler(seed=seed),
            "hs-rl": lambda: hs.samplers.RLSampler(seed=seed),
            "hs-tpe": lambda: hs.samplers.TPESampler(seed=seed),
            "hs-default": lambda: None,  # create_study(seed=...) builds the AutoSampler
            "hs-random": lambda: hs.samplers.RandomSampler(seed=seed),
            "hs-nsga2": lambda: hs.samplers.NSGA2Sampler(seed=seed),
        }[name]()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return {
        "optuna-cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False),
        "optuna-tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "optuna-random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "optuna-nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
    }[name]()


def _make_study(name: str, seed: int, multi: bool, n_objectives: int = 2):
    directions = ["minimize"] * (n_objectives if multi else 1)
    sampler = _make_sampler(name, seed, multi)
    if name.startswith("hs-"):
        import hypersearch as hs

        if sampler is None:
            return hs.create_study(directions=directions, seed=seed)
        return hs.create_study(directions=directions, sampler=sampler)
    import optuna

    return optuna.create_study(directions=directions, sampler=sampler)


def run_one(
    part: str, problem: str, sampler: str, seed: int, n_trials: int, dim: int, rf_table: str | None = None
) -> dict:
    """One study; returns the value(s) of every trial and the timing split."""
    import warnings

    global _RF_TABLE_PATH
    _RF_TABLE_PATH = rf_table
    warnings.filterwarnings("ignore")
    multi = part == "multi"
    fn = (lambda t: MO_PROBLEMS[problem].objective(t, dim)) if multi else SO_PROBLEMS[problem].objective
    obj = _Timed(fn)
    study = _make_study(sampler, seed, multi, MO_PROBLEMS[problem].n_objectives if multi else 1)
    t0 = time.perf_counter()
    if sampler.startswith("hs-"):
        study.optimize(obj, n_trials=n_trials, show_progress_bar=False)
    else:
        study.optimize(obj, n_trials=n_trials)
    total = time.perf_counter() - t0
    return {
        "part": part,
        "problem": problem,
        "sampler": sampler,
        "seed": seed,
        "values": obj.values,
        "total_s": total,
        "objective_s": obj.inside,
        "overhead_ms": 1000 * (total - obj.inside + obj.suggest) / max(len(obj.values), 1),
    }


def _available(samplers: list[str], multi: bool) -> tuple[list[str], list[str]]:
    ok, notes = [], []
    for s in samplers:
        try:
            _make_study(s, 0, multi)
            ok.append(s)
        except Exception as e:  # missing optional package
            notes.append(f"{s} skipped ({'multi' if multi else 'single'}): {type(e).__name__}: {e}")
    return ok, notes


# -- summaries ---------------------------------------------------------------------------------


def _compare(vals: dict, x: str, y: str, mannwhitneyu, higher_is_better: bool) -> dict | None:
    """Two-sided Mann-Whitney U test of sampler x's values against y's (None when
    either did not run, has under 3 seeds, or all values are equal)."""
    if x not in vals or y not in vals:
        return None
    a, c = vals[x], vals[y]
    if len(a) < 3 or len(c) < 3 or (np.allclose(a, a[0]) and np.allclose(c, a[0])):
        return None
    p = float(mannwhitneyu(a, c, alternative="two-sided").pvalue)
    verdict = "same"
    if p < 0.05:
        better = np.median(a) > np.median(c) if higher_is_better else np.median(a) < np.median(c)
        verdict = "better" if better else "worse"
    return {"p": p, "verdict": verdict}


def summarise_single(runs: list[dict], budgets: list[int]) -> dict:
    from scipy.stats import mannwhitneyu

    out: dict = {}
    by_problem: dict[str, list[dict]] = {}
    for r in runs:
        by_problem.setdefault(r["problem"], []).append(r)
    for prob in [p for p in SO_PROBLEMS if p in by_problem]:
        rs = by_problem[prob]
        ref = SO_PROBLEMS[prob].optimum
        entry: dict = {"reference": ref, "budgets": {}}
        for b in budgets:
            best: dict[str, list[float]] = {}
            for r in rs:
                if len(r["values"]) >= b:  # hs-default may stop early (--default-trials)
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
            e = {"random_median": med, "normalised_regret": regret, "best_values": best}
            for key, (x, y) in SO_TESTS.items():
                e[key] = _compare(best, x, y, mannwhitneyu, higher_is_better=False)
            entry["budgets"][str(b)] = e
        overhead: dict[str, list[float]] = {}
        for r in rs:
            overhead.setdefault(r["sampler"], []).append(r["overhead_ms"])
        entry["overhead_ms"] = {s: float(np.median(v)) for s, v in overhead.items()}
        out[prob] = entry
    return out


def summarise_multi(runs: list[dict], budgets: list[int]) -> dict:
    from scipy.stats import mannwhitneyu

    out: dict = {}
    by_problem: dict[str, list[dict]] = {}
    for r in runs:
        by_problem.setdefault(r["problem"], []).append(r)
    for prob in [p for p in MO_PROBLEMS if p in by_problem]:
        rs = by_problem[prob]
        mp = MO_PROBLEMS[prob]
        entry: dict = {"reference_point": list(mp.reference), "best_possible_hv": mp.best_hv, "budgets": {}}
        for b in budgets:
            hv: dict[str, list[float]] = {}
            for r in rs:
                hv.setdefault(r["sampler"], []).append(hypervolume_of(r["values"][:b], mp.reference))
            e = {
                "hypervolume": hv,
                "mean": {s: float(np.mean(v)) for s, v in hv.items()},
                "std": {s: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for s, v in hv.items()},
            }
            for key, (x, y) in MO_TESTS.items():
                e[key] = _compare(hv, x, y, mannwhitneyu, higher_is_better=True)
            entry["budgets"][str(b)] = e
        overhead: dict[str, list[float]] = {}
        for r in rs:
            overhead.setdefault(r["sampler"], []).append(r["overhead_ms"])
        entry["overhead_ms"] = {s: float(np.median(v)) for s, v in overhead.items()}
        out[prob] = entry
    return out


def _test_cell(t: dict | None) -> str:
    return f"{t['verdict']} (p={t['p']:.3f})" if t else "-"


def _regret_row(prob: str, e: dict, samplers: list[str], test_keys: list[str], w: int) -> str:
    cells = ""
    for s in samplers:
        v = e["normalised_regret"].get(s, math.nan)
        cells += f"{v:{w}.3f}" if not math.isnan(v) else f"{'n/a':>{w}s}"
    tt = "".join(f"   {_test_cell(e.get(k)):26s}" for k in test_keys)
    return f"{prob:22s}{cells}{tt.rstrip()}"


def print_single(summary: dict, samplers: list[str], budgets: list[int]) -> dict:
    """Prints the regret tables; returns the mean regret per budget and sampler."""
    tests = [(k, x, y) for k, (x, y) in SO_TESTS.items() if x in samplers and y in samplers]
    means_by_budget: dict = {}
    w = max(10, *(len(s) + 1 for s in samplers))
    for b in budgets:
        print(f"\nMean normalised regret at {b} trials (0 = optimum, 1 = median random search)")
        head = f"{'problem':22s}" + "".join(f"{s:>{w}s}" for s in samplers)
        head += "".join(f"   {x + ' vs ' + y:26s}" for _, x, y in tests).rstrip()
        print(head)
        print("-" * len(head))
        cols: dict[str, list[float]] = {s: [] for s in samplers}
        counts = {k: {"better": 0, "same": 0, "worse": 0, "-": 0} for k, _, _ in tests}

        for prob, entry in summary.items():
            if prob not in EXTRA_PROBLEMS:
                e = entry["budgets"][str(b)]
                print(_regret_row(prob, e, samplers, [k for k, _, _ in tests], w))
                for s in samplers:
                    cols[s].append(e["normalised_regret"].get(s, math.nan))
                for k, _, _ in tests:
                    counts[k][e[k]["verdict"] if e.get(k) else "-"] += 1
        print("-" * len(head))
        means = {s: float(np.mean(v)) if v and not any(math.isnan(x) for x in v) else math.nan for s, v in cols.items()}
        print(f"{'MEAN (suite)':22s}" + "".join(f"{means[s]:{w}.3f}" if not math.isnan(means[s]) else f"{'n/a':>{w}s}" for s in samplers))
        extras = [p for p in summary if p in EXTRA_PROBLEMS]
        if extras:
            print(f"{'(not in the mean)':22s}")
            for prob in extras:
                print(_regret_row(prob, summary[prob]["budgets"][str(b)], samplers, [k for k, _, _ in tests], w))
        ranked = sorted((v, s) for s, v in means.items() if not math.isnan(v))
        print("ranking by suite mean: " + ", ".join(f"{s} {v:.3f}" for v, s in ranked))
        for k, x, y in tests:
            c = counts[k]
            ratio = means[x] / means[y] if means[y] > 0 else math.nan
            print(f"{x} / {y} mean regret: {ratio:.2f}; per suite problem {x} better {c['better']}, "
                  f"same {c['same']}, worse {c['worse']} (Mann-Whitney, p < 0.05)")
        means_by_budget[str(b)] = means
    print("\nMedian framework overhead per trial (ms, time outside the objective; median over seeds)")
    print(f"{'problem':22s}" + "".join(f"{s:>{w}s}" for s in samplers))
    for prob, entry in summary.items():
        print(f"{prob:22s}" + "".join(f"{entry['overhead_ms'].get(s, math.nan):{w}.1f}" for s in samplers))
    return means_by_budget


def print_multi(summary: dict, samplers: list[str], budgets: list[int], zdt_dim: int) -> None:
    tests = [(k, x, y) for k, (x, y) in MO_TESTS.items() if x in samplers and y in samplers]
    w = max(16, *(len(s) + 2 for s in samplers))
    for prob, entry in summary.items():
        dim = f", {zdt_dim}-D" if MO_PROBLEMS[prob].dim_dependent else ""
        bh = entry["best_possible_hv"]
        best = f", true Pareto front {bh:.4f}" if bh is not None else ""
        ref = tuple(entry["reference_point"])
        print(f"\n{prob}{dim}: hypervolume (higher is better; reference point {ref}{best}), mean +- std over seeds")
        head = f"{'trials':>7s}" + "".join(f"{s:>{w}s}" for s in samplers)
        head += "".join(f"   {x + ' vs ' + y:26s}" for _, x, y in tests).rstrip()
        print(head)
        print("-" * len(head))
        for b in budgets:
            e = entry["budgets"][str(b)]
            cells = ""
            for s in samplers:
                if s in e["mean"]:
                    cells += f"{e['mean'][s]:.4g} +- {e['std'][s]:.2g}".rjust(w)
                else:
                    cells += f"{'n/a':>{w}s}"
            tt = "".join(f"   {_test_cell(e.get(k)):26s}" for k, _, _ in tests)
            print(f"{b:7d}{cells}{tt.rstrip()}")
        b = str(max(budgets))
        for _, x, y in tests:
            m = entry["budgets"][b]["mean"]
            if x in m and y in m and m[y] > 0:
                print(f"  at {b} trials {x} / {y} mean hypervolume: {m[x] / m[y]:.3f}")
    print("\nMedian framework overhead per trial (ms, time outside the objective)")
    w2 = max(14, *(len(s) + 1 for s in samplers))
    print(f"{'problem':22s}" + "".join(f"{s:>{w2}s}" for s in samplers))
    for prob, entry in summary.items():
        print(f"{prob:22s}" + "".join(f"{entry['overhead_ms'].get(s, math.nan):{w2}.1f}" for s in samplers))


# -- main --------------------------------------------------------------------------------------


CURVE_STEP = 10


def run_record(r: dict) -> dict:
    """A run for the JSON: its timings and its curve (best value so far, or hypervolume so
    far) after trial 1, every CURVE_STEP trials and the last trial."""
    rec = {k: v for k, v in r.items() if k != "values"}
    n = len(r["values"])
    pts = sorted({1, n, *range(CURVE_STEP, n + 1, CURVE_STEP)})
    if r["part"] == "single":
        best = np.minimum.accumulate(r["values"])
        rec["curve"] = {"trials": pts, "best_so_far": [float(best[t - 1]) for t in pts]}
    else:
        ref = MO_PROBLEMS[r["problem"]].reference
        rec["curve"] = {"trials": pts, "hypervolume": [hypervolume_of(r["values"][:t], ref) for t in pts]}
    return rec


def dumps(payload: dict) -> str:
    """JSON with one line per run (the runs are many; everything else indented)."""
    rest = {k: v for k, v in payload.items() if k != "runs"}
    head = json.dumps(rest, indent=1)
    runs = ",\n".join("  " + json.dumps(r, separators=(",", ":")) for r in payload.get("runs", []))
    return head[:-2] + ',\n "runs": [\n' + runs + "\n ]\n}\n"


def _environment() -> dict:
    from importlib import metadata

    versions = {}
    for pkg in ("hypersearch", "optuna", "cmaes", "numpy", "scipy", "scikit-learn"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, check=True
        ).stdout.strip()
    except Exception:
        commit = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "packages": versions,
        "git_commit": commit,
    }


def _build_rf_table(ex: ProcessPoolExecutor, tmpdir: Path, n_check: int) -> tuple[str, dict]:
    """Builds the random-forest table in the worker pool; checks n_check random entries
    against a direct fit; returns the table's path and a description."""
    t0 = time.perf_counter()
    keys = [(d, f, leaf) for d in RF_DEPTHS for f in RF_FEATURES for leaf in RF_LEAVES]
    futs = {ex.submit(rf_prefix_errors, *k): k for k in keys}
    table = {_rf_key(*futs[f]): f.result() for f in as_completed(futs)}
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    checks = []
    for _ in range(n_check):
        k = keys[rng.integers(len(keys))]
        n = int(rng.integers(1, RF_TREES + 1))
        checks.append((n, *k, table[_rf_key(*k)][n - 1]))
    direct = list(ex.map(rf_direct_error, *zip(*[c[:4] for c in checks]))) if checks else []
    mismatches = [list(c) + [d] for c, d in zip(checks, direct) if d != c[4]]
    if mismatches:
        raise RuntimeError(f"random-forest table differs from direct fits: {mismatches}")
    errors = np.array(list(table.values()))
    path = tmpdir / "rf_table.json"
    path.write_text(json.dumps(table))
    info = {
        "configurations": len(table) * RF_TREES,
        "forests_fitted": len(table) * len(_folds()),
        "build_s": build_s,
        "entries_checked_against_direct_fits": len(checks),
        "error_min": float(errors.min()),
        "error_max": float(errors.max()),
    }
    print(f"  random-forest table: {info['configurations']} configurations from {info['forests_fitted']} "
          f"forests in {build_s:.0f} s; {len(checks)} entries equal direct fits; CV error "
          f"{info['error_min']:.4f}-{info['error_max']:.4f}", flush=True)
    return str(path), info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", nargs="*", default=["single", "multi"], choices=["single", "multi"])
    ap.add_argument("--problems", nargs="*", default=None,
                    help="single-objective problems (default: every synthetic and mixed one, and nas_cell)")
    ap.add_argument("--samplers", nargs="*", default=SO_SAMPLERS, help="single-objective samplers")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budgets", type=int, nargs="*", default=[50, 200])
    ap.add_argument("--default-trials", type=int, default=50,
                    help="trials of hs-default (its GP is slow at 200); larger budgets show n/a")
    ap.add_argument("--mo-problems", nargs="*", default=list(MO_PROBLEMS))
    ap.add_argument("--mo-samplers", nargs="*", default=MO_SAMPLERS)
    ap.add_argument("--mo-budgets", type=int, nargs="*", default=[50, 100, 200])
    ap.add_argument("--mo-seeds", type=int, default=5, help="seeds of ZDT1/ZDT2")
    ap.add_argument("--ml-seeds", type=int, default=5, help="seeds of the random-forest problem")
    ap.add_argument("--zdt-dim", type=int, default=30)
    ap.add_argument("--check-rf-table", type=int, default=20,
                    help="random-forest table entries re-checked by fitting the forest directly")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--output", default=str(Path(__file__).resolve().parent / "results" / "evolution.json"))
    args = ap.parse_args(argv)

    suite = [n for n, p in PROBLEMS.items() if p.kind in ("synthetic", "mixed")]
    problems = args.problems or suite + list(EXTRA_PROBLEMS)
    unknown = [p for p in problems if p not in SO_PROBLEMS] + [p for p in args.mo_problems if p not in MO_PROBLEMS]
    if unknown:
        ap.error(f"unknown problem(s) {unknown}; known: {sorted(SO_PROBLEMS)} and {sorted(MO_PROBLEMS)}")
    if args.zdt_dim < 2:
        ap.error("--zdt-dim must be >= 2")
    notes: list[str] = []
    jobs: list[tuple] = []
    so_samplers: list[str] = []
    mo_samplers: list[str] = []
    n_so = max(args.budgets)
    n_mo = max(args.mo_budgets)
    if "single" in args.parts:
        so_samplers, n = _available(args.samplers, multi=False)
        notes += n
        for p in problems:
            for s in so_samplers:
                t = min(n_so, args.default_trials) if s == "hs-default" else n_so
                jobs += [("single", p, s, seed, t, 0) for seed in range(args.seeds)]
        if "hs-default" in so_samplers and args.default_trials < n_so:
            notes.append(f"hs-default ran {args.default_trials} trials only (its GP is slow at {n_so}); "
                         f"budgets above {args.default_trials} show n/a for it")
    if "multi" in args.parts:
        mo_samplers, n = _available(args.mo_samplers, multi=True)
        notes += n
        for p in args.mo_problems:
            seeds = args.ml_seeds if p == "rf_breast_cancer" else args.mo_seeds
            jobs += [("multi", p, s, seed, n_mo, args.zdt_dim) for s in mo_samplers for seed in range(seeds)]
    for n in notes:
        print("note:", n)
    # the slowest runs first, so that no worker is left with a long run at the end
    slow = {"optuna-tpe": 0, "hs-default": 1, "hs-tpe": 2}
    jobs.sort(key=lambda j: min(slow.get(j[1], 9), slow.get(j[2], 9)))
    print(f"{len(jobs)} runs, {args.jobs} processes.", flush=True)
    if "single" in args.parts:
        print(f"  single-objective: {len(problems)} problems x {len(so_samplers)} samplers x {args.seeds} seeds, "
              f"{n_so} trials each (hs-default {min(n_so, args.default_trials)}), budgets {args.budgets}")
    if "multi" in args.parts:
        print(f"  multi-objective: {args.mo_problems} x {len(mo_samplers)} samplers, {n_mo} trials each, "
              f"ZDT {args.zdt_dim}-D x {args.mo_seeds} seeds, rf_breast_cancer x {args.ml_seeds} seeds, "
              f"budgets {args.mo_budgets}", flush=True)
    env = _environment()
    start = time.perf_counter()
    runs = []
    rf_info = None
    with ProcessPoolExecutor(max_workers=args.jobs) as ex, tempfile.TemporaryDirectory() as tmpdir:
        rf_table = None
        if any(j[0] == "multi" and j[1] == "rf_breast_cancer" for j in jobs):
            rf_table, rf_info = _build_rf_table(ex, Path(tmpdir), args.check_rf_table)
        futs = [ex.submit(run_one, *j, rf_table) for j in jobs]
        for i, f in enumerate(as_completed(futs), 1):
            runs.append(f.result())
            if i % 25 == 0 or i == len(futs):
                print(f"  {i}/{len(futs)} runs done ({time.perf_counter() - start:.0f} s)", flush=True)
    wall = time.perf_counter() - start

    payload: dict = {
        "benchmark": "evolutionary samplers: single-objective regret and multi-objective hypervolume",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {
            "parts": args.parts,
            "problems": problems,
            "samplers": so_samplers,
            "seeds": args.seeds,
            "budgets": args.budgets,
            "default_trials": args.default_trials,
            "mo_problems": args.mo_problems,
            "mo_samplers": mo_samplers,
            "mo_budgets": args.mo_budgets,
            "mo_seeds": args.mo_seeds,
            "ml_seeds": args.ml_seeds,
            "zdt_dim": args.zdt_dim,
            "jobs": args.jobs,
        },
        "environment": env,
        "notes": notes,
        "wall_s": wall,
        "rf_table": rf_info,
    }
    run_time: dict[str, float] = {}
    for r in runs:
        key = f"{r['part']}:{r['sampler']}"
        run_time[key] = run_time.get(key, 0.0) + r["total_s"]
    payload["study_seconds_by_sampler"] = run_time
    if "single" in args.parts:
        so = summarise_single([r for r in runs if r["part"] == "single"], args.budgets)
        means = print_single(so, so_samplers, args.budgets)
        payload["single"] = {"summary": so, "mean_normalised_regret": means}
    if "multi" in args.parts:
        mo = summarise_multi([r for r in runs if r["part"] == "multi"], args.mo_budgets)
        print_multi(mo, mo_samplers, args.mo_budgets, args.zdt_dim)
        payload["multi"] = {"summary": mo}
    print("\nTotal study time per sampler (s, all runs, both parts):")
    for k, v in sorted(run_time.items(), key=lambda kv: -kv[1]):
        print(f"  {k:28s}{v:9.1f}")
    print(f"\nwall time {wall:.0f} s on {env['cpus']} CPUs ({args.jobs} worker processes), "
          f"load average at start {env['load_average_at_start']}")
    payload["runs"] = [run_record(r) for r in runs]
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(dumps(payload))
    tmp.replace(out)
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
