"""Variation and selection operators shared by the evolutionary samplers.

Every operator works on points of the unit cube ``[0, 1]^d`` produced by
:class:`~hypersearch.space.encoding.UnitCubeEncoder`, so one implementation
serves float, integer and categorical parameters alike; a *kind* per column
says how a column may change:

* ``CONT``: a continuous coordinate (a float, or a log-scaled integer, whose
  distribution rounds it when decoding): blended (SBX / BLX-alpha) and
  mutated by polynomial mutation.
* ``DISC``: an ordered grid of ``n`` levels (an integer or a stepped float),
  encoded at the cell centres ``(k + 0.5) / n``: inherited whole from one
  parent (uniform crossover), mutated to another level.
* ``CAT``: one of ``n`` unordered choices, encoded like ``DISC``: inherited
  whole from one parent, mutated by drawing another choice.

Children always stay in the unit cube, and ``DISC`` / ``CAT`` columns always
hold a cell centre, so decoding a child gives values of the right type inside
the bounds.

Selection: :func:`non_dominated_sort` (fast non-dominated sorting, Deb et al.
2002), its constrained form :func:`constrained_non_dominated_sort` (Deb's
constraint domination), :func:`crowding_distance`, and :func:`tournament`.
Everything draws its randomness from the ``numpy.random.Generator`` it is
given, so a seeded caller is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hypersearch.space.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hypersearch.space.encoding import UnitCubeEncoder

__all__ = [
    "CAT",
    "CONT",
    "DISC",
    "binomial_crossover",
    "blend_crossover",
    "breed",
    "bounce_back",
    "column_kinds",
    "constrained_non_dominated_sort",
    "crowding_distance",
    "de_mutant",
    "mixed_crossover",
    "mutate",
    "non_dominated_sort",
    "polynomial_mutation",
    "pso_step",
    "sbx_crossover",
    "snap",
    "tournament",
    "uniform_crossover",
]

CONT, DISC, CAT = 0, 1, 2


# -- column kinds ---------------------------------------------------------------------


#: Beyond this many values a stepped parameter is searched as continuous (and then
#: rounded): cells of width 1/levels are far below any search's resolution, and
#: CMA-ES's integer margin breaks down numerically on them.
_MAX_LEVELS = 2**20


def _levels(d: BaseDistribution) -> tuple[int, int]:
    """``(kind, number of levels)`` of one distribution (levels 0 for ``CONT``)."""
    if isinstance(d, CategoricalDistribution):
        return CAT, len(d.choices)
    n = 0
    if isinstance(d, IntDistribution) and not d.log:
        n = (d.high - d.low) // d.step + 1
    elif isinstance(d, FloatDistribution) and d.step is not None:
        n = int(round((d.high - d.low) / d.step)) + 1
    return (DISC, n) if 0 < n <= _MAX_LEVELS else (CONT, 0)


def column_kinds(encoder: UnitCubeEncoder) -> tuple[np.ndarray, np.ndarray]:
    """Kind (``CONT``/``DISC``/``CAT``) and number of levels of every column of an
    ordinal (``onehot=False``) encoder."""
    if encoder.onehot:
        raise ValueError("column_kinds needs an encoder built with onehot=False")
    kinds = np.zeros(encoder.dim, dtype=np.int64)
    levels = np.zeros(encoder.dim, dtype=np.int64)
    for name, d in encoder.space.items():
        j = encoder.slices[name].start
        kinds[j], levels[j] = _levels(d)
    return kinds, levels


def snap(x: np.ndarray, kinds: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``x`` clipped to the unit cube, with ``DISC`` and ``CAT`` columns moved to
    the centre of the cell they fall in."""
    x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
    grid = kinds != CONT
    if grid.any():
        n = levels[grid].astype(float)
        k = np.minimum(np.floor(x[grid] * n), n - 1)
        x[grid] = (k + 0.5) / n
    return x


# -- crossover ------------------------------------------------------------------------


def sbx_crossover(
    p1: np.ndarray,
    p2: np.ndarray,
    rng: np.random.Generator,
    eta: float = 15.0,
    prob_var: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated binary crossover bounded to ``[0, 1]`` (Deb & Agrawal 1995; the
    bounded form of the NSGA-II reference code).

    Each coordinate is crossed with probability ``prob_var``; larger ``eta``
    keeps children closer to their parents.  Returns two children.
    """
    p1 = np.asarray(p1, dtype=float)
    p2 = np.asarray(p2, dtype=float)
    c1, c2 = p1.copy(), p2.copy()
    cross = (rng.random(p1.shape) < prob_var) & (np.abs(p1 - p2) > 1e-14)
    u = rng.random(p1.shape)
    swap = rng.random(p1.shape) < 0.5
    if not cross.any():
        return np.clip(c1, 0.0, 1.0), np.clip(c2, 0.0, 1.0)
    y1 = np.minimum(p1, p2)[cross]
    y2 = np.maximum(p1, p2)[cross]
    r = u[cross]
    diff = y2 - y1
    e1 = 1.0 / (eta + 1.0)

    def betaq(beta: np.ndarray) -> np.ndarray:
        alpha = 2.0 - np.power(beta, -(eta + 1.0))
        lo = r <= 1.0 / alpha
        out = np.empty_like(beta)
        out[lo] = np.power(r[lo] * alpha[lo], e1)
        out[~lo] = np.power(1.0 / (2.0 - r[~lo] * alpha[~lo]), e1)
        return out

    low = 0.5 * ((y1 + y2) - betaq(1.0 + 2.0 * y1 / diff) * diff)
    high = 0.5 * ((y1 + y2) + betaq(1.0 + 2.0 * (1.0 - y2) / diff) * diff)
    low = np.clip(low, 0.0, 1.0)
    high = np.clip(high, 0.0, 1.0)
    s = swap[cross]
    c1[cross] = np.where(s, high, low)
    c2[cross] = np.where(s, low, high)
    return np.clip(c1, 0.0, 1.0), np.clip(c2, 0.0, 1.0)


def blend_crossover(
    p1: np.ndarray, p2: np.ndarray, rng: np.random.Generator, alpha: float = 0.5
) -> np.ndarray:
    """BLX-alpha: each coordinate drawn uniformly from the parents' interval
    widened by ``alpha`` times its length on both sides, clipped to ``[0, 1]``."""
    p1 = np.asarray(p1, dtype=float)
    p2 = np.asarray(p2, dtype=float)
    lo, hi = np.minimum(p1, p2), np.maximum(p1, p2)
    d = hi - lo
    child = lo - alpha * d + rng.random(p1.shape) * (1.0 + 2.0 * alpha) * d
    return np.clip(child, 0.0, 1.0)


def uniform_crossover(p1: np.ndarray, p2: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each coordinate copied from one parent or the other with equal chance."""
    p1 = np.asarray(p1, dtype=float)
    p2 = np.asarray(p2, dtype=float)
    return np.where(rng.random(p1.shape) < 0.5, p2, p1)


def mixed_crossover(
    p1: np.ndarray,
    p2: np.ndarray,
    kinds: np.ndarray,
    rng: np.random.Generator,
    *,
    method: str = "sbx",
    eta: float = 15.0,
    alpha: float = 0.5,
) -> np.ndarray:
    """One child of two parents: ``CONT`` columns by SBX (``method="sbx"``),
    BLX-alpha (``"blend"``) or uniform crossover (``"uniform"``); ``DISC`` and
    ``CAT`` columns by uniform crossover (a level is inherited whole, never
    averaged into a value between two categories)."""
    p1 = np.asarray(p1, dtype=float)
    p2 = np.asarray(p2, dtype=float)
    child = uniform_crossover(p1, p2, rng)
    cont = kinds == CONT
    if cont.any():
        if method == "sbx":
            a, b = sbx_crossover(p1[cont], p2[cont], rng, eta=eta)
            child[cont] = a if rng.random() < 0.5 else b
        elif method == "blend":
            child[cont] = blend_crossover(p1[cont], p2[cont], rng, alpha=alpha)
        elif method != "uniform":
            raise ValueError(f"unknown crossover method {method!r}")
    return np.clip(child, 0.0, 1.0)


# -- mutation -------------------------------------------------------------------------


def polynomial_mutation(
    x: np.ndarray, rng: np.random.Generator, eta: float = 20.0, prob: float = 1.0
) -> np.ndarray:
    """Bounded polynomial mutation on ``[0, 1]`` (Deb & Goyal 1996): each
    coordinate moves with probability ``prob``, by a perturbation whose spread
    shrinks with ``eta`` and which never leaves the bounds."""
    x = np.asarray(x, dtype=float).copy()
    hit = rng.random(x.shape) < prob
    r = rng.random(x.shape)
    if not hit.any():
        return x
    y = np.clip(x[hit], 0.0, 1.0)
    r = r[hit]
    p = 1.0 / (eta + 1.0)
    lo = r < 0.5
    dq = np.empty_like(y)
    xy = 1.0 - y[lo]
    dq[lo] = np.power(2.0 * r[lo] + (1.0 - 2.0 * r[lo]) * np.power(xy, eta + 1.0), p) - 1.0
    xy = y[~lo]  # 1 - delta2 with delta2 = 1 - y
    dq[~lo] = 1.0 - np.power(
        2.0 * (1.0 - r[~lo]) + 2.0 * (r[~lo] - 0.5) * np.power(xy, eta + 1.0), p
    )
    x[hit] = np.clip(y + dq, 0.0, 1.0)
    return x


def mutate(
    x: np.ndarray,
    kinds: np.ndarray,
    levels: np.ndarray,
    rng: np.random.Generator,
    *,
    prob: float | np.ndarray,
    eta: float = 20.0,
) -> np.ndarray:
    """Type-preserving mutation: each column changes with probability ``prob``
    (a number, or one per column).

    ``CONT`` columns get a polynomial mutation; ``DISC`` columns a polynomial
    mutation snapped to a grid level, moved one level further when that lands
    on the same level (so a mutated column always changes); ``CAT`` columns a
    uniformly drawn *other* choice.  The result stays in the unit cube with
    every ``DISC`` / ``CAT`` column on a cell centre.
    """
    x = snap(x, kinds, levels)
    hit = rng.random(x.shape) < prob
    r = rng.random(x.shape)  # drawn for every column: the stream does not depend on hits
    cont = hit & (kinds == CONT)
    if cont.any():
        x[cont] = polynomial_mutation(x[cont], rng, eta=eta)
    for j in np.flatnonzero(hit & (kinds != CONT)):
        n = int(levels[j])
        if n < 2:
            continue
        k = min(int(x[j] * n), n - 1)
        if kinds[j] == CAT:
            new = int(r[j] * (n - 1))
            new = new + 1 if new >= k else new  # any choice but the current one
        else:
            y = float(polynomial_mutation(np.array([x[j]]), rng, eta=eta)[0])
            new = min(int(y * n), n - 1)
            if new == k:
                step = 1 if r[j] < 0.5 else -1
                new = k + step if 0 <= k + step < n else k - step
        x[j] = (new + 0.5) / n
    return x


def breed(
    p1: np.ndarray,
    p2: np.ndarray,
    kinds: np.ndarray,
    levels: np.ndarray,
    rng: np.random.Generator,
    *,
    crossover_prob: float,
    method: str,
    eta_crossover: float,
    alpha: float,
    mutation_prob: float,
    eta_mutation: float,
) -> np.ndarray:
    """One child of two parents (the GA and NSGA-II variation step): crossover
    with probability ``crossover_prob`` (else a copy of ``p1``), then mutation.
    A child identical to a parent (likely in small discrete spaces) gets one
    randomly chosen parameter mutated, so no trial repeats its parent."""
    p1 = snap(p1, kinds, levels)
    p2 = snap(p2, kinds, levels)
    if rng.random() < crossover_prob:
        child = mixed_crossover(p1, p2, kinds, rng, method=method, eta=eta_crossover, alpha=alpha)
    else:
        child = p1.copy()
    child = mutate(child, kinds, levels, rng, prob=mutation_prob, eta=eta_mutation)
    for _ in range(8):
        if not (np.array_equal(child, p1) or np.array_equal(child, p2)):
            break
        # mutate a column the parents share when there is one: the child then
        # differs from both
        same = np.flatnonzero((p1 == p2) & ((kinds == CONT) | (levels >= 2)))
        cols = same if same.size else np.arange(len(child))
        one = np.zeros(len(child))
        one[int(cols[int(rng.integers(len(cols)))])] = 1.0
        child = mutate(child, kinds, levels, rng, prob=one, eta=eta_mutation)
    return child


# -- differential evolution and particle swarm ---------------------------------------------


def de_mutant(
    strategy: str,
    target: np.ndarray,
    best: np.ndarray,
    r: Sequence[np.ndarray],
    F: float,
) -> np.ndarray:
    """The DE mutant vector: ``"rand/1"`` is ``r0 + F (r1 - r2)``;
    ``"current-to-best/1"`` is ``target + F (best - target) + F (r0 - r1)``."""
    if strategy == "rand/1":
        return r[0] + F * (r[1] - r[2])
    if strategy == "current-to-best/1":
        return target + F * (best - target) + F * (r[0] - r[1])
    raise ValueError(f"unknown DE strategy {strategy!r}")


def binomial_crossover(
    target: np.ndarray,
    mutant: np.ndarray,
    CR: float,
    groups: Sequence[slice],
    rng: np.random.Generator,
) -> np.ndarray:
    """DE's binomial crossover, one decision per parameter (``groups``: the
    columns of each parameter, e.g. the one-hot block of a categorical): each
    parameter comes from the mutant with probability ``CR``, and one randomly
    chosen parameter always does, so the trial vector differs from the target."""
    out = np.asarray(target, dtype=float).copy()
    take = rng.random(len(groups)) < CR
    take[int(rng.integers(len(groups)))] = True
    for g, t in zip(groups, take):
        if t:
            out[g] = mutant[g]
    return out


def bounce_back(v: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Repair coordinates outside ``[0, 1]`` by moving them halfway from ``base``
    (inside the cube) to the violated bound, which keeps DE's search direction
    instead of piling points on the boundary."""
    v = np.asarray(v, dtype=float).copy()
    base = np.clip(np.asarray(base, dtype=float), 0.0, 1.0)
    lo, hi = v < 0.0, v > 1.0
    v[lo] = base[lo] / 2.0
    v[hi] = (base[hi] + 1.0) / 2.0
    return v


def pso_step(
    x: np.ndarray,
    v: np.ndarray,
    pbest: np.ndarray,
    gbest: np.ndarray,
    rng: np.random.Generator,
    *,
    inertia: float,
    cognitive: float,
    social: float,
    v_max: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One particle-swarm move in the unit cube:
    ``v' = w v + c1 r1 (pbest - x) + c2 r2 (gbest - x)``, each component
    clamped to ``[-v_max, v_max]``, then ``x' = clip(x + v', 0, 1)``.  Returns
    ``(x', x' - x)``: the velocity actually travelled after the clip."""
    r1 = rng.random(x.shape)
    r2 = rng.random(x.shape)
    v_new = inertia * v + cognitive * r1 * (pbest - x) + social * r2 * (gbest - x)
    v_new = np.clip(v_new, -v_max, v_max)
    x_new = np.clip(x + v_new, 0.0, 1.0)
    return x_new, x_new - x


# -- selection ------------------------------------------------------------------------


def non_dominated_sort(F: np.ndarray) -> np.ndarray:
    """Front index of every row of ``F`` (``n x m``, all objectives minimised;
    0 is the Pareto front).  Fast non-dominated sorting, vectorised:
    ``O(m n^2)`` comparisons."""
    F = np.asarray(F, dtype=float)
    n = len(F)
    ranks = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return ranks
    le = (F[:, None, :] <= F[None, :, :]).all(axis=2)
    lt = (F[:, None, :] < F[None, :, :]).any(axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    count = dom.sum(axis=0)
    front = np.flatnonzero(count == 0)
    r = 0
    while front.size:
        ranks[front] = r
        count = count - dom[front].sum(axis=0)
        front = np.flatnonzero((count == 0) & (ranks < 0))
        r += 1
    return ranks


def constrained_non_dominated_sort(F: np.ndarray, violation: np.ndarray | None) -> np.ndarray:
    """Front indices under Deb's constraint domination: a feasible point
    (``violation == 0``) dominates every infeasible one; of two infeasible
    points the one with the smaller total violation dominates; feasible points
    compare by Pareto dominance.  Infeasible points therefore come after every
    feasible front, one front per distinct violation, smallest first."""
    F = np.asarray(F, dtype=float)
    if violation is None:
        return non_dominated_sort(F)
    violation = np.asarray(violation, dtype=float)
    ranks = np.empty(len(F), dtype=np.int64)
    feas = violation <= 0.0
    ranks[feas] = non_dominated_sort(F[feas])
    if (~feas).any():
        base = int(ranks[feas].max()) + 1 if feas.any() else 0
        levels, inverse = np.unique(violation[~feas], return_inverse=True)
        ranks[~feas] = base + inverse.reshape(-1)
    return ranks


def crowding_distance(F: np.ndarray) -> np.ndarray:
    """Crowding distance of the points of one front (``n x m``): per objective,
    the gap between a point's two neighbours divided by the objective's range,
    summed; the extreme points of every objective get ``inf``."""
    F = np.asarray(F, dtype=float)
    n, m = F.shape if F.ndim == 2 else (len(F), 1)
    F = F.reshape(n, m)
    d = np.zeros(n)
    if n <= 2:
        d[:] = np.inf
        return d
    for j in range(m):
        order = np.argsort(F[:, j], kind="stable")
        f = F[order, j]
        span = f[-1] - f[0]
        d[order[0]] = d[order[-1]] = np.inf
        if span > 0:
            d[order[1:-1]] += (f[2:] - f[:-2]) / span
    return d


def tournament(keys: np.ndarray, size: int, rng: np.random.Generator) -> int:
    """Index of the winner of a tournament among ``size`` members drawn without
    replacement (with replacement if there are fewer members): the one with the
    smallest ``key`` (ties: the first drawn)."""
    keys = np.asarray(keys)
    n = len(keys)
    if n == 0:
        raise ValueError("tournament needs at least one member")
    idx = rng.choice(n, size=size, replace=n < size)
    return int(idx[int(np.argmin(keys[idx]))])
