"""Maximisation of an acquisition function over a mixed unit-cube space.

The search space is laid out as encoded columns (see
:class:`~hypersearch.space.encoding.UnitCubeEncoder` with ``onehot=True``):

* **continuous** parameters (floats without step; log scales are linear in the
  encoding) are optimised by gradient steps;
* **discrete** parameters (ints, stepped floats) live on a finite set of
  *levels* (the encodings of their values).  They are relaxed to the interval
  during the gradient steps, then snapped to the nearest level and improved by
  a local search over neighbouring levels;
* **categorical** parameters (one column per choice) are held fixed during the
  gradient steps and improved by a local search over all other choices.

The optimiser is multi-start: a scrambled Sobol pool over the whole space plus
Gaussian perturbations of the best observed points is scored, the best
distinct points start one *batched* L-BFGS-B run (the starts are stacked into
one vector and the sum of their acquisitions is maximised, which decouples, so
each start follows its own gradient at the cost of one scipy call: the trick
BoTorch uses), and the best few results get the discrete local search.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
from scipy.stats import qmc

from hypersearch.samplers.gp._kernel import ColumnGroups
from hypersearch.space.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hypersearch.space.encoding import UnitCubeEncoder

__all__ = [
    "ParamLayout",
    "SpaceLayout",
    "local_search",
    "maximize",
    "pareto_mask",
    "perturb",
    "sample_pool",
]

# Discrete parameters with more levels than this are treated as continuous (the
# encoder rounds them on decode); enumerating their levels would cost more than
# it helps.
MAX_LEVELS = 4096


@dataclass
class ParamLayout:
    """Where one parameter lives in the encoded vector and how it is searched."""

    name: str
    kind: str  # "cont", "disc" or "cat"
    start: int
    stop: int
    levels: np.ndarray | None = None  # sorted encodings of the values (disc only)
    #: Encoded value of a parameter fixed before sampling (an enqueued partial
    #: configuration): its columns never move.
    fixed: np.ndarray | None = None


@dataclass
class SpaceLayout:
    """Column layout of an encoded search space (see :func:`SpaceLayout.from_encoder`)."""

    dim: int
    params: list[ParamLayout]
    groups: ColumnGroups
    cont_cols: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))
    disc_cols: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.intp))

    @classmethod
    def from_encoder(cls, encoder: UnitCubeEncoder) -> SpaceLayout:
        if not encoder.onehot:
            raise ValueError("the GP layout needs a one-hot encoder")
        params: list[ParamLayout] = []
        group = np.zeros(encoder.dim, dtype=np.intp)
        weight = np.ones(encoder.dim)
        cont, disc = [], []
        for g, (name, d) in enumerate(encoder.space.items()):
            s = encoder.slices[name]
            group[s] = g
            if isinstance(d, CategoricalDistribution):
                weight[s] = 0.5
                params.append(ParamLayout(name, "cat", s.start, s.stop))
                continue
            levels = _levels(d)
            if levels is None:
                params.append(ParamLayout(name, "cont", s.start, s.stop))
                cont.append(s.start)
            else:
                params.append(ParamLayout(name, "disc", s.start, s.stop, levels))
                disc.append(s.start)
        return cls(
            encoder.dim,
            params,
            ColumnGroups(group, weight),
            np.array(cont, dtype=np.intp),
            np.array(disc, dtype=np.intp),
        )

    def with_fixed(self, fixed: dict[str, np.ndarray]) -> SpaceLayout:
        """The same layout with the parameters in ``fixed`` (name -> encoded
        columns) held at those values, so the acquisition is optimised over the
        other parameters conditioned on them."""
        params = [
            ParamLayout(p.name, p.kind, p.start, p.stop, p.levels, np.asarray(fixed[p.name], dtype=float))
            if p.name in fixed
            else p
            for p in self.params
        ]
        fixed_cols = {p.start for p in params if p.fixed is not None}
        return SpaceLayout(
            self.dim,
            params,
            self.groups,
            np.array([c for c in self.cont_cols if c not in fixed_cols], dtype=np.intp),
            np.array([c for c in self.disc_cols if c not in fixed_cols], dtype=np.intp),
        )

    @property
    def free_cols(self) -> np.ndarray:
        """Columns that gradient steps move (continuous and relaxed discrete)."""
        return np.sort(np.concatenate([self.cont_cols, self.disc_cols]))

    @property
    def has_discrete(self) -> bool:
        return any(p.kind != "cont" and p.fixed is None for p in self.params)

    def snap(self, X: np.ndarray) -> np.ndarray:
        """Round discrete columns to their nearest level and categoricals to one-hot
        (in place; returns ``X``)."""
        for p in self.params:
            if p.fixed is not None:
                X[:, p.start : p.stop] = p.fixed
            elif p.kind == "disc":
                X[:, p.start] = _nearest(p.levels, X[:, p.start])  # type: ignore[arg-type]
            elif p.kind == "cat":
                seg = X[:, p.start : p.stop]
                idx = np.argmax(seg, axis=1)
                seg[:] = 0.0
                seg[np.arange(len(X)), idx] = 1.0
            else:
                np.clip(X[:, p.start], 0.0, 1.0, out=X[:, p.start])
        return X


def _levels(d: BaseDistribution) -> np.ndarray | None:
    if isinstance(d, IntDistribution):
        n = (d.high - d.low) // d.step + 1
        if n > MAX_LEVELS:
            return None
        vals = range(d.low, d.high + 1, d.step)
    elif isinstance(d, FloatDistribution) and d.step is not None:
        n = int(round((d.high - d.low) / d.step)) + 1
        if n > MAX_LEVELS:
            return None
        vals = [d.from_unit((k + 0.5) / n) for k in range(n)]
    else:
        return None
    return np.unique(np.array([d.to_unit(v) for v in vals], dtype=float))


def _nearest(levels: np.ndarray, u: np.ndarray) -> np.ndarray:
    i = np.clip(np.searchsorted(levels, u), 1, len(levels) - 1) if len(levels) > 1 else None
    if i is None:
        return np.full_like(u, levels[0])
    left, right = levels[i - 1], levels[i]
    return np.where(u - left <= right - u, left, right)


def _level_index(levels: np.ndarray, u: float) -> int:
    return int(np.argmin(np.abs(levels - u)))


def sample_pool(layout: SpaceLayout, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points of a scrambled Sobol sequence mapped into the encoded space."""
    P = len(layout.params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # balance warning for n not a power of 2
        U = qmc.Sobol(d=P, scramble=True, seed=rng).random(n)
    X = np.zeros((n, layout.dim))
    for j, p in enumerate(layout.params):
        if p.kind == "cat":
            k = p.stop - p.start
            idx = np.minimum((U[:, j] * k).astype(np.intp), k - 1)
            X[np.arange(n), p.start + idx] = 1.0
        else:
            X[:, p.start] = U[:, j]
    return layout.snap(X)


def perturb(
    layout: SpaceLayout, X0: np.ndarray, n_per: int, rng: np.random.Generator
) -> np.ndarray:
    """``n_per`` Gaussian perturbations of each row of ``X0`` (log-uniform scales
    from 0.005 to 0.2 of the unit cube; each categorical is redrawn with
    probability ``1 / n_params``)."""
    if len(X0) == 0 or n_per <= 0:
        return np.empty((0, layout.dim))
    X = np.repeat(X0, n_per, axis=0)
    m = len(X)
    scale = np.exp(rng.uniform(math.log(0.005), math.log(0.2), size=(m, 1)))
    P = len(layout.params)
    for p in layout.params:
        if p.fixed is not None:
            continue
        if p.kind == "cat":
            k = p.stop - p.start
            redraw = rng.random(m) < 1.0 / max(P, 1)
            if redraw.any():
                idx = rng.integers(k, size=int(redraw.sum()))
                rows = np.flatnonzero(redraw)
                X[rows, p.start : p.stop] = 0.0
                X[rows, p.start + idx] = 1.0
        else:
            X[:, p.start] = np.clip(X[:, p.start] + scale[:, 0] * rng.standard_normal(m), 0.0, 1.0)
    return layout.snap(X)


def _lbfgs_batch(
    fun: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    X0: np.ndarray,
    cols: np.ndarray,
    maxiter: int,
) -> np.ndarray:
    """Maximise ``fun`` from every row of ``X0`` moving only ``cols``, in one
    L-BFGS-B run over the stacked rows."""
    if len(cols) == 0 or len(X0) == 0:
        return X0.copy()
    base = X0.copy()
    k, nc = len(X0), len(cols)

    def obj(z: np.ndarray) -> tuple[float, np.ndarray]:
        X = base.copy()
        X[:, cols] = z.reshape(k, nc)
        val, grad = fun(X)
        if not np.all(np.isfinite(val)):
            val = np.where(np.isfinite(val), val, -1e10)
            grad = np.where(np.isfinite(grad), grad, 0.0)
        return -float(val.sum()), -grad[:, cols].ravel()

    z0 = np.clip(X0[:, cols], 0.0, 1.0).ravel()
    res = scipy.optimize.minimize(
        obj,
        z0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * z0.size,
        options={"maxiter": maxiter, "gtol": 1e-5, "ftol": 1e-7},
    )
    out = base
    out[:, cols] = np.clip(res.x, 0.0, 1.0).reshape(k, nc)
    return out


def local_search(
    layout: SpaceLayout,
    x: np.ndarray,
    value: float,
    f: Callable[[np.ndarray], np.ndarray],
    max_steps: int = 20,
) -> tuple[np.ndarray, float]:
    """Best-improvement hill climbing on discrete and categorical parameters.

    Neighbours of ``x``: each discrete parameter moved to the adjacent level
    above or below, each categorical set to every other choice.  All
    neighbours are scored in one batch; the best replaces ``x`` while it
    improves the acquisition.
    """
    x = x.copy()
    for _ in range(max_steps):
        nbrs = []
        for p in layout.params:
            if p.fixed is not None:
                continue
            if p.kind == "disc":
                lv = p.levels
                i = _level_index(lv, x[p.start])  # type: ignore[arg-type]
                for j in (i - 1, i + 1):
                    if 0 <= j < len(lv):  # type: ignore[arg-type]
                        y = x.copy()
                        y[p.start] = lv[j]  # type: ignore[index]
                        nbrs.append(y)
            elif p.kind == "cat":
                cur = int(np.argmax(x[p.start : p.stop]))
                for j in range(p.stop - p.start):
                    if j != cur:
                        y = x.copy()
                        y[p.start : p.stop] = 0.0
                        y[p.start + j] = 1.0
                        nbrs.append(y)
        if not nbrs:
            break
        N = np.array(nbrs)
        vals = f(N)
        b = int(np.argmax(vals))
        if not vals[b] > value + 1e-12 * max(1.0, abs(value)):
            break
        x, value = N[b], float(vals[b])
    return x, value


def _top_distinct(X: np.ndarray, vals: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-vals, kind="stable")
    picked: list[int] = []
    seen: set[bytes] = set()
    for i in order:
        if not np.isfinite(vals[i]):
            continue
        key = np.round(X[i], 12).tobytes()
        if key in seen:
            continue
        seen.add(key)
        picked.append(int(i))
        if len(picked) >= k:
            break
    return np.array(picked, dtype=np.intp)


def maximize(
    layout: SpaceLayout,
    value_fn: Callable[[np.ndarray], np.ndarray],
    value_grad_fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    pool: np.ndarray,
    pool_values: np.ndarray,
    *,
    n_starts: int = 8,
    n_local: int = 3,
    maxiter: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Refine the best pool points of one acquisition.

    Args:
        layout: Column layout of the space.
        value_fn: Acquisition values at the rows of a matrix.
        value_grad_fn: Values and gradients (``(m, d)``) at the rows of a matrix.
        pool: Candidate points (already snapped) and ``pool_values`` their values.
        n_starts: How many distinct pool points start gradient refinement.
        n_local: How many of the refined points get the discrete local search.
        maxiter: L-BFGS-B iteration limit of the batched run.

    Returns:
        ``(X, values)`` of the refined points, best first.
    """
    idx = _top_distinct(pool, pool_values, n_starts)
    if len(idx) == 0:
        return pool[:1].copy(), pool_values[:1].copy()
    X = _lbfgs_batch(value_grad_fn, pool[idx], layout.free_cols, maxiter)
    layout.snap(X)
    vals = value_fn(X)
    # Keep the starting point when snapping made a refined point worse.
    worse = ~(vals >= pool_values[idx])
    X[worse], vals[worse] = pool[idx][worse], pool_values[idx][worse]
    if layout.has_discrete:
        order = np.argsort(-vals, kind="stable")[:n_local]
        for i in order:
            x, v = local_search(layout, X[i], float(vals[i]), value_fn)
            if len(layout.cont_cols) and not np.array_equal(x, X[i]):
                # Discrete values changed: polish the continuous ones again.
                x2 = _lbfgs_batch(value_grad_fn, x[None, :], layout.cont_cols, maxiter)
                v2 = float(value_fn(x2)[0])
                if v2 > v:
                    x, v = x2[0], v2
                x, v = local_search(layout, x, v, value_fn)
            X[i], vals[i] = x, v
    order = np.argsort(-vals, kind="stable")
    return X[order], vals[order]


def pareto_mask(F: np.ndarray) -> np.ndarray:
    """Rows of ``F`` (to be maximised, one column per objective) that no other row
    dominates.  Exact duplicates are all kept.

    Rows are visited in decreasing lexicographic order, so that every row that
    dominates another comes before it; a row is then dominated exactly when a
    row already on the front dominates it (domination is transitive), which
    costs ``O(m * front size)`` instead of ``O(m**2)``.
    """
    m = len(F)
    keep = np.zeros(m, dtype=bool)
    order = np.lexsort(tuple(-F[:, j] for j in reversed(range(F.shape[1]))))
    front = np.empty((0, F.shape[1]))
    for i in order:
        f = F[i]
        if len(front):
            ge = (front >= f).all(1)
            if (ge & (front > f).any(1)).any():
                continue
        keep[i] = True
        front = np.vstack([front, f])
    return keep
