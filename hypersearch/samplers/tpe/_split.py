"""Good/bad split of the observations, gamma schedules and observation weights.

Everything here is vectorised over numpy arrays of losses (objective values
multiplied by their direction's sign, so smaller is always better).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "default_gamma",
    "default_weights",
    "multi_objective_gamma",
    "nondominated_ranks",
    "split_indices",
    "sqrt_gamma",
]


def default_gamma(n: int) -> int:
    """Hyperopt/Optuna's default: the best 10 %, at most 25 observations."""
    return min(math.ceil(0.1 * n), 25)


def sqrt_gamma(n: int) -> int:
    """Hyperopt's original schedule: ``ceil(0.25 * sqrt(n))``, at most 25."""
    return min(math.ceil(0.25 * math.sqrt(n)), 25)


def multi_objective_gamma(n: int) -> int:
    """The best 10 % without a cap (MOTPE): the front needs more points than a
    single optimum."""
    return math.ceil(0.1 * n)


def default_weights(n: int) -> np.ndarray:
    """Weights of ``n`` observations ordered from oldest to newest: 1 for the
    newest 25, a linear ramp from ``1 / n`` up for the older ones (Optuna's
    ``default_weights``), so that the density of "bad" points follows where the
    search currently is."""
    if n <= 0:
        return np.zeros(0)
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - 25), np.ones(25)])


def nondominated_ranks(losses: np.ndarray, n_needed: int) -> np.ndarray:
    """Non-domination rank (0 = Pareto front) of each row of ``losses`` (minimised),
    computed front by front until ``n_needed`` rows have a rank; the rest share
    the next rank."""
    n = losses.shape[0]
    ranks = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return ranks
    col = losses[:, 0]
    le = col[:, None] <= col[None, :]
    lt = col[:, None] < col[None, :]
    for j in range(1, losses.shape[1]):  # (n, n) work arrays, never (n, n, m)
        col = losses[:, j]
        le &= col[:, None] <= col[None, :]
        lt |= col[:, None] < col[None, :]
    dom = le & lt  # dom[i, j]: i dominates j
    count = dom.sum(axis=0)
    remaining = np.ones(n, dtype=bool)
    r = 0
    assigned = 0
    while assigned < n_needed and remaining.any():
        front = remaining & (count == 0)
        ranks[front] = r
        assigned += int(front.sum())
        remaining &= ~front
        count = count - dom[front].sum(axis=0)
        r += 1
    ranks[remaining] = r
    return ranks


def _hv2d(points: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of 2-D points (minimised) below ``ref``."""
    if len(points) == 0:
        return 0.0
    p = points[np.argsort(points[:, 0], kind="stable")]
    best1 = np.minimum.accumulate(p[:, 1])
    x_next = np.append(p[1:, 0], ref[0])
    return float(np.sum((x_next - p[:, 0]) * np.maximum(ref[1] - best1, 0.0)))


def _tie_break(losses: np.ndarray, k: int) -> np.ndarray:
    """Choose ``k`` of the mutually non-dominated rows of ``losses``: greedy
    hypervolume subset selection for two and three objectives, crowding distance
    otherwise (all keep the chosen points spread along the front).  Crowding
    distance ranks the extremes of every objective first, points that are worst
    in another objective among them: with three objectives, where most trials are
    non-dominated, it alone filled the good set with them, and TPE did worse than
    random search."""
    n, m = losses.shape
    if k >= n:
        return np.arange(n)
    worst = losses.max(axis=0)
    ref = np.where(worst > 0, 1.1 * worst, 0.9 * worst) + 1e-12
    if m in (2, 3) and n <= 200:
        if m == 2:
            def volume(rows: list[int]) -> float:
                return _hv2d(losses[rows], ref)
        else:
            from hypersearch.multiobjective.hypervolume import _hv3

            def volume(rows: list[int]) -> float:
                return _hv3(losses[rows], ref)

        chosen: list[int] = []
        left = list(range(n))
        base = 0.0
        for _ in range(k):
            gains = [volume(chosen + [i]) - base for i in left]
            j = int(np.argmax(gains))
            base += gains[j]
            chosen.append(left.pop(j))
        return np.array(chosen, dtype=np.int64)
    dist = np.zeros(n)
    for j in range(m):
        order = np.argsort(losses[:, j], kind="stable")
        v = losses[order, j]
        span = v[-1] - v[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if n > 2 and span > 0:
            dist[order[1:-1]] += (v[2:] - v[:-2]) / span
    return np.argsort(-dist, kind="stable")[:k]


def split_indices(
    losses: np.ndarray,
    tier: np.ndarray,
    step: np.ndarray,
    n_below: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the good (``below``) and bad (``above``) observations.

    Args:
        losses: ``(n, n_objectives)`` losses (NaN: unknown, e.g. a pruned trial of
            a multi-objective study).
        tier: 0 for COMPLETE observations, 1 for PRUNED ones, 2 for COMPLETE ones
            that violate their constraints.  Pruned trials rank after every
            feasible complete one, deeper (larger last step) first, then by their
            last intermediate loss (like Optuna); infeasible ones last, the least
            violating first.
        step: Last reported step of pruned observations; minus the total
            violation of infeasible ones.
        n_below: How many good observations to take.

    Single objective: the ``n_below`` smallest losses.  Several objectives: whole
    non-domination fronts while they fit, the rest of the crossing front chosen
    by hypervolume contribution (2 and 3 objectives) or crowding distance.
    """
    n = losses.shape[0]
    n_below = max(0, min(int(n_below), n))
    if n_below == 0:
        return np.zeros(0, dtype=np.int64), np.arange(n)
    if n_below == n:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    m = losses.shape[1]
    complete = np.flatnonzero(tier == 0)
    pruned = np.flatnonzero(tier != 0)
    if m == 1:
        key = np.where(np.isnan(losses[:, 0]), np.inf, losses[:, 0])
        if len(pruned) == 0:  # O(n) selection, no full sort
            below = np.argpartition(key, n_below - 1)[:n_below]
        else:
            below = np.lexsort((key, -step, tier))[:n_below]
    else:
        if len(complete) <= n_below:
            below_c = complete
        else:
            lc = losses[complete]
            ranks = nondominated_ranks(lc, n_below)
            full = 0
            r = 0
            while full + int((ranks == r).sum()) <= n_below:
                full += int((ranks == r).sum())
                r += 1
            taken = np.flatnonzero(ranks < r)
            need = n_below - len(taken)
            if need > 0:
                crossing = np.flatnonzero(ranks == r)
                taken = np.concatenate([taken, crossing[_tie_break(lc[crossing], need)]])
            below_c = complete[taken]
        rest = n_below - len(below_c)
        if rest > 0 and len(pruned):
            po = pruned[np.argsort(-step[pruned], kind="stable")]
            below = np.concatenate([below_c, po[:rest]])
        else:
            below = below_c
    mask = np.ones(n, dtype=bool)
    mask[below] = False
    return np.sort(below), np.flatnonzero(mask)


GammaFn = Callable[[int], int]
