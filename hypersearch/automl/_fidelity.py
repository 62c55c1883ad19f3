"""Multi-fidelity cross-validation: training-set size as the fidelity.

A configuration is first cross-validated on a small part of each training fold
(e.g. a ninth), then on a larger part (a third), then on all of it.  After each
*rung* the mean validation score is reported with ``trial.report(score, step)``,
so the study's scheduler (hypersearch's ASHA) can stop a configuration that
already looks poor on little data; good ones go on to the full data, which gives
the score the search ranks them by.

The subsets are nested (each rung's training rows contain the previous rung's)
and, for classification, stratified: within each fold the training rows are put
in an order whose every prefix holds all classes in about their overall
proportions.  The validation rows of a fold never change, so scores at all rungs
are measured on the same data.

The reported step of rung ``k`` is its fraction of the data in units of the
smallest possible fraction (``eta**-(max_rungs - 1)``): with ``eta = 3`` and three
rungs the steps are 1, 3 and 9, which is what an ``ASHA(grace_period=1,
reduction_factor=3, max_t=9)`` expects.  Rungs whose subsets would hold fewer
than ``min_samples`` rows are dropped (small data sets get fewer rungs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hypersearch.automl._data import Dataset, take_rows
from hypersearch.automl._families import TaskContext
from hypersearch.automl._metrics import Metric
from hypersearch.automl._pipeline import build_pipeline, fit_pipeline
from hypersearch.exceptions import TrialPruned

#: Fewest training rows of a rung (per fold); smaller rungs are dropped.
MIN_RUNG_SAMPLES = 20

#: User attribute saying why a trial stopped before full fidelity.
STOP_ATTR = "stopped"


@dataclass(frozen=True)
class Rungs:
    """Fidelities of a multi-fidelity search.

    Attributes:
        fractions: Fractions of each training fold, ascending, the last 1.0.
        steps: The step reported at each rung (resource units for the scheduler).
        eta: Growth factor between consecutive rungs.
    """

    fractions: tuple[float, ...]
    steps: tuple[int, ...]
    eta: int

    def __len__(self) -> int:
        return len(self.fractions)

    def fraction_of_step(self, step: int) -> float:
        return self.fractions[self.steps.index(step)] if step in self.steps else float("nan")


def plan_rungs(
    n_train: int, *, eta: int = 3, max_rungs: int = 3, min_samples: int = MIN_RUNG_SAMPLES
) -> Rungs:
    """Rungs at fractions ``eta**-k`` (``k = max_rungs - 1, ..., 0``) of ``n_train``
    training rows, keeping those with at least ``min_samples`` rows (the full
    data always)."""
    if max_rungs < 1 or eta < 2:
        raise ValueError("need max_rungs >= 1 and eta >= 2")
    top = max_rungs - 1
    fractions, steps = [], []
    for k in range(top, -1, -1):
        f = float(eta) ** -k
        if k == 0 or n_train * f >= min_samples:
            fractions.append(f)
            steps.append(eta ** (top - k))
    return Rungs(tuple(fractions), tuple(steps), eta)


def single_rung() -> Rungs:
    """One rung at the full data (multi-fidelity off)."""
    return Rungs((1.0,), (1,), 3)


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold.

    Attributes:
        train: Training row indices, ordered so that every prefix is a
            (stratified) random subset.
        valid: Validation row indices.
    """

    train: np.ndarray
    valid: np.ndarray


def _stratified_order(idx: np.ndarray, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``idx`` shuffled so that each prefix holds every class in about its proportion.

    Each row's key is its rank within its class divided by the class size (a
    class's rows spread evenly over the order); the first row of every class
    comes first, so any prefix of at least ``n_classes`` rows has them all.
    """
    idx = idx[rng.permutation(len(idx))]
    c = codes[idx]
    key = np.empty(len(idx))
    for cls in np.unique(c):
        where = np.flatnonzero(c == cls)
        ranks = np.arange(len(where), dtype=float)
        key[where] = (ranks + 0.5) / len(where)
        key[where[0]] = -1.0
    return idx[np.argsort(key, kind="stable")]


def make_folds(data: Dataset, cv: int, random_state: int) -> list[Fold]:
    """``cv`` shuffled folds (stratified for classification), fixed for the whole
    search so that every configuration is scored on the same splits."""
    from sklearn.model_selection import KFold, StratifiedKFold

    rng = np.random.default_rng(random_state)
    rows = np.arange(data.n_samples)
    if data.codes is not None:
        splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
        splits = splitter.split(rows, data.codes)
    else:
        splits = KFold(n_splits=cv, shuffle=True, random_state=random_state).split(rows)
    folds = []
    for tr, va in splits:
        order = (
            _stratified_order(tr, data.codes, rng)
            if data.codes is not None
            else tr[rng.permutation(len(tr))]
        )
        folds.append(Fold(order, va))
    return folds


class CVEvaluator:
    """Scores configurations by multi-fidelity cross-validation.

    Args:
        data: Training data.
        folds: The folds (:func:`make_folds`).
        rungs: The fidelities (:func:`plan_rungs`).
        metric: The score to maximise.
        ctx: The task.
    """

    def __init__(
        self, data: Dataset, folds: list[Fold], rungs: Rungs, metric: Metric, ctx: TaskContext
    ) -> None:
        self.data = data
        self.folds = folds
        self.rungs = rungs
        self.metric = metric
        self.ctx = ctx
        self._valid = [data.rows(f.valid) for f in folds]

    def subset_size(self, fold: Fold, fraction: float) -> int:
        n = len(fold.train)
        floor = len(self.data.classes) if self.data.classes is not None else 2
        return min(n, max(int(math.ceil(fraction * n - 1e-9)), floor))

    def score_fold(self, params: dict[str, Any], fold_index: int, fraction: float) -> float:
        """Fit on ``fraction`` of a fold's training rows; score on its validation rows."""
        fold = self.folds[fold_index]
        tr = fold.train[: self.subset_size(fold, fraction)]
        pipe = build_pipeline(params, self.ctx, self.data.layout)
        fit_pipeline(pipe, take_rows(self.data.X, tr), self.data.y[tr])
        X_va, y_va = self._valid[fold_index]
        return float(self.metric.scorer(pipe, X_va, y_va))

    def run(
        self,
        trial: Any,
        params: dict[str, Any],
        *,
        prune: bool = True,
        out_of_time: Callable[[], bool] = lambda: False,
        owed: Callable[[], bool] = lambda: False,
    ) -> float:
        """Cross-validate ``params`` rung by rung, reporting the mean score after each.

        Raises :class:`~hypersearch.TrialPruned` when the scheduler stops the trial
        (only with ``prune``) or when ``out_of_time()`` says the time budget is
        spent (checked before every fit).  While ``owed()`` (no configuration has
        been evaluated on the full data yet) a trial out of time is not stopped:
        it skips its remaining smaller rungs and goes straight to the full data,
        so a search always ends with one fully evaluated configuration at the
        cost of one extra cross-validation.  Returns the full-data CV score.
        """
        score = float("nan")
        last = len(self.rungs) - 1
        for r, (fraction, step) in enumerate(zip(self.rungs.fractions, self.rungs.steps)):
            if r < last and out_of_time() and owed():
                trial.set_user_attr("skipped_rungs", True)
                continue
            scores = []
            for k in range(len(self.folds)):
                if out_of_time() and not owed():
                    trial.set_user_attr(STOP_ATTR, "time budget")
                    raise TrialPruned("stopped: the time budget is spent")
                scores.append(self.score_fold(params, k, fraction))
            score = float(np.mean(scores))
            trial.set_user_attr("fidelity", fraction)
            trial.set_user_attr("cv_std", float(np.std(scores)))
            trial.report(score, step)
            if prune and r < last and trial.should_prune():
                trial.set_user_attr(STOP_ATTR, "pruned")
                raise TrialPruned(f"pruned after {fraction:.3g} of the training data")
        return score
