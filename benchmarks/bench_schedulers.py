"""Schedulers at equal compute: hypersearch's early-stopping schedulers, BOHB and PBT
against random search and Optuna's pruners, counted in epochs.

Usage::

    python benchmarks/bench_schedulers.py                       # both parts (about 50 min on 2 busy cores)
    python benchmarks/bench_schedulers.py --part synthetic      # 4 instances x 11 methods x 10 seeds (~30 min)
    python benchmarks/bench_schedulers.py --part synthetic --instances curves-faithful --tag faithful
    python benchmarks/bench_schedulers.py --part mlp --mlp-seeds 3   # default 10 seeds (~16 min)
    python benchmarks/bench_schedulers.py --quick               # smoke run: 2 seeds, small budgets

**Synthetic part** (``benchmarks/curves.py``): parametric learning curves in
simulated time (one epoch is one function evaluation), four instances with
shifted optima, ``max_t`` = 27 epochs.  Every method gets the same budget of
``--budget`` x ``max_t`` epochs (default 30: what random search needs for 30
full trainings).  The budget is enforced by the trainable: a global epoch
counter raises a ``BaseException`` (``BudgetExhausted``) when the next epoch
would exceed it, which ends ``hs.tune`` / ``study.optimize`` at once (it
propagates like Ctrl-C; the runs are launched with a practically unlimited
number of trials).  ``hs.tune``'s ``time_budget_s`` is not used: wall time would
measure framework speed, not the sample efficiency in epochs that matters when
an epoch costs minutes.  Every epoch of every trial is logged in order, so the
result at any smaller budget is the log cut there (the methods are online: what
they did before epoch B does not depend on what comes later).

A *model trained to max_t* is a trial that reported epoch ``max_t``.  The
incumbent at budget B is the trained-to-max_t model with the best *observed*
(noisy) final loss among those finished by epoch B; it is scored by its
*noise-free* final loss, and regret = (that / optimum - 1), in %.  Reported per
method, mean +- std over seeds (and instances):

* epochs until the incumbent is within 1 % of the instance's optimum (the
  numerically computed global minimum of the noise-free final loss over the
  space), and until it matches R = the median (over seeds) of random search's
  incumbent at the full budget.  Runs that never get there count as
  "not reached" (hits / runs are shown; mean and median are over hits only,
  the median is censored when fewer than half hit);
* regret at 10x and 30x ``max_t`` epochs;
* framework time per trial (wall time of the run minus the time spent
  evaluating curves, divided by trials) and per reported epoch.

Ratios: epochs to R over random search's epochs for R (the full budget, by the
definition of R), target <= 1/5, with a Mann-Whitney test of the method's regret
at budget/5 against random search's regret at the full budget; BOHB against
Optuna TPE + HyperbandPruner at equal epochs (two-sided Mann-Whitney U on the
regrets, pooled over instances and per instance).

**Real part**: an MLP (scikit-learn ``MLPClassifier``, one ``partial_fit`` pass
per epoch, resumable from a pickled checkpoint) on the bundled digits data,
validation error after every epoch, ``max_t`` = 27, a budget of ``--mlp-budget``
full trainings: grid search (a fixed 18-point grid), random search, Bayesian
optimisation (hs default sampler), and Bayesian + early stopping (hs BOHB, hs
TPE + ASHA).  Reported: trials, epochs and wall time until the incumbent's
validation accuracy is within 1 % (relative) of the best accuracy any run
reached, and the best value reached.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one core per run: the machine is shared

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curves import BATCHES, WIDTHS, rank_correlations  # noqa: E402
from curves import PROBLEMS as CURVES  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

SYNTH_METHODS = [
    "random",  # hs.tune, RandomSampler, every trial to max_t
    "hs-hyperband",  # asynchronous Hyperband, stopping
    "hs-asha",  # ASHA, stopping
    "hs-asha-promotion",  # ASHA, promotion (pause / resume from checkpoints)
    "hs-hyperband-sync",  # classic synchronous Hyperband (promotion)
    "hs-bohb",  # Hyperband (async stopping) + BOHBSampler
    "hs-tpe-asha",  # TPESampler + ASHA stopping
    "hs-auto-asha",  # the default sampler (AutoSampler) + ASHA stopping: what hs.tune(scheduler=ASHA) does
    "hs-bohbs-asha",  # BOHBSampler (model on the largest budget with enough points) + ASHA stopping
    "hs-pbt",  # population-based training, population 16 in lockstep
    "hs-gp-full",  # GPSampler, every trial to max_t (Bayesian optimisation without early stopping)
    "optuna-tpe-hyperband",
    "optuna-tpe-sha",
    "optuna-random-hyperband",
]
MLP_METHODS = ["grid", "random", "hs-default", "hs-hyperband", "hs-asha", "hs-bohb", "hs-tpe-asha"]
ETA = 3
PBT_POPULATION = 16
PBT_INTERVAL = 3


class BudgetExhausted(BaseException):  # noqa: N818 - control flow, like KeyboardInterrupt
    """The run's epoch budget is spent: ends hs.tune / study.optimize at once."""


# ---------------------------------------------------------------------------------------------
# bookkeeping shared by both parts
# ---------------------------------------------------------------------------------------------


class Recorder:
    """Counts epochs across the whole run, enforces the budget and records every
    model that reaches ``max_t``: ``(epochs so far, wall s, models so far,
    observed final, true final)``."""

    def __init__(self, budget: int, max_t: int) -> None:
        self.budget = budget
        self.max_t = max_t
        self.epochs = 0
        self.models = 0
        self.finished: list[tuple[int, float, int, float, float]] = []
        self.compute = 0.0  # seconds spent in the objective's own work
        self.t0 = time.perf_counter()
        self.lock = threading.Lock()

    def new_model(self) -> int:
        with self.lock:
            self.models += 1
            return self.models

    def charge(self) -> None:
        with self.lock:
            if self.epochs >= self.budget:
                raise BudgetExhausted()
            self.epochs += 1

    def finish(self, observed: float, true: float) -> None:
        with self.lock:
            self.finished.append(
                (self.epochs, time.perf_counter() - self.t0, self.models, float(observed), float(true))
            )


def incumbent_trace(finished: list) -> list[tuple[int, float, int, float, float]]:
    """Steps of the incumbent: ``(epochs, wall, models, observed, true)`` each time a
    model with a better observed final value finishes."""
    out, best = [], math.inf
    for e, w, m, obs, true in finished:
        if obs < best:
            best = obs
            out.append((e, w, m, obs, true))
    return out


def true_at(trace: list, budget: int) -> float:
    v = math.nan
    for e, _, _, _, true in trace:
        if e > budget:
            break
        v = true
    return v


def first_reaching(trace: list, threshold: float, index: int = 0) -> float | None:
    """Epochs (``index`` 0), wall s (1) or models (2) when the incumbent's true value
    first is <= threshold (``None``: never)."""
    for row in trace:
        if row[4] <= threshold:
            return row[index]
    return None


def _mwu(a, b) -> dict | None:
    """Two-sided Mann-Whitney U of a against b (lower is better); ``None`` and NaN
    (not reached / no model trained to max_t yet) rank worst."""
    from scipy.stats import mannwhitneyu

    a = [math.inf if x is None or math.isnan(x) else x for x in a]
    b = [math.inf if x is None or math.isnan(x) else x for x in b]
    if len(a) < 3 or len(b) < 3:
        return None
    if len(set(a) | set(b)) == 1:
        return {"p": 1.0, "verdict": "same"}
    p = float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
    verdict = "same"
    if p < 0.05:
        verdict = "better" if np.median(a) < np.median(b) else "worse"
    return {"p": p, "verdict": verdict}


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("hypersearch").setLevel(logging.ERROR)
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    except ImportError:  # pragma: no cover
        pass


# ---------------------------------------------------------------------------------------------
# synthetic part
# ---------------------------------------------------------------------------------------------


def _hs_space():
    import hypersearch as hs

    return {
        "lr": hs.loguniform(1e-4, 1.0),
        "weight_decay": hs.loguniform(1e-6, 1e-1),
        "dropout": hs.uniform(0.0, 0.8),
        "width": hs.choice(list(WIDTHS)),
        "batch_size": hs.choice(list(BATCHES)),
    }


def _optuna_config(trial) -> dict:
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1.0, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.8),
        "width": trial.suggest_categorical("width", list(WIDTHS)),
        "batch_size": trial.suggest_categorical("batch_size", list(BATCHES)),
    }


class _Sim:
    """Simulated training of one instance under a Recorder; ``epoch`` is the only
    'objective' work (timed)."""

    def __init__(self, problem, rec: Recorder, seed: int) -> None:
        self.p = problem
        self.rec = rec
        self.rng = np.random.default_rng(10_000 + seed)
        self.lock = threading.Lock()

    def epoch(self, state, config: dict, step: int):
        self.rec.charge()
        t0 = time.perf_counter()
        state = self.p.step(state, config)
        true = self.p.loss(state, config)
        with self.lock:
            obs = self.p.observe(true, self.rng)
        if step >= self.p.max_t:
            self.rec.finish(obs, true)
        self.rec.compute += time.perf_counter() - t0
        return state, obs


def _run_hs_synthetic(method: str, sim: _Sim, seed: int, tmp: str) -> None:
    import hypersearch as hs

    max_t = sim.p.max_t
    S = hs.schedulers
    sampler = hs.samplers.RandomSampler(seed=seed)
    ckpt = method in ("hs-asha-promotion", "hs-hyperband-sync")
    kw = dict(metric="loss", mode="min")
    scheduler = {
        "random": lambda: None,
        "hs-gp-full": lambda: None,
        "hs-hyperband": lambda: S.Hyperband(**kw, max_t=max_t, min_t=1, reduction_factor=ETA),
        "hs-asha": lambda: S.ASHA(**kw, max_t=max_t, grace_period=1, reduction_factor=ETA),
        "hs-asha-promotion": lambda: S.ASHA(**kw, max_t=max_t, grace_period=1, reduction_factor=ETA,
                                            variant="promotion"),
        "hs-hyperband-sync": lambda: S.Hyperband(**kw, max_t=max_t, min_t=1, reduction_factor=ETA,
                                                 synchronous=True),
        "hs-bohb": lambda: S.BOHB(**kw, max_t=max_t, min_t=1, reduction_factor=ETA),
        "hs-tpe-asha": lambda: S.ASHA(**kw, max_t=max_t, grace_period=1, reduction_factor=ETA),
        "hs-auto-asha": lambda: S.ASHA(**kw, max_t=max_t, grace_period=1, reduction_factor=ETA),
        "hs-bohbs-asha": lambda: S.ASHA(**kw, max_t=max_t, grace_period=1, reduction_factor=ETA),
        "hs-pbt": lambda: S.PopulationBasedTraining(
            **kw, perturbation_interval=PBT_INTERVAL, quantile_fraction=0.25, seed=seed,
            hyperparam_mutations={
                "lr": hs.loguniform(1e-4, 1.0),
                "weight_decay": hs.loguniform(1e-6, 1e-1),
                "dropout": hs.uniform(0.0, 0.8),
                "batch_size": list(BATCHES),
            },
        ),
    }[method]()
    if method == "hs-bohb":
        sampler = None  # BOHB picks its multi-fidelity TPE sampler
    elif method == "hs-tpe-asha":
        sampler = hs.samplers.TPESampler(seed=seed)
    elif method == "hs-auto-asha":
        sampler = hs.samplers.AutoSampler(seed=seed)
    elif method == "hs-bohbs-asha":
        sampler = hs.samplers.BOHBSampler(seed=seed)
    elif method == "hs-gp-full":
        sampler = hs.samplers.GPSampler(seed=seed)

    if method == "hs-pbt":
        _run_hs_pbt(sim, scheduler, sampler, seed, tmp)
        return

    def trainable(config):
        ck = hs.get_checkpoint() if ckpt else None
        if ck is None:
            sim.rec.new_model()
            state, epoch = sim.p.initial_state(), 0
        else:
            state, epoch = ck["state"], ck["epoch"]
        while epoch < max_t:
            state, obs = sim.epoch(state, config, epoch + 1)
            epoch += 1
            hs.report(loss=obs, checkpoint={"state": state, "epoch": epoch} if ckpt else None)

    n = 1_000_000 if method not in ("random", "hs-gp-full") else sim.rec.budget // max_t
    hs.tune(trainable, _hs_space(), metric="loss", mode="min", num_samples=n, scheduler=scheduler,
            sampler=sampler, seed=seed, max_concurrent=1, storage_path=tmp, show_progress_bar=False)


def _run_hs_pbt(sim: _Sim, scheduler, sampler, seed: int, tmp: str) -> None:
    """A population of PBT_POPULATION trials trained side by side in lockstep (a
    barrier per epoch: every member's epoch takes the same simulated time)."""
    import hypersearch as hs

    max_t = sim.p.max_t
    barrier = threading.Barrier(PBT_POPULATION, timeout=300)
    local = threading.local()

    def trainable(config):
        if not hasattr(local, "done"):  # one trial per thread; exploit restarts keep these
            local.done = 0
            sim.rec.new_model()
        ck = hs.get_checkpoint()
        state = sim.p.initial_state() if ck is None else ck["state"]
        while local.done < max_t:
            barrier.wait()
            try:
                state, obs = sim.epoch(state, config, local.done + 1)
            except BudgetExhausted:
                barrier.abort()
                raise
            local.done += 1
            hs.report(loss=obs, checkpoint={"state": state})

    import inspect

    # the population shares the process (threads): newer hs.tune runs max_concurrent > 1
    # in worker processes unless told otherwise
    extra = {"executor": "thread"} if "executor" in inspect.signature(hs.tune).parameters else {}
    hs.tune(trainable, _hs_space(), metric="loss", mode="min", num_samples=PBT_POPULATION,
            scheduler=scheduler, sampler=sampler, seed=seed, max_concurrent=PBT_POPULATION,
            storage_path=tmp, show_progress_bar=False, **extra)


def _run_optuna_synthetic(method: str, sim: _Sim, seed: int) -> None:
    import optuna

    max_t = sim.p.max_t
    sampler = (optuna.samplers.RandomSampler(seed=seed) if method == "optuna-random-hyperband"
               else optuna.samplers.TPESampler(seed=seed))
    if method == "optuna-tpe-sha":
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=ETA)
    else:
        pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_t, reduction_factor=ETA)
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)

    def objective(trial):
        config = _optuna_config(trial)
        sim.rec.new_model()
        state = sim.p.initial_state()
        obs = math.nan
        for epoch in range(1, max_t + 1):
            state, obs = sim.epoch(state, config, epoch)
            trial.report(obs, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return obs

    study.optimize(objective, n_trials=1_000_000)


_PROBLEMS: dict[tuple[str, int | None], object] = {}


def _problem(instance: str, max_t: int | None = None):
    """The instance, with its full training length replaced by ``max_t`` when given
    (cached per process, so its optimum is computed once)."""
    key = (instance, max_t)
    if key not in _PROBLEMS:
        base = CURVES[instance]
        _PROBLEMS[key] = base if max_t in (None, base.max_t) else dataclasses.replace(base, max_t=max_t)
    return _PROBLEMS[key]


def run_synthetic(method: str, instance: str, seed: int, budget: int, max_t: int | None = None) -> dict:
    """One run: a method on an instance with a seed and a budget in epochs (``max_t``
    overrides the instance's full training length)."""
    _quiet()
    problem = _problem(instance, max_t)
    rec = Recorder(budget, problem.max_t)
    sim = _Sim(problem, rec, seed)
    tmp = tempfile.mkdtemp(prefix="hs-bench-sched-")
    error = None
    t0 = time.perf_counter()
    rec.t0 = t0
    try:
        if method.startswith("optuna-"):
            _run_optuna_synthetic(method, sim, seed)
        else:
            _run_hs_synthetic(method, sim, seed, tmp)
    except BudgetExhausted:
        pass
    except Exception as e:  # recorded, the benchmark goes on
        error = f"{type(e).__name__}: {e}"
    wall = time.perf_counter() - t0
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "method": method,
        "instance": instance,
        "seed": seed,
        "epochs": rec.epochs,
        "models": rec.models,
        "finished": rec.finished,
        "wall_s": wall,
        "compute_s": rec.compute,
        "overhead_ms_per_trial": 1000 * (wall - rec.compute) / max(rec.models, 1),
        "overhead_ms_per_epoch": 1000 * (wall - rec.compute) / max(rec.epochs, 1),
        "error": error,
    }


def summarise_synthetic(runs: list[dict], methods: list[str], budget: int, max_t: int,
                        fixed: list[int], ref_budget: int) -> dict:
    """``budget``: epochs each run had; ``ref_budget``: random search's "full budget"
    (epochs), which defines R and the denominator of the ratios."""
    by: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        by.setdefault((r["instance"], r["method"]), []).append(r)
    instances = sorted({r["instance"] for r in runs})
    out: dict = {"instances": {}, "pooled": {}, "ratios": {}, "tests": {}}
    pooled: dict[str, dict[str, list]] = {m: {} for m in methods}
    for inst in instances:
        problem = _problem(inst, max_t)
        opt = problem.optimum_value
        rand = [true_at(incumbent_trace(r["finished"]), ref_budget) for r in by.get((inst, "random"), [])]
        ref_random = float(np.nanmedian(rand)) if rand else math.nan
        entry = {"optimum": opt, "optimum_config": problem.optimum()[1],
                 "random_full_budget_median": ref_random, "methods": {}}
        for m in methods:
            rs = sorted(by.get((inst, m), []), key=lambda r: r["seed"])
            if not rs:
                continue
            traces = [incumbent_trace(r["finished"]) for r in rs]
            d = {
                "seeds": [r["seed"] for r in rs],
                "epochs_to_1pct": [first_reaching(t, opt * 1.01) for t in traces],
                "epochs_to_random_result": [first_reaching(t, ref_random) for t in traces],
                "regret_pct": {str(b): [100 * (true_at(t, b * max_t) / opt - 1) for t in traces] for b in fixed},
                "regret_pct_at_budget_fifth": [100 * (true_at(t, ref_budget // 5) / opt - 1) for t in traces],
                "trials": [r["models"] for r in rs],
                "epochs_used": [r["epochs"] for r in rs],
                "overhead_ms_per_trial": [r["overhead_ms_per_trial"] for r in rs],
                "overhead_ms_per_epoch": [r["overhead_ms_per_epoch"] for r in rs],
                "wall_s": [r["wall_s"] for r in rs],
                "errors": [r["error"] for r in rs if r["error"]],
                "incumbent_traces": [[list(x) for x in t] for t in traces],
            }
            entry["methods"][m] = d
            for k in ("epochs_to_1pct", "epochs_to_random_result", "regret_pct_at_budget_fifth", "trials",
                      "overhead_ms_per_trial", "overhead_ms_per_epoch"):
                pooled[m].setdefault(k, []).extend(d[k])
            for b in fixed:
                pooled[m].setdefault(f"regret_pct@{b}", []).extend(d["regret_pct"][str(b)])
        out["instances"][inst] = entry
    out["pooled"] = pooled
    rnd = pooled.get("random", {})
    for m in methods:
        if m == "random" or not pooled[m] or not rnd:
            continue
        e = pooled[m]["epochs_to_random_result"]
        med = _censored_median(e)
        out["ratios"][m] = {
            "median_epochs_to_random_result": med,
            "ratio_to_random_budget": (med / ref_budget) if med is not None else None,
            "regret_at_budget_fifth_vs_random_full": _mwu(pooled[m]["regret_pct_at_budget_fifth"],
                                                          rnd.get(f"regret_pct@{ref_budget // max_t}", [])),
            "epochs_to_random_result_vs_random": _mwu(e, rnd["epochs_to_random_result"]),
        }
    pairs = [("hs-bohb", "optuna-tpe-hyperband"), ("hs-tpe-asha", "optuna-tpe-sha"),
             ("hs-hyperband", "optuna-random-hyperband"), ("hs-asha", "random"), ("hs-bohb", "random"),
             ("hs-gp-full", "hs-bohb"), ("hs-gp-full", "random")]
    for x, y in pairs:
        if x not in pooled or y not in pooled or not pooled[x] or not pooled[y]:
            continue
        t = {}
        for b in fixed:
            t[str(b)] = {"pooled": _mwu(pooled[x][f"regret_pct@{b}"], pooled[y][f"regret_pct@{b}"]),
                         "per_instance": {inst: _mwu(out["instances"][inst]["methods"][x]["regret_pct"][str(b)],
                                                     out["instances"][inst]["methods"][y]["regret_pct"][str(b)])
                                          for inst in instances
                                          if x in out["instances"][inst]["methods"]
                                          and y in out["instances"][inst]["methods"]}}
        out["tests"][f"{x}_vs_{y}"] = t
    return out


def _censored_median(xs: list) -> float | None:
    """Median with None = not reached (+inf); None when fewer than half reached."""
    vals = sorted(math.inf if x is None else x for x in xs)
    if not vals:
        return None
    m = float(np.median(vals))
    return None if math.isinf(m) else m


def _ms(xs: list, fmt: str = ".1f", scale: float = 1.0) -> str:
    v = [x * scale for x in xs if x is not None and not math.isnan(x)]
    if not v:
        return "-"
    return f"{np.mean(v):{fmt}}+-{np.std(v):{fmt}}"


def _rung_epochs(max_t: int) -> list[int]:
    """The rungs below ``max_t`` (grace period 1, reduction factor ETA)."""
    out, e = [], 1
    while e < max_t:
        out.append(e)
        e *= ETA
    return out


def format_synthetic(summary: dict, methods: list[str], budget: int, max_t: int, fixed: list[int],
                     spearman: dict, ref_budget: int) -> str:
    lines = []
    p = lines.append
    p(f"Learning-curve family, max_t={max_t}, budget {budget} epochs ({budget // max_t} x max_t) per run; "
      f"random search's full budget: {ref_budget} epochs ({ref_budget // max_t} full trainings)")
    p("Spearman correlation, 2000 random configurations: observed loss at epoch e vs noise-free final loss")
    es = _rung_epochs(max_t)
    p(f"  {'instance':10s}" + "".join(f"{'e=' + str(e):>8s}" for e in es)
      + "".join(f"{'top10% e=' + str(e):>14s}" for e in es))
    for inst, sp in spearman.items():
        p(f"  {inst:10s}" + "".join(f"{sp[str(e)]:8.2f}" for e in es)
          + "".join(f"{sp[str(e) + '_top10']:14.2f}" for e in es))
    p("")
    p(f"Optimum (noise-free final loss) and R = median random-search incumbent at {ref_budget} epochs:")
    for inst, e in summary["instances"].items():
        p(f"  {inst:10s} optimum {e['optimum']:.4f}   R {e['random_full_budget_median']:.4f} "
          f"({100 * (e['random_full_budget_median'] / e['optimum'] - 1):.2f} % above)")
    p("")
    n_runs = max((len(v.get("trials", [])) for v in summary["pooled"].values()), default=0)
    p(f"Pooled over instances and seeds ({n_runs} runs per method); epochs: median [mean+-std over hits] (hits/runs)")
    head = (f"{'method':24s}{'trials':>8s}  {'epochs to 1% of optimum':>30s}  {'epochs to random result R':>30s}"
            + "".join(f"{'regret% @' + str(b) + 'x':>16s}" for b in fixed) + f"{'ms/trial':>10s}{'ms/epoch':>10s}")
    p(head)
    p("-" * len(head))
    for m in methods:
        d = summary["pooled"].get(m)
        if not d:
            continue
        cells = []
        for k in ("epochs_to_1pct", "epochs_to_random_result"):
            xs = d[k]
            hits = [x for x in xs if x is not None]
            med = _censored_median(xs)
            meds = f"{med:.0f}" if med is not None else f">{budget}"
            cells.append(f"{meds:>6s} [{_ms(hits, '.0f'):>11s}] ({len(hits)}/{len(xs)})")
        p(f"{m:24s}{np.mean(d['trials']):8.0f}  {cells[0]:>30s}  {cells[1]:>30s}"
          + "".join(f"{_ms(d[f'regret_pct@{b}'], '.2f'):>16s}" for b in fixed)
          + f"{np.median(d['overhead_ms_per_trial']):10.2f}{np.median(d['overhead_ms_per_epoch']):10.3f}")
    p("")
    p(f"Regret (%) at {fixed[-1]}x max_t per instance, mean+-std over seeds")
    insts = list(summary["instances"])
    p(f"{'method':24s}" + "".join(f"{i:>16s}" for i in insts))
    for m in methods:
        row = f"{m:24s}"
        for i in insts:
            d = summary["instances"][i]["methods"].get(m)
            row += f"{_ms(d['regret_pct'][str(fixed[-1])], '.2f') if d else '-':>16s}"
        p(row)
    p("")
    p(f"Epochs to random search's full-budget result R, relative to random search's {ref_budget} epochs "
      "(target <= 0.20)")
    for m, r in summary["ratios"].items():
        ratio = r["ratio_to_random_budget"]
        t1, t2 = r["regret_at_budget_fifth_vs_random_full"], r["epochs_to_random_result_vs_random"]
        med = "-" if ratio is None else format(r["median_epochs_to_random_result"], ".0f")
        p(f"  {m:24s} median epochs {med:>6s}"
          f"  ratio {'-' if ratio is None else format(ratio, '.2f'):>5s}"
          f"   regret@{ref_budget // 5} vs random@{ref_budget}: {_fmt_test(t1)}"
          f"   epochs-to-R vs random: {_fmt_test(t2)}")
    p("")
    p("Mann-Whitney U (two-sided) on regret at equal epochs; 'better' = first method lower")
    for key, t in summary["tests"].items():
        for b, tt in t.items():
            per = ", ".join(f"{i}: {_fmt_test(v)}" for i, v in tt["per_instance"].items())
            p(f"  {key:40s} @{b}x: pooled {_fmt_test(tt['pooled'])}; {per}")
    return "\n".join(lines)


def _fmt_test(t: dict | None) -> str:
    return "-" if not t else f"{t['verdict']} (p={t['p']:.3f})"


# ---------------------------------------------------------------------------------------------
# real part: MLP on digits
# ---------------------------------------------------------------------------------------------

_DATA: dict = {}


def _digits():
    if not _DATA:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        X, y = load_digits(return_X_y=True)
        X_tr, X_rest, y_tr, y_rest = train_test_split(X, y, test_size=0.4, random_state=0, stratify=y)
        X_va, X_te, y_va, y_te = train_test_split(X_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest)
        sc = StandardScaler().fit(X_tr)
        _DATA.update(X_tr=sc.transform(X_tr), y_tr=y_tr, X_va=sc.transform(X_va), y_va=y_va,
                     X_te=sc.transform(X_te), y_te=y_te, classes=np.unique(y))
    return _DATA


MLP_GRID = {"lr": [3e-4, 3e-3, 3e-2], "alpha": [1e-5, 1e-3, 1e-1], "hidden": [32, 128], "batch_size": [64]}


def _mlp_space(grid: bool):
    import hypersearch as hs

    if grid:
        return {k: hs.grid(v) for k, v in MLP_GRID.items()}
    return {
        "hidden": hs.lograndint(16, 257),
        "alpha": hs.loguniform(1e-6, 1e-1),
        "lr": hs.loguniform(1e-4, 1e-1),
        "batch_size": hs.choice([32, 64, 128]),
    }


def run_mlp(method: str, seed: int, budget: int, max_t: int) -> dict:
    """One run of a method on the MLP problem (budget in epochs)."""
    _quiet()
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    import hypersearch as hs

    D = _digits()
    rec = Recorder(budget, max_t)
    promotion = False
    test_errors: list[float] = []
    curves: list[list[float]] = []  # validation error after each epoch of every model trained from scratch

    def trainable(config):
        ck = hs.get_checkpoint() if promotion else None
        curve: list[float] | None = None
        if ck is None:
            rec.new_model()
            curve = []
            curves.append(curve)
            model = MLPClassifier(hidden_layer_sizes=(int(config["hidden"]),), alpha=config["alpha"],
                                  learning_rate_init=config["lr"], batch_size=int(config["batch_size"]),
                                  shuffle=False, random_state=seed)
            epoch = 0
        else:
            model, epoch = ck["model"], ck["epoch"]
        while epoch < max_t:
            rec.charge()
            t0 = time.perf_counter()
            order = np.random.default_rng([seed, epoch]).permutation(len(D["y_tr"]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.partial_fit(D["X_tr"][order], D["y_tr"][order], classes=D["classes"])
            epoch += 1
            err = 1.0 - model.score(D["X_va"], D["y_va"])
            if curve is not None:
                curve.append(err)
            if epoch >= max_t:
                test_errors.append(1.0 - model.score(D["X_te"], D["y_te"]))
                rec.finish(err, err)
            rec.compute += time.perf_counter() - t0
            hs.report(val_error=err, checkpoint={"model": model, "epoch": epoch} if promotion else None)

    S = hs.schedulers
    kw = dict(metric="val_error", mode="min")
    sampler, scheduler, n = hs.samplers.RandomSampler(seed=seed), None, budget // max_t
    if method == "grid":
        sampler, n = None, 1
    elif method == "hs-default":
        sampler = None
    elif method == "hs-bohb":
        sampler, scheduler, n = None, S.BOHB(**kw, max_t=max_t, min_t=1, reduction_factor=ETA), 1_000_000
    elif method == "hs-hyperband":
        scheduler, n = S.Hyperband(**kw, max_t=max_t, min_t=1, reduction_factor=ETA), 1_000_000
    elif method == "hs-asha":
        scheduler, n = S.ASHA(**kw, max_t=max_t, grace_period=1, reduction_factor=ETA), 1_000_000
    elif method == "hs-tpe-asha":
        sampler = hs.samplers.TPESampler(seed=seed)
        scheduler, n = S.ASHA(**kw, max_t=max_t, grace_period=1, reduction_factor=ETA), 1_000_000
    elif method == "hs-tpe-asha-promotion":
        sampler, promotion = hs.samplers.TPESampler(seed=seed), True
        scheduler = S.ASHA(**kw, max_t=max_t, grace_period=1, reduction_factor=ETA, variant="promotion")
        n = 1_000_000
    elif method != "random":
        raise ValueError(method)
    tmp = tempfile.mkdtemp(prefix="hs-bench-mlp-")
    error = None
    t0 = time.perf_counter()
    rec.t0 = t0
    try:
        hs.tune(trainable, _mlp_space(method == "grid"), metric="val_error", mode="min", num_samples=n,
                scheduler=scheduler, sampler=sampler, seed=seed, max_concurrent=1, storage_path=tmp,
                show_progress_bar=False)
    except BudgetExhausted:
        pass
    except Exception as e:
        error = f"{type(e).__name__}: {e}"
    wall = time.perf_counter() - t0
    shutil.rmtree(tmp, ignore_errors=True)
    return {"method": method, "seed": seed, "epochs": rec.epochs, "models": rec.models,
            "finished": rec.finished, "test_errors": test_errors, "curves": [c for c in curves if len(c) == max_t],
            "wall_s": wall, "compute_s": rec.compute,
            "overhead_ms_per_trial": 1000 * (wall - rec.compute) / max(rec.models, 1), "error": error}


def mlp_rank_correlations(curves: list[list[float]], epochs: list[int]) -> dict:
    """Spearman correlation between the validation error at each early epoch and at
    the last one, over all models trained to max_t (overall and within the best 10 %):
    how faithful early ranks are on the real problem, in the synthetic table's terms."""
    from scipy.stats import spearmanr

    C = np.asarray(curves, dtype=float)
    if C.ndim != 2 or len(C) < 20:
        return {}
    final = C[:, -1]
    top = final <= np.quantile(final, 0.1)
    out: dict = {"n_models": len(C)}
    for e in epochs:
        out[str(e)] = float(spearmanr(C[:, e - 1], final).statistic)
        out[f"{e}_top10"] = float(spearmanr(C[top, e - 1], final[top]).statistic) if top.sum() >= 5 else math.nan
    return out


def summarise_mlp(runs: list[dict], methods: list[str], budget: int, max_t: int) -> dict:
    finals = [f[3] for r in runs for f in r["finished"]]
    best_err = min(finals) if finals else math.nan
    best_acc = 1.0 - best_err
    threshold = 1.0 - 0.99 * best_acc  # validation accuracy within 1 % (relative) of the best
    rand = [true_at(incumbent_trace(r["finished"]), budget) for r in runs if r["method"] == "random"]
    ref_random = float(np.nanmedian(rand)) if rand else math.nan
    out: dict = {"best_val_error_any": best_err, "target_val_error": threshold,
                 "random_full_budget_median": ref_random,
                 "spearman": mlp_rank_correlations([c for r in runs if r["method"] == "random"
                                                    for c in r.get("curves", [])], _rung_epochs(max_t)),
                 "methods": {}, "ratios": {}}
    for m in methods:
        rs = sorted((r for r in runs if r["method"] == m), key=lambda r: r["seed"])
        if not rs:
            continue
        traces = [incumbent_trace(r["finished"]) for r in rs]
        inc_test = []
        for r, t in zip(rs, traces):
            if t:
                idx = [f[3] for f in r["finished"]].index(t[-1][3])
                inc_test.append(r["test_errors"][idx])
            else:
                inc_test.append(math.nan)
        out["methods"][m] = {
            "seeds": [r["seed"] for r in rs],
            "trials_to_target": [first_reaching(t, threshold, 2) for t in traces],
            "epochs_to_target": [first_reaching(t, threshold, 0) for t in traces],
            "epochs_to_random_result": [first_reaching(t, ref_random, 0) for t in traces],
            "wall_s_to_target": [first_reaching(t, threshold, 1) for t in traces],
            "best_val_error": [t[-1][4] if t else math.nan for t in traces],
            "incumbent_test_error": inc_test,
            "trials": [r["models"] for r in rs],
            "epochs": [r["epochs"] for r in rs],
            "wall_s": [r["wall_s"] for r in rs],
            "overhead_ms_per_trial": [r["overhead_ms_per_trial"] for r in rs],
            "errors": [r["error"] for r in rs if r["error"]],
            "incumbent_traces": [[list(x) for x in t] for t in traces],
        }
        if m != "random" and not math.isnan(ref_random):
            med = _censored_median(out["methods"][m]["epochs_to_random_result"])
            out["ratios"][m] = {"median_epochs_to_random_result": med,
                                "ratio_to_random_budget": (med / budget) if med is not None else None}
    return out


def format_mlp(summary: dict, methods: list[str], budget: int, max_t: int) -> str:
    lines = []
    p = lines.append
    p(f"MLP on digits (validation error after each epoch), max_t={max_t}, budget {budget} epochs "
      f"({budget // max_t} full trainings) per run")
    p(f"best validation error seen by any run {summary['best_val_error_any']:.4f}; target: validation accuracy "
      f"within 1 % of the best, i.e. error <= {summary['target_val_error']:.4f}")
    p("mean+-std over seeds (over the seeds that reached the target for the 'to target' columns)")
    head = (f"{'method':22s}{'reached':>9s}{'trials to target':>18s}{'epochs to target':>18s}"
            f"{'wall s to target':>18s}{'best val err':>16s}{'its test err':>16s}{'trials':>8s}{'wall s':>9s}"
            f"{'ms/trial':>10s}")
    p(head)
    p("-" * len(head))
    for m in methods:
        d = summary["methods"].get(m)
        if not d:
            continue
        hits = [x for x in d["epochs_to_target"] if x is not None]
        reached = f"{len(hits)}/{len(d['epochs_to_target'])}"
        p(f"{m:22s}{reached:>9s}"
          f"{_ms([x for x in d['trials_to_target'] if x is not None], '.1f'):>18s}"
          f"{_ms(hits, '.0f'):>18s}"
          f"{_ms([x for x in d['wall_s_to_target'] if x is not None], '.1f'):>18s}"
          f"{_ms(d['best_val_error'], '.4f'):>16s}{_ms(d['incumbent_test_error'], '.4f'):>16s}"
          f"{np.mean(d['trials']):8.1f}{np.mean(d['wall_s']):9.1f}{np.median(d['overhead_ms_per_trial']):10.1f}")
    sp = summary.get("spearman") or {}
    if sp:
        es = _rung_epochs(max_t)
        p("")
        p(f"Spearman correlation over the {sp['n_models']} models random search trained to max_t: validation "
          "error at epoch e vs at max_t (compare with the learning-curve family's table)")
        p("  " + "".join(f"{'e=' + str(e):>8s}" for e in es) + "".join(f"{'top10% e=' + str(e):>14s}" for e in es))
        p("  " + "".join(f"{sp[str(e)]:8.2f}" for e in es) + "".join(f"{sp[str(e) + '_top10']:14.2f}" for e in es))
    if summary.get("ratios"):
        p("")
        p(f"Epochs to random search's full-budget result R = {summary['random_full_budget_median']:.4f} "
          f"(median best validation error of random search after {budget} epochs), relative to {budget} "
          "(target <= 0.20)")
        for m, r in summary["ratios"].items():
            med = r["median_epochs_to_random_result"]
            hits = sum(x is not None for x in summary["methods"][m]["epochs_to_random_result"])
            n = len(summary["methods"][m]["epochs_to_random_result"])
            p(f"  {m:22s} median epochs {'>' + str(budget) if med is None else f'{med:6.0f}':>7s}  ratio "
              f"{'-' if med is None else f'{med / budget:.2f}':>5s}  reached {hits}/{n}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def _pool_map(fn, jobs: list[tuple], n_proc: int, label: str) -> list[dict]:
    start = time.perf_counter()
    out = []
    if n_proc <= 1:
        for i, j in enumerate(jobs, 1):
            out.append(fn(*j))
            if i % 10 == 0 or i == len(jobs):
                print(f"  {label}: {i}/{len(jobs)} runs ({time.perf_counter() - start:.0f} s)", flush=True)
        return out
    with ProcessPoolExecutor(max_workers=n_proc) as ex:
        futs = [ex.submit(fn, *j) for j in jobs]
        for i, f in enumerate(as_completed(futs), 1):
            out.append(f.result())
            if i % 10 == 0 or i == len(futs):
                print(f"  {label}: {i}/{len(futs)} runs ({time.perf_counter() - start:.0f} s)", flush=True)
    return out


def _environment() -> dict:
    import importlib.metadata as md

    env = {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    for pkg in ("hypersearch", "optuna", "numpy", "scipy", "scikit-learn"):
        try:
            env[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            env[pkg] = None
    import subprocess

    import hypersearch

    src = Path(hypersearch.__file__).resolve().parent
    env["hypersearch_path"] = str(src)
    try:  # the hypersearch commit measured: this checkout's, or a `git archive` snapshot in hs-snap-<commit>/
        repo = Path(__file__).resolve().parent.parent
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=False).stdout.strip()
        env["repo_git_head"] = head
        if src.parent == repo:
            env["hypersearch_commit"] = head
            env["hypersearch_uncommitted_changes"] = bool(subprocess.run(
                ["git", "-C", str(repo), "status", "--porcelain", "hypersearch"], capture_output=True,
                text=True, check=False).stdout.strip())
        elif src.parent.name.startswith("hs-snap-"):
            env["hypersearch_commit"] = src.parent.name[len("hs-snap-"):]
    except OSError:  # pragma: no cover
        pass
    try:
        env["loadavg_at_start"] = os.getloadavg()
    except OSError:  # pragma: no cover
        pass
    return env


def _write(path: Path, payload: dict, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=float))
    tmp.replace(path)
    path.with_suffix(".txt").write_text(text + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["synthetic", "mlp", "all"], default="all")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 seeds, small budgets, 2 instances")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (1 on a shared machine)")
    ap.add_argument("--seeds", type=int, default=10, help="synthetic: seeds per instance and method")
    ap.add_argument("--instances", nargs="*", default=[n for n, p in CURVES.items() if p.crossing == 1.0],
                    help=f"learning-curve instances (default: the crossing ones; known: {', '.join(CURVES)})")
    ap.add_argument("--methods", nargs="*", default=SYNTH_METHODS)
    ap.add_argument("--max-t", type=int, default=None,
                    help="synthetic: epochs of a full training (default: the instances' own, 27)")
    ap.add_argument("--budget", type=int, default=60, help="synthetic: epochs per run, in multiples of max_t")
    ap.add_argument("--reference-budget", type=int, default=30,
                    help="synthetic: random search's full budget (x max_t), which defines R and the ratios")
    ap.add_argument("--fixed", type=int, nargs="*", default=[10, 30, 60], help="budgets (x max_t) to report")
    ap.add_argument("--mlp-seeds", type=int, default=10)
    ap.add_argument("--mlp-budget", type=int, default=20, help="MLP budget in full trainings")
    ap.add_argument("--mlp-max-t", type=int, default=27)
    ap.add_argument("--mlp-methods", nargs="*", default=MLP_METHODS)
    ap.add_argument("--output-dir", default=str(RESULTS))
    ap.add_argument("--tag", default="", help="suffix of the output file names (e.g. 'faithful')")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.mlp_seeds, args.budget, args.reference_budget, args.fixed = 2, 1, 10, 10, [5, 10]
        args.instances = args.instances[:2]
        args.mlp_budget, args.mlp_max_t = 3, 9
    outdir = Path(args.output_dir)
    suffix = ("_" + args.tag if args.tag else "") + ("_quick" if args.quick else "")

    if args.part in ("synthetic", "all"):
        max_t = args.max_t or CURVES[args.instances[0]].max_t
        budget = args.budget * max_t
        ref_budget = min(args.reference_budget, args.budget) * max_t
        fixed = [b for b in args.fixed if b <= args.budget]
        print("computing optima and rank correlations ...", flush=True)
        spearman = {}
        for inst in args.instances:
            problem = _problem(inst, max_t)
            problem.optimum()
            spearman[inst] = {str(k): v for k, v in
                              rank_correlations(problem, epochs=_rung_epochs(max_t), n=2000).items()}
        jobs = [(m, inst, s, budget, max_t) for inst in args.instances for s in range(args.seeds) for m in args.methods]
        print(f"synthetic: {len(jobs)} runs ({len(args.instances)} instances x {len(args.methods)} methods x "
              f"{args.seeds} seeds), budget {budget} epochs each, {args.jobs} process(es)", flush=True)
        start = time.perf_counter()
        runs = _pool_map(run_synthetic, jobs, args.jobs, "synthetic")
        summary = summarise_synthetic(runs, args.methods, budget, max_t, fixed, ref_budget)
        text = format_synthetic(summary, args.methods, budget, max_t, fixed, spearman, ref_budget)
        print("\n" + text, flush=True)
        payload = {
            "benchmark": "schedulers on the learning-curve family (simulated time)",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": {"instances": args.instances, "methods": args.methods, "seeds": args.seeds,
                       "max_t": max_t, "budget_epochs": budget, "reference_budget_epochs": ref_budget,
                       "fixed_budgets_x_max_t": fixed,
                       "eta": ETA, "pbt_population": PBT_POPULATION, "pbt_interval": PBT_INTERVAL,
                       "curve_coefficients": __import__("curves").C},
            "environment": _environment(),
            "wall_s": time.perf_counter() - start,
            "spearman": spearman,
            "summary": summary,
        }
        _write(outdir / f"schedulers_synthetic{suffix}.json", payload, text)
        print(f"results written to {outdir / f'schedulers_synthetic{suffix}.json'} (.txt)", flush=True)

    if args.part in ("mlp", "all"):
        max_t = args.mlp_max_t
        budget = args.mlp_budget * max_t
        jobs = [(m, s, budget, max_t) for s in range(args.mlp_seeds) for m in args.mlp_methods]
        print(f"\nMLP: {len(jobs)} runs ({len(args.mlp_methods)} methods x {args.mlp_seeds} seeds), "
              f"budget {budget} epochs each, {args.jobs} process(es)", flush=True)
        start = time.perf_counter()
        runs = _pool_map(run_mlp, jobs, args.jobs, "mlp")
        summary = summarise_mlp(runs, args.mlp_methods, budget, max_t)
        text = format_mlp(summary, args.mlp_methods, budget, max_t)
        print("\n" + text, flush=True)
        payload = {
            "benchmark": "classic comparison on an MLP (digits)",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": {"methods": args.mlp_methods, "seeds": args.mlp_seeds, "max_t": max_t,
                       "budget_epochs": budget, "grid": MLP_GRID, "eta": ETA},
            "environment": _environment(),
            "wall_s": time.perf_counter() - start,
            "summary": summary,
        }
        _write(outdir / f"schedulers_mlp{suffix}.json", payload, text)
        print(f"results written to {outdir / f'schedulers_mlp{suffix}.json'} (.txt)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
