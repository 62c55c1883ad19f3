"""Statistical rigour: repeated seeds, re-evaluation of the best configurations
with significance tests, and cross-validated objectives that can be pruned.

A tuning run picks the configuration with the best *measured* value, and with
many trials the winner is often just the luckiest draw of the noise (the seed
of the initialisation, of the data shuffling, of dropout).  These helpers make
the rigorous path short:

* :func:`repeat` evaluates each configuration under several seeds; the trial's
  value is their mean and the spread is stored with it;
* :func:`compare` re-evaluates the top configurations under fresh seeds and
  says, with Welch's t-test and the Mann-Whitney U test (Holm-corrected),
  whether the winner is really better than the runner-up;
* :func:`cross_validate` runs k folds, reporting the running mean after each
  fold so a scheduler can stop a bad configuration after a few folds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study

__all__ = ["Comparison", "OverfittingWarning", "compare", "cross_validate", "repeat"]


class OverfittingWarning(UserWarning):
    """The best configurations differ by less than the seed-to-seed noise."""


def repeat(objective: Callable[[Any, int], float], seeds: Sequence[int] | int = 3) -> Callable[[Any], float]:
    """An objective that evaluates ``objective(trial, seed)`` for each seed.

    The trial's value is the mean; the per-seed values, their standard deviation
    and standard error are stored in the trial's user attributes (``repeats``,
    ``repeat_std``, ``repeat_sem``), so the noise of each configuration is known.

    Args:
        objective: ``fn(trial, seed) -> float``.
        seeds: The seeds, or how many (``0..k-1``).
    """
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("seeds must name at least one seed")

    def wrapped(trial: Any) -> float:
        values = [float(objective(trial, s)) for s in seed_list]
        arr = np.array(values)
        std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
        trial.set_user_attr("repeats", dict(zip([str(s) for s in seed_list], values)))
        trial.set_user_attr("repeat_std", std)
        trial.set_user_attr("repeat_sem", std / math.sqrt(len(arr)))
        return float(arr.mean())

    return wrapped


def cross_validate(trial: Any, fold_value: Callable[[int], float], n_folds: int) -> float:
    """Mean of ``fold_value(k)`` over ``k = 0..n_folds-1``, reported after each fold.

    After fold ``k`` the running mean is reported at step ``k``; when the study's
    scheduler says so the trial is pruned there (``TrialPruned``), so a poor
    configuration costs a few folds instead of all.  The per-fold values are
    stored in the ``fold_values`` user attribute.
    """
    from hypersearch.exceptions import TrialPruned

    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 1:
        raise ValueError(f"n_folds must be a positive integer, got {n_folds!r}")
    values: list[float] = []
    for k in range(n_folds):
        values.append(float(fold_value(k)))
        trial.report(float(np.mean(values)), k)
        trial.set_user_attr("fold_values", values)
        if trial.should_prune():
            raise TrialPruned(f"pruned after fold {k + 1} of {n_folds}")
    return float(np.mean(values))


@dataclass
class Comparison:
    """Outcome of :func:`compare`."""

    numbers: list[int]  #: trial numbers, best mean first
    params: list[dict[str, Any]]
    values: list[list[float]]  #: re-evaluated values per configuration
    means: list[float]
    ci95: list[tuple[float, float]]  #: 95% t-intervals of the means
    pairwise: dict[tuple[int, int], dict[str, float]] = field(default_factory=dict)
    winner_significant: bool = False  #: winner better than the runner-up (both tests, corrected)
    alpha: float = 0.05

    def summary(self) -> str:
        lines = ["rank  trial      mean     95% CI"]
        for r, (n, m, (lo, hi)) in enumerate(zip(self.numbers, self.means, self.ci95)):
            lines.append(f"{r + 1:>4}  {n:>5}  {m:9.4g}  [{lo:.4g}, {hi:.4g}]")
        if len(self.numbers) > 1:
            p = self.pairwise[(self.numbers[0], self.numbers[1])]
            verdict = "is" if self.winner_significant else "is NOT"
            lines.append(
                f"the winner (trial {self.numbers[0]}) {verdict} significantly better than the runner-up "
                f"(trial {self.numbers[1]}): Welch p={p['welch_p_adj']:.3g}, Mann-Whitney "
                f"p={p['mannwhitney_p_adj']:.3g} (Holm-corrected, alpha={self.alpha})"
            )
        return "\n".join(lines)


def _holm(p: list[float]) -> list[float]:
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj.tolist()


def compare(
    study: Study,
    evaluate: Callable[[dict[str, Any], int], float],
    *,
    top_k: int = 5,
    seeds: Sequence[int] | int = 10,
    alpha: float = 0.05,
) -> Comparison:
    """Re-evaluate the ``top_k`` best configurations under fresh seeds and test
    whether the best is significantly better than the others.

    Args:
        study: A single-objective study.
        evaluate: ``fn(params, seed) -> value`` (the validation metric of a
            configuration trained with that seed).
        top_k: How many of the best distinct configurations to compare.
        seeds: Fresh seeds (or how many, starting at 10_000 so that they differ
            from the seeds used while tuning).
        alpha: Significance level (after Holm's correction over all pairs).

    The result's :meth:`Comparison.summary` says plainly whether the winner beat
    the runner-up; an :class:`OverfittingWarning` is issued when the tuned
    ranking is within the seed noise.
    """
    from scipy import stats

    from hypersearch.study._history import is_feasible
    from hypersearch.trial._state import TrialState

    if len(study.directions) != 1:
        raise ValueError("compare needs a single-objective study")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 2:
        raise ValueError(f"top_k must be an integer >= 2, got {top_k!r}")
    seed_list = list(range(10_000, 10_000 + seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if len(seed_list) < 2:
        raise ValueError("seeds must give at least 2 seeds")
    sign = study.directions[0].sign()
    # infeasible trials (violated constraints) are never candidates, as for best_trial
    done = [t for t in study.get_trials([TrialState.COMPLETE], deepcopy=False) if t.values and is_feasible(t)]
    done.sort(key=lambda t: sign * t.values[0])
    picked, seen = [], []
    for t in done:
        if t.params not in seen:
            seen.append(t.params)
            picked.append(t)
        if len(picked) == top_k:
            break
    if len(picked) < 2:
        raise ValueError("compare needs at least 2 distinct feasible COMPLETE configurations")
    values = [[float(evaluate(dict(t.params), s)) for s in seed_list] for t in picked]
    means = [float(np.mean(v)) for v in values]
    order = sorted(range(len(picked)), key=lambda i: sign * means[i])
    numbers = [picked[i].number for i in order]
    vals = [values[i] for i in order]
    ms = [means[i] for i in order]
    ci = []
    for v in vals:
        sem = float(np.std(v, ddof=1) / math.sqrt(len(v)))
        h = float(stats.t.ppf(0.975, len(v) - 1)) * sem
        ci.append((float(np.mean(v)) - h, float(np.mean(v)) + h))
    pairs = [(i, j) for i in range(len(vals)) for j in range(i + 1, len(vals))]
    welch = [float(stats.ttest_ind(vals[i], vals[j], equal_var=False).pvalue) for i, j in pairs]
    mw = [float(stats.mannwhitneyu(vals[i], vals[j], alternative="two-sided").pvalue) for i, j in pairs]
    welch = [1.0 if p != p else p for p in welch]  # identical samples give NaN
    wa, ma = _holm(welch), _holm(mw)
    pairwise = {
        (numbers[i], numbers[j]): {
            "welch_p": welch[k], "welch_p_adj": wa[k], "mannwhitney_p": mw[k], "mannwhitney_p_adj": ma[k],
            "mean_difference": ms[j] - ms[i],
        }
        for k, (i, j) in enumerate(pairs)
    }
    first = pairwise[(numbers[0], numbers[1])]
    significant = first["welch_p_adj"] < alpha and first["mannwhitney_p_adj"] < alpha
    res = Comparison(numbers, [dict(picked[i].params) for i in order], vals, ms, ci, pairwise, significant, alpha)
    noise = float(np.mean([np.std(v, ddof=1) for v in vals]))
    tuned = [picked[i].values[0] for i in range(len(picked))]
    if not significant and (max(tuned) - min(tuned)) < noise:
        warnings.warn(
            f"the {len(picked)} best configurations of study {study.study_name!r} differ by "
            f"{max(tuned) - min(tuned):.3g} in the tuning values but the seed-to-seed noise is {noise:.3g}: "
            "their ranking is within the noise (the validation set may be overfitted by the search)",
            OverfittingWarning,
            stacklevel=2,
        )
    return res
