"""Which hyperparameters mattered: functional ANOVA, permutation importance and
PED-ANOVA on a study's results.

**fANOVA** (Hutter, Hoos & Leyton-Brown, "An Efficient Approach for Assessing
Hyperparameter Importance", 2014) fits a random forest to the (configuration,
value) pairs and decomposes the variance of each tree's prediction over the
whole (unit-cube) space into the share explained by each parameter alone (main
effects) and by each pair beyond their main effects (interactions).  A tree
cuts the space into boxes with constant predictions, so the marginal
prediction of a parameter is exact: at each value of the parameter, the
volume-weighted mean of the boxes containing it.  Results are averaged over the
trees, whose spread gives the uncertainty.

**Permutation** importance: how much the forest's out-of-bag error grows when
one parameter's column is shuffled.  **PED-ANOVA** (Watanabe et al., 2023):
how differently a parameter is distributed among the best trials (the top
``quantile``) than among all, measured by the Pearson divergence of the two
(kernel) densities; it needs no surrogate and reflects what the good region
looks like.

Conditional parameters are encoded as a value outside their range (-1 on the
unit scale) in trials where they are inactive, so the forest can split on
"active or not"; their importance then includes the effect of being active.
Needs scikit-learn for fANOVA and permutation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.space.distributions import BaseDistribution, CategoricalDistribution

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study

__all__ = ["Importance", "importance"]

_INACTIVE = -1.0


@dataclass
class Importance:
    """Importances of a study's parameters, largest first.

    ``values`` maps a parameter (or ``"a x b"`` for a pairwise interaction) to its
    mean share of the variance (fANOVA), mean error increase (permutation) or
    divergence (PED-ANOVA); ``std`` is the spread across trees / repeats.
    """

    method: str
    values: dict[str, float]
    std: dict[str, float] = field(default_factory=dict)
    interactions: dict[str, float] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.values)

    def items(self):
        return self.values.items()

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {v:.3f}" for k, v in list(self.values.items())[:8])
        return f"Importance({self.method}: {inner})"


def _encode(study: Study, params: Sequence[str] | None, target: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    from hypersearch.trial._state import TrialState

    trials = [t for t in study.get_trials([TrialState.COMPLETE], deepcopy=False) if t.values is not None]
    if len(trials) < 2:
        raise ValueError(f"importance needs at least 2 COMPLETE trials; study {study.study_name!r} has {len(trials)}")
    # Each parameter's distribution: the first with more than one value, so known
    # points (``add_trial`` without distributions records one-value categoricals)
    # are encoded on the searched parameter's scale.
    dists: dict[str, BaseDistribution] = {}
    for t in trials:
        for k, d in t.distributions.items():
            cur = dists.get(k)
            if cur is None or (cur.single() and not d.single()):
                dists[k] = d
    names = sorted(dists) if params is None else list(params)
    for n in names:
        if n not in dists:
            raise ValueError(f"unknown parameter {n!r}; the study's parameters are {sorted(dists)}")
    # A categorical's choices may depend on other parameters (define-by-run): its
    # codes cover every choice any trial had, each category an equal share of [0, 1].
    cats: dict[str, dict[tuple[type, Any], int]] = {}
    for n in names:
        if isinstance(dists[n], CategoricalDistribution):
            seen: dict[tuple[type, Any], int] = {}
            for t in trials:
                d = t.distributions.get(n)
                for c in (d.choices if isinstance(d, CategoricalDistribution) else ()):
                    seen.setdefault((type(c), c), len(seen))
            cats[n] = seen
    names = [n for n in names if (len(cats[n]) > 1 if n in cats else not dists[n].single())]
    if not names:
        raise ValueError("the study has no parameter with more than one value")
    X = np.full((len(trials), len(names)), _INACTIVE)
    for i, t in enumerate(trials):
        for j, n in enumerate(names):
            if n in t.params:
                d = t.distributions.get(n, dists[n])
                try:
                    if n in cats:
                        v = t.params[n]
                        X[i, j] = (cats[n][(type(v), v)] + 0.5) / len(cats[n])
                    else:
                        v = t.params[n]
                        if dists[n].contains(v):
                            X[i, j] = dists[n].to_unit(v)
                        elif not d.single() and not isinstance(d, CategoricalDistribution):
                            X[i, j] = d.to_unit(v)  # a dynamic range
                        else:  # a known point outside the searched range: at its edge
                            X[i, j] = min(max(dists[n].to_unit(v), 0.0), 1.0)
                except (ValueError, TypeError, KeyError):
                    X[i, j] = _INACTIVE
    if target is None:
        if len(study.directions) != 1:
            raise ValueError("the study has several objectives: pass target=lambda t: t.values[k]")
        y = np.array([t.values[0] for t in trials], dtype=float)
    else:
        y = np.array([float(target(t)) for t in trials], dtype=float)
    ok = np.isfinite(y)
    return names, X[ok], y[ok]


def _conditional_domains(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Domains ``[low, 1]`` per column: ``[0, 1]`` for parameters every trial has;
    for conditional ones an extra stretch below 0 for "inactive", as wide as the
    share of trials without the parameter warrants (so volumes match how often
    the branch was taken), with the inactive trials placed in its middle."""
    X = X.copy()
    lows = np.zeros(X.shape[1])
    for j in range(X.shape[1]):
        off = X[:, j] == _INACTIVE
        if off.any():
            frac = off.mean()
            w = frac / max(1.0 - frac, 1e-3)
            lows[j] = -w
            X[off, j] = -w / 2
    return X, lows


def _forest(X: np.ndarray, y: np.ndarray, n_trees: int, seed: int):
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError:
        raise ImportError("fANOVA and permutation importance need scikit-learn: pip install 'hypersearch[sklearn]'") from None
    rf = RandomForestRegressor(
        n_estimators=n_trees, max_features=max(1, int(math.ceil(X.shape[1] * 2 / 3))), min_samples_leaf=2,
        bootstrap=True, oob_score=len(y) >= 8, random_state=seed, n_jobs=1,
    )
    return rf.fit(X, y)


def _leaves(tree, lows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes ``(lo, hi)`` (``(L, d)`` each) and values ``(L,)`` of a fitted tree's
    leaves over the domain ``[lows, 1]``."""
    t = tree.tree_
    d = len(lows)
    los, his, vals = [], [], []
    stack = [(0, lows.copy(), np.ones(d))]
    while stack:
        node, lo, hi = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left == -1:
            los.append(lo)
            his.append(hi)
            vals.append(float(t.value[node].reshape(-1)[0]))
            continue
        f, thr = t.feature[node], t.threshold[node]
        lhi = hi.copy()
        lhi[f] = min(hi[f], thr)
        rlo = lo.copy()
        rlo[f] = max(lo[f], thr)
        stack.append((left, lo, lhi))
        stack.append((right, rlo, hi))
    return np.array(los), np.array(his), np.array(vals)


def _tree_fanova(lo: np.ndarray, hi: np.ndarray, v: np.ndarray, pairs: list[tuple[int, int]], lows: np.ndarray):
    """Main-effect and pairwise variance shares of one tree (exact on its boxes)."""
    lo = np.maximum(lo, lows)
    hi = np.minimum(hi, 1.0)
    width = np.maximum(hi - lo, 0.0)
    span = 1.0 - lows  # each axis spans [lows, 1]
    vol = np.prod(width / span, axis=1)
    mean = float(vol @ v)
    var = float(vol @ (v - mean) ** 2)
    d = lo.shape[1]
    mains = np.zeros(d)
    if var <= 1e-300:
        return mains, {p: 0.0 for p in pairs}, 0.0
    marg1: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for i in range(d):
        cuts = np.unique(np.concatenate([lo[:, i], hi[:, i], [lows[i], 1.0]]))
        mids = (cuts[:-1] + cuts[1:]) / 2
        lens = np.diff(cuts) / span[i]
        inside = (lo[:, i][None, :] <= mids[:, None]) & (mids[:, None] < hi[:, i][None, :])  # (m, L)
        other = vol / np.maximum(width[:, i] / span[i], 1e-300)
        a = inside.astype(float) @ (other * v)  # marginal prediction per interval
        marg1[i] = (cuts, a)
        mains[i] = float(lens @ (a - mean) ** 2)
    inter = {}
    for i, j in pairs:
        ci, ai = marg1[i]
        cj, aj = marg1[j]
        mi, mj = (ci[:-1] + ci[1:]) / 2, (cj[:-1] + cj[1:]) / 2
        li, lj = np.diff(ci) / span[i], np.diff(cj) / span[j]
        in_i = (lo[:, i][None, :] <= mi[:, None]) & (mi[:, None] < hi[:, i][None, :])
        in_j = (lo[:, j][None, :] <= mj[:, None]) & (mj[:, None] < hi[:, j][None, :])
        other = vol / np.maximum(width[:, i] * width[:, j] / (span[i] * span[j]), 1e-300)
        a2 = (in_i.astype(float) * (other * v)[None, :]) @ in_j.T.astype(float)  # (mi, mj)
        resid = a2 - ai[:, None] - aj[None, :] + mean
        inter[(i, j)] = float(li @ (resid**2) @ lj)
    return mains / var, {p: inter[p] / var for p in pairs}, var


def _fanova(names, X, y, n_trees, seed, interactions, lows):
    rf = _forest(X, y, n_trees, seed)
    d = len(names)
    pairs = list(itertools.combinations(range(d), 2)) if interactions else []
    M = []
    P = []
    for est in rf.estimators_:
        lo, hi, v = _leaves(est, lows)
        mains, inter, var = _tree_fanova(lo, hi, v, pairs, lows)
        if var > 0:
            M.append(mains)
            P.append([inter[p] for p in pairs])
    if not M:
        return Importance("fanova", dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0))
    M = np.array(M)
    out = Importance("fanova", {}, {})
    for j in np.argsort(-M.mean(0), kind="stable"):
        out.values[names[j]] = float(M[:, j].mean())
        out.std[names[j]] = float(M[:, j].std())
    if pairs:
        Pm = np.array(P).mean(0)
        for k in np.argsort(-Pm, kind="stable"):
            i, j = pairs[k]
            out.interactions[f"{names[i]} x {names[j]}"] = float(Pm[k])
    return out


def _permutation(names, X, y, n_trees, seed, repeats=5):
    rf = _forest(X, y, n_trees, seed)
    rng = np.random.default_rng(seed)
    base = float(np.mean((rf.predict(X) - y) ** 2))
    inc = np.zeros((repeats, len(names)))
    for r in range(repeats):
        for j in range(len(names)):
            Xp = X.copy()
            Xp[:, j] = rng.permutation(Xp[:, j])
            inc[r, j] = float(np.mean((rf.predict(Xp) - y) ** 2)) - base
    scale = float(np.var(y)) or 1.0
    inc /= scale
    out = Importance("permutation", {}, {})
    for j in np.argsort(-inc.mean(0), kind="stable"):
        out.values[names[j]] = float(inc[:, j].mean())
        out.std[names[j]] = float(inc[:, j].std())
    return out


def _ped_anova(names, X, y, quantile, sign):
    n = len(y)
    k = max(2, int(math.ceil(quantile * n)))
    top = np.argsort(sign * y, kind="stable")[:k]
    out = Importance("ped-anova", {}, {})
    scores = []
    for j in range(len(names)):
        col = X[:, j]
        grid = np.linspace(col.min() - 0.1, col.max() + 0.1, 256)
        bw = max(1.06 * float(np.std(col)) * len(col) ** -0.2, 0.02)  # one bandwidth for both

        def density(c, grid=grid, bw=bw):
            dens = np.exp(-0.5 * ((grid[:, None] - c[None, :]) / bw) ** 2).sum(1)
            return dens / (dens.sum() * (grid[1] - grid[0]))

        p_all, p_top = density(col), density(col[top])
        ratio = p_top / np.maximum(p_all, 1e-3 * p_all.max())
        scores.append(float(((ratio - 1.0) ** 2 * p_all).sum() * (grid[1] - grid[0])))
    scores = np.array(scores)
    for j in np.argsort(-scores, kind="stable"):
        out.values[names[j]] = float(scores[j])
    return out


def importance(
    study: Study,
    method: str = "fanova",
    *,
    params: Sequence[str] | None = None,
    target: Any = None,
    target_direction: str | None = None,
    n_trees: int = 64,
    interactions: bool = True,
    quantile: float = 0.1,
    seed: int = 0,
) -> Importance:
    """Importance of each hyperparameter of ``study``, largest first.

    Args:
        study: A study with COMPLETE trials.
        method: ``"fanova"`` (variance shares, with pairwise ``interactions``),
            ``"permutation"`` or ``"ped-anova"``.
        params: Parameters to assess (default: every parameter with more than one value).
        target: ``fn(frozen_trial) -> float`` to assess instead of the value, or the
            index of an objective (needed for multi-objective studies).
        target_direction: ``"minimize"`` or ``"maximize"``: which end of ``target``
            is good, for PED-ANOVA's top quantile (default: the objective's own
            direction for an index, ``"minimize"`` for a function).
        n_trees: Trees of the random-forest surrogate.
        quantile: Top share of trials PED-ANOVA calls good.
        seed: Seed of the forest.
    """
    if method not in ("fanova", "permutation", "ped-anova"):
        raise ValueError(f"method must be 'fanova', 'permutation' or 'ped-anova', got {method!r}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
    from hypersearch.study._direction import StudyDirection

    direction = None
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        k = int(target)
        if not 0 <= k < len(study.directions):
            raise ValueError(
                f"target={k} is no objective index of a study with {len(study.directions)} objective(s)"
            )
        direction = study.directions[k]
        target = lambda t, k=k: t.values[k]  # noqa: E731
    elif target is not None and not callable(target):
        raise TypeError(f"target must be a function of the trial or an objective index, got {target!r}")
    if target_direction is not None:
        try:
            direction = StudyDirection.parse(target_direction)
        except ValueError:
            raise ValueError(
                f"target_direction must be 'minimize' or 'maximize', got {target_direction!r}"
            ) from None
    elif direction is None:
        direction = StudyDirection.MINIMIZE if target is not None else study.directions[0]
    names, X, y = _encode(study, params, target)
    X, lows = _conditional_domains(X)
    if method == "fanova":
        return _fanova(names, X, y, n_trees, seed, interactions, lows)
    if method == "permutation":
        return _permutation(names, X, y, n_trees, seed)
    return _ped_anova(names, X, y, quantile, direction.sign())
