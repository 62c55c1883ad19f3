"""The Tree-structured Parzen Estimator sampler."""

from __future__ import annotations

import functools
import math
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.samplers.base import BaseSampler, draw_seed, trial_rng, trial_uniform
from hypersearch.space.distributions import BaseDistribution

from ._parzen import DimSpec, ParzenEstimator
from ._split import (
    default_gamma,
    default_weights,
    multi_objective_gamma,
    split_indices,
    sqrt_gamma,
)
from ._store import Group, Snapshot, Store

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.trial._trial import Trial

__all__ = ["TPESampler"]


@functools.lru_cache(maxsize=256)
def _permutation(seed: int, name: str, n: int) -> tuple[int, ...]:
    rng = trial_rng(seed, 1 << 40, 0, name)  # a stream no trial number reaches
    return tuple(int(i) for i in rng.permutation(n))


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


_GAMMAS: dict[str, Callable[[int], int]] = {"default": default_gamma, "sqrt": sqrt_gamma}
_BANDWIDTHS = ("neighbor", "scott")


class TPESampler(BaseSampler):
    """Tree-structured Parzen Estimator (TPE) search.

    After ``n_startup_trials`` space-filling random trials (a Latin hypercube by
    default), the observations are split into a small set of *good* ones (the
    best ``gamma(n)``) and the *bad* rest; each set is modelled by a Parzen
    estimator (a mixture with one kernel per observation plus a broad prior
    kernel), ``l(x)`` for the good and ``g(x)`` for the bad.  The sampler draws
    ``n_ei_candidates`` points from ``l`` and proposes the one maximising
    ``l(x) / g(x)``, which is equivalent to maximising expected improvement under
    the TPE model (Bergstra et al., 2011)::

        study = hs.create_study(sampler=TPESampler(seed=0))
        study.optimize(objective, n_trials=50)

    **Joint modelling of conditional and dynamic spaces.**  With
    ``multivariate=True`` (default) parameters are modelled jointly, with one
    product-kernel mixture per *co-occurrence group*: parameters that always
    appear together in the finished trials (the root of a conditional space;
    the parameters of one branch).  Each group is fitted on the trials that hold
    it; its good trials are those below the study-wide ``gamma(n)`` threshold,
    plus at least the best ``gamma(n_group)`` of its own (so a branch, or a
    parameter added mid-study, whose trials all rank badly overall is still
    refined around its best points).  With
    ``conditional=True`` (default), a group below others (a branch, which never
    occurs without the root) is modelled jointly *with* the parameters above it
    and sampled from the conditional mixture given the values already proposed
    for them, so a branch's parameters follow the root's choice instead of being
    drawn independently.  Unlike an intersection search space, adding a
    conditional parameter never makes the other parameters fall back to
    independent sampling.

    Parameters the joint proposal does not cover (a parameter never seen
    before, or a dynamic one suggested with other bounds or choices than the
    modelled ones) go to :meth:`sample_independent`: a univariate TPE over all
    past values of that name that fall inside the current distribution
    (categorical values not among the current choices are ignored), with the
    same good/bad split, and conditioned on the already-suggested parameters it
    always occurs with.

    **Domains.**  Float parameters are modelled in ``[0, 1]`` (in log space for
    ``log=True``) with truncated Gaussian kernels.  Integers and stepped floats
    use the same kernels but discretised: the probability of a value is the
    kernel mass of its cell, and draws are rounded to a grid value.  Categorical
    parameters use smoothed-indicator kernels (the observed choice plus
    ``prior_weight / (n + 1)`` on every choice), never Gaussians on indices.

    **Splitting.**  Single objective: by ``sign * value`` (smaller is better).
    Several objectives: by non-domination rank (MOTPE), the crossing front
    tie-broken by greedy hypervolume contribution (2 and 3 objectives) or crowding
    distance, and the good observations weighted by their exclusive hypervolume
    contribution (up to 3 objectives).  PRUNED trials are kept as observations
    ranked after every COMPLETE one (deeper first, then by their last
    intermediate value), as in Optuna; FAIL trials are ignored.  A COMPLETE
    trial whose ``constraints`` system attribute is violated (any value > 0; the
    objective sets it with ``trial.set_system_attr("constraints", [...])``)
    ranks after all of them, the least violating first, so the search stays in
    the feasible region.  Enqueued (warm-start) trials are ordinary observations.

    **Parallel workers.**  With ``constant_liar=True`` (default), trials still
    running (``study.running_trials()``, with the parameters suggested so far,
    plus the joint proposal this sampler made for them in this process) are
    added to the bad set, so concurrent workers do not all propose the same
    point.  Configurations rejected by a constraint in the current trial
    are added to the bad set of its re-draws in the same way, and every re-draw
    uses a new random stream (``trial.attempt``).

    **Cost.**  Observations are appended to per-parameter numpy buffers as
    trials finish (:meth:`on_trial_finished`), and their encoding in the model
    domain is cached per distribution, so a suggestion does no Python loop over
    the history: a vectorised split (``argpartition``), bandwidths, and a
    ``candidates x kernels`` likelihood matrix.  The bad-set estimator keeps at
    most ``max_kernels`` kernels (a weighted subsample beyond), so the cost of a
    suggestion levels off in long studies.

    Args:
        n_startup_trials: Trials drawn by the startup design (see ``startup``)
            before the model is used.
        n_ei_candidates: Candidates drawn from ``l(x)`` per proposal.
        gamma: How many observations are "good" out of ``n``: ``"default"``
            (``min(ceil(0.1 n), 25)``; uncapped ``ceil(0.1 n)`` for several
            objectives), ``"sqrt"`` (``min(ceil(0.25 sqrt(n)), 25)``) or a callable
            ``n -> int``.
        weights: Callable ``n -> array`` of the weights of ``n`` observations
            ordered from oldest to newest (default: 1 for the newest 25, a linear
            ramp down for older ones).  Applied to the bad set, and to the good
            set of single-objective studies.
        prior_weight: Weight of the prior kernel (> 0).
        consider_magic_clip: Floor every bandwidth at ``1 / min(100, n + 1)`` of
            the domain so that kernels never collapse.
        consider_endpoints: Count the domain bounds as neighbours of the extreme
            observations when setting bandwidths.
        multivariate: Model parameters jointly (per co-occurrence group); with
            ``False`` every parameter gets its own univariate TPE.
        group: Decompose the space into co-occurrence groups (default).  With
            ``False`` only the parameters present in every trial are modelled
            jointly and the others univariately (Optuna's default behaviour).
        conditional: Sample a group conditionally on the values proposed for
            the groups above it.
        constant_liar: Treat running trials as bad observations.
        bandwidth: ``"neighbor"`` (Hyperopt/Optuna's heuristic: distance to the
            farther neighbour, per dimension) or ``"scott"`` (Scott's rule).
        startup: Design of the ``n_startup_trials`` first trials: ``"lhs"`` (a
            Latin hypercube: each parameter's range is cut into
            ``n_startup_trials`` strata and each startup trial takes a different
            one, so the startup covers every range evenly) or ``"random"``.
            Either way a trial's values depend only on the seed, its number and
            the parameter's name (parallel- and order-independent).
        max_kernels: Most kernels of the bad-set estimator ``g``.  Beyond it, the
            bad observations are represented by a weighted systematic sample
            (inclusion probability proportional to their weight, Horvitz-Thompson
            reweighting, so ``g`` stays unbiased), which bounds the cost of a
            suggestion in long studies.  ``None``: no bound.
        seed: Seed of the random streams; ``None`` draws one (and the study
            records it, so a resumed study continues the same streams).
    """

    needs_finished_trials = False  # keeps its own statistics from on_trial_finished

    def __init__(
        self,
        *,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        gamma: str | Callable[[int], int] = "default",
        weights: Callable[[int], Sequence[float] | np.ndarray] | None = None,
        prior_weight: float = 1.0,
        consider_magic_clip: bool = True,
        consider_endpoints: bool = False,
        multivariate: bool = True,
        group: bool = True,
        conditional: bool = True,
        constant_liar: bool = True,
        bandwidth: str = "neighbor",
        startup: str = "lhs",
        max_kernels: int | None = 1024,
        seed: int | None = None,
    ) -> None:
        if not _is_int(n_startup_trials) or n_startup_trials < 0:
            raise ValueError(
                f"n_startup_trials must be a non-negative integer, got {n_startup_trials!r}"
            )
        if not _is_int(n_ei_candidates) or n_ei_candidates < 1:
            raise ValueError(f"n_ei_candidates must be a positive integer, got {n_ei_candidates!r}")
        if isinstance(gamma, str):
            if gamma not in _GAMMAS:
                raise ValueError(
                    f"gamma must be one of {sorted(_GAMMAS)} or a callable n -> int, got {gamma!r}"
                )
        elif not callable(gamma):
            raise ValueError(f"gamma must be a string or a callable n -> int, got {gamma!r}")
        if weights is not None and not callable(weights):
            raise ValueError(f"weights must be a callable n -> array of weights, got {weights!r}")
        if (
            isinstance(prior_weight, bool)
            or not isinstance(prior_weight, (int, float, np.integer, np.floating))
            or not math.isfinite(prior_weight)
            or prior_weight <= 0
        ):
            raise ValueError(f"prior_weight must be a finite number > 0, got {prior_weight!r}")
        if max_kernels is not None and (not _is_int(max_kernels) or max_kernels < 32):
            raise ValueError(f"max_kernels must be an integer >= 32 or None, got {max_kernels!r}")
        if startup not in ("lhs", "random"):
            raise ValueError(f"startup must be 'lhs' or 'random', got {startup!r}")
        if bandwidth not in _BANDWIDTHS:
            raise ValueError(f"bandwidth must be one of {list(_BANDWIDTHS)}, got {bandwidth!r}")
        for arg, v in (
            ("consider_magic_clip", consider_magic_clip),
            ("consider_endpoints", consider_endpoints),
            ("multivariate", multivariate),
            ("group", group),
            ("conditional", conditional),
            ("constant_liar", constant_liar),
        ):
            if not isinstance(v, (bool, np.bool_)):
                raise ValueError(f"{arg} must be a bool, got {v!r}")
        if seed is not None and not _is_int(seed):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        self.n_startup_trials = int(n_startup_trials)
        self.n_ei_candidates = int(n_ei_candidates)
        self.gamma = gamma
        self.weights = weights
        self.prior_weight = float(prior_weight)
        self.consider_magic_clip = bool(consider_magic_clip)
        self.consider_endpoints = bool(consider_endpoints)
        self.multivariate = bool(multivariate)
        self.group = bool(group)
        self.conditional = bool(conditional)
        self.constant_liar = bool(constant_liar)
        self.bandwidth = bandwidth
        self.startup = startup
        self.max_kernels = None if max_kernels is None else int(max_kernels)
        self.seed = draw_seed() if seed is None else int(seed)
        self._explicit_seed = seed is not None
        self._lock = threading.Lock()
        self._stores: weakref.WeakKeyDictionary[Study, Store] = weakref.WeakKeyDictionary()
        self._specs: dict[BaseDistribution, DimSpec] = {}
        self._rejected: dict[tuple[int, int], list[dict[str, Any]]] = {}
        # joint proposals of trials still running in this process, so that the
        # constant liar sees them before the objective has suggested anything
        self._pending: dict[tuple[int, int], dict[str, Any]] = {}

    # -- state -------------------------------------------------------------------------
    def attach(self, study: Study) -> None:
        super().attach(study)
        self._store(study, catch_up=False)

    def on_trial_finished(self, study: Study, trial: FrozenTrial) -> None:
        self._store(study, catch_up=False).add(trial)
        key = (id(study), trial.number)
        if key in self._rejected or key in self._pending:
            with self._lock:
                self._rejected.pop(key, None)
                self._pending.pop(key, None)

    def on_reject(self, study: Study, trial: Trial) -> None:
        params = trial.params
        if params:
            with self._lock:
                self._rejected.setdefault((id(study), trial.number), []).append(params)

    def _store(self, study: Study, catch_up: bool = True) -> Store:
        """The study's observation store; with ``catch_up``, first ingest finished
        trials it has not seen (a sampler used on a study it was not attached
        to, or a listener that has not run yet)."""
        st = self._stores.get(study)
        if st is None:
            with self._lock:
                st = self._stores.get(study)
                if st is None:
                    st = Store(len(study.directions), [d.sign() for d in study.directions])
                    self._stores[study] = st
        if catch_up and study.history.n_finished > len(st.seen):
            for t in study.history.all_trials():
                if t.state.is_finished():
                    st.add(t)
        return st

    def _spec(self, dist: BaseDistribution) -> DimSpec:
        spec = self._specs.get(dist)
        if spec is None:
            if len(self._specs) > 4096:
                self._specs.clear()
            spec = self._specs[dist] = DimSpec(dist)
        return spec

    # -- the sampler interface ---------------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: Trial
    ) -> dict[str, BaseDistribution]:
        if not self.multivariate:
            return {}
        st = self._store(study)
        if st.n < max(self.n_startup_trials, 1):
            return {}
        groups, _, inter = st.groups()
        names = [n for g in groups for n in g.names] if self.group else list(inter)
        space = {}
        for name in sorted(names):
            d = st.latest_distribution(name)
            if d is not None and not d.single():
                space[name] = d
        return space

    def sample_relative(
        self, study: Study, trial: Trial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        st = self._store(study)
        liars = self._liars(study, trial)
        groups, _, inter = st.groups()
        if not self.group:
            groups = [Group(tuple(inter), (), st.n)]
        snap = st.snapshot(list(search_space))
        rng = trial_rng(self.seed, trial.number, trial.attempt)
        proposal: dict[str, Any] = {}
        chosen: dict[str, float] = {}  # name -> unit coordinate / choice index
        # values fixed before sampling (an enqueued partial configuration) are
        # not proposed, but the other parameters are conditioned on them
        fixed = {}
        params = trial.params
        for name, value in params.items():
            if name in search_space:
                u = self._spec(search_space[name]).encode_value(value)
                if not math.isnan(u):
                    fixed[name] = chosen[name] = u
        for g in groups:
            present = [n for n in g.names if n in search_space and n in snap.columns]
            names = [n for n in present if n not in params]
            if not names:
                continue
            ctx = [a for a in g.ancestors if a in chosen] if self.conditional else []
            ctx += [n for n in present if n in fixed]
            dists = [search_space[n] for n in ctx + names]
            rows = snap.columns[names[0]].rows
            x = self._propose(
                st, snap, study, rows, ctx + names, dists, [chosen[a] for a in ctx], liars, rng
            )
            if x is None:
                continue
            for name, dist, u in zip(names, dists[len(ctx):], x.tolist()):
                value = self._spec(dist).decode(u)
                if dist.contains(value):
                    proposal[name] = value
                    chosen[name] = float(u)
        if self.constant_liar:
            with self._lock:
                self._pending[(id(study), trial.number)] = proposal
        return proposal

    def sample_independent(
        self, study: Study, trial: Trial, name: str, distribution: BaseDistribution
    ) -> Any:
        st = self._store(study)
        if st.n >= max(self.n_startup_trials, 1):
            value = self._sample_univariate(st, study, trial, name, distribution)
            if value is not None and distribution.contains(value):
                return value
        u = trial_uniform(self.seed, trial.number, trial.attempt, name)
        n = self.n_startup_trials
        if self.startup == "lhs" and trial.attempt == 0 and trial.number < n:
            # Latin hypercube over the startup trials: trial i takes stratum
            # perm[i] of each parameter, the permutation seeded by (seed, name).
            stratum = _permutation(self.seed, name, n)[trial.number]
            u = (stratum + u) / n
        return distribution.from_unit(u)

    def _sample_univariate(
        self, st: Store, study: Study, trial: Trial, name: str, dist: BaseDistribution
    ) -> Any:
        ctx_names: list[str] = []
        ctx_x: list[float] = []
        ctx_dists: list[BaseDistribution] = []
        if self.conditional and self.multivariate:
            _, group_of, _ = st.groups()
            g = group_of.get(name)
            if g is not None:
                params, dists = trial.params, trial.distributions
                for other in (*g.ancestors, *g.names):
                    if other == name or other not in params or other not in dists:
                        continue
                    d = dists[other]
                    if d.single():
                        continue
                    u = self._spec(d).encode_value(params[other])
                    if not math.isnan(u):
                        ctx_names.append(other)
                        ctx_x.append(u)
                        ctx_dists.append(d)
        snap = st.snapshot([name, *ctx_names])
        col = snap.column(name)
        if col is None or len(col.rows) == 0:
            return None
        liars = self._liars(study, trial)
        rng = trial_rng(self.seed, trial.number, trial.attempt, name)
        x = self._propose(
            st, snap, study, col.rows, [*ctx_names, name], [*ctx_dists, dist], ctx_x, liars, rng,
            require_data=True,
        )
        if x is None:
            return None
        return self._spec(dist).decode(x[0])

    # -- the model -------------------------------------------------------------------------
    def _liars(self, study: Study, trial: Trial) -> list[tuple[int, dict[str, Any]]]:
        out: list[tuple[int, dict[str, Any]]] = []
        if self.constant_liar:
            sid = id(study)
            for t in study.running_trials():
                if t.number == trial.number:
                    continue
                pending = self._pending.get((sid, t.number))
                params = {**pending, **t.params} if pending else t.params
                if params:
                    out.append((t.number, params))
        if self._rejected:
            for params in self._rejected.get((id(study), trial.number), ()):
                out.append((trial.number, params))
        return out

    def _gamma(self, study: Study, n: int) -> int:
        if isinstance(self.gamma, str):
            fn = _GAMMAS[self.gamma]
            if fn is default_gamma and len(study.directions) > 1:
                fn = multi_objective_gamma
        else:
            fn = self.gamma
        k = fn(n)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer, float)) or k != int(k):
            raise ValueError(f"gamma({n}) must return an integer, got {k!r}")
        return max(0, min(int(k), n))

    def _good(self, study: Study, snap: Snapshot) -> np.ndarray:
        """Which modelled trials are "good": the best ``gamma(n)`` of all ``n``
        (one global threshold, computed once per snapshot).  A group's estimators
        use the good and bad trials among those that hold the group, so a branch
        whose trials are all bad gets the prior as its good density and is
        explored rather than refined around its least bad point."""
        if snap.good is None:
            below, _ = split_indices(snap.losses, snap.tier, snap.step, self._gamma(study, snap.n))
            good = np.zeros(snap.n, dtype=bool)
            good[below] = True
            snap.good = good
        return snap.good

    def _ordered_weights(self, numbers: np.ndarray) -> np.ndarray:
        """Weights of observations by age (trial number): oldest first."""
        n = len(numbers)
        if n == 0:
            return np.zeros(0)
        if self.weights is None:
            w = default_weights(n)
        else:
            w = np.asarray(self.weights(n), dtype=float).reshape(-1)
            if w.shape[0] < n or not np.all(np.isfinite(w[:n])) or np.any(w[:n] < 0):
                raise ValueError(
                    f"weights({n}) must return {n} finite non-negative numbers, got {w!r}"
                )
            w = w[:n]
            if w.sum() <= 0:
                raise ValueError(f"weights({n}) returned only zeros")
        out = np.empty(n)
        out[np.argsort(numbers, kind="stable")] = w
        return out

    def _encode_columns(
        self, st: Store, snap: Snapshot, rows: np.ndarray, names: list[str], specs: list[DimSpec]
    ) -> np.ndarray:
        """``(len(rows), d)`` observations of ``names`` at ``rows`` in the unit domain
        of ``specs`` (NaN: missing or outside the current distribution)."""
        x = np.full((len(rows), len(names)), np.nan)
        have = [j for j, name in enumerate(names) if name in snap.columns]
        cols = [snap.columns[names[j]] for j in have]
        encoded = st.encoded(
            [names[j] for j in have], [specs[j] for j in have], [len(c.rows) for c in cols]
        )
        for j, col, vals in zip(have, cols, encoded):
            if col.rows is rows or (len(col.rows) == len(rows) and np.array_equal(col.rows, rows)):
                x[:, j] = vals
            else:  # an ancestor's column: gather the rows of the group
                dense = np.full(snap.n, np.nan)
                dense[col.rows] = vals
                x[:, j] = dense[rows]
        return x

    def _propose(
        self,
        st: Store,
        snap: Snapshot,
        study: Study,
        rows: np.ndarray,
        names: list[str],
        dists: list[BaseDistribution],
        ctx_x: list[float],
        liars: list[tuple[int, dict[str, Any]]],
        rng: np.random.Generator,
        require_data: bool = False,
    ) -> np.ndarray | None:
        """Unit coordinates of the proposal for the last ``len(names) - len(ctx_x)``
        of ``names``, conditioned on the first ones being ``ctx_x``."""
        specs = [self._spec(d) for d in dists]
        n_ctx = len(ctx_x)
        x = self._encode_columns(st, snap, rows, names, specs)
        if require_data and np.all(np.isnan(x[:, n_ctx:])):
            return None
        numbers = snap.number[rows]
        good = self._good(study, snap)[rows]
        if len(rows) < snap.n:
            # a group held by some trials only: its good trials are those below
            # the global threshold, plus at least its own best gamma(n_group)
            own, _ = split_indices(
                snap.losses[rows], snap.tier[rows], snap.step[rows],
                self._gamma(study, len(rows)),
            )
            good = good.copy()
            good[own] = True
        below, above = np.flatnonzero(good), np.flatnonzero(~good)
        # running trials and rejected configurations: "bad" observations
        lx: list[list[float]] = []
        ln: list[int] = []
        own = names[n_ctx:]
        for number, params in liars:
            if not any(n in params for n in own):
                continue
            lx.append([
                spec.encode_value(params[n]) if n in params else math.nan
                for n, spec in zip(names, specs)
            ])
            ln.append(number)
        x_above = x[above]
        n_above = numbers[above]
        if lx:
            x_above = np.vstack([x_above, np.asarray(lx, dtype=float)])
            n_above = np.concatenate([n_above, np.asarray(ln, dtype=np.int64)])
        if len(study.directions) > 1:
            w_below = _contribution_weights(snap.losses[rows][below], snap.tier[rows][below])
        else:
            w_below = self._ordered_weights(numbers[below])
        w_above = self._ordered_weights(n_above)
        if self.max_kernels is not None and len(w_above) > self.max_kernels:
            keep, w_above = _systematic_sample(w_above, n_above, self.max_kernels, rng)
            x_above = x_above[keep]
        kw = dict(
            prior_weight=self.prior_weight,
            consider_endpoints=self.consider_endpoints,
            consider_magic_clip=self.consider_magic_clip,
            bandwidth=self.bandwidth,
        )
        l_est = ParzenEstimator(specs, x[below], w_below, **kw)
        g_est = ParzenEstimator(specs, x_above, w_above, **kw)
        if n_ctx:
            ctx = np.asarray(ctx_x, dtype=float)
            l_est = l_est.condition(range(n_ctx), ctx)
            g_est = g_est.condition(range(n_ctx), ctx)
        cand = l_est.sample(rng, self.n_ei_candidates)
        score = l_est.log_pdf(cand) - g_est.log_pdf(cand)
        return cand[int(np.argmax(score))]

    def __repr__(self) -> str:
        return (
            f"TPESampler(seed={self.seed!r}, multivariate={self.multivariate}, "
            f"n_startup_trials={self.n_startup_trials}, n_ei_candidates={self.n_ei_candidates})"
        )


def _contribution_weights(losses: np.ndarray, tier: np.ndarray) -> np.ndarray:
    """Weights of the good observations of a multi-objective study: each feasible
    complete one's exclusive hypervolume contribution among them (scaled to a
    largest weight of 1), so the good density leans towards the points that
    extend the front rather than the crowded ones (MOTPE); pruned and infeasible
    ones, and studies of more than three objectives (where the exact volume is
    too costly), get equal small or unit weights."""
    from hypersearch.multiobjective.hypervolume import _hv3
    from hypersearch.samplers.tpe._split import _hv2d

    n, m = losses.shape
    w = np.ones(n)
    ok = np.flatnonzero((tier == 0) & np.all(np.isfinite(losses), axis=1))
    if m > 3 or len(ok) < 2 or len(ok) > 200:
        return w
    pts = losses[ok]
    worst = pts.max(axis=0)
    ref = np.where(worst > 0, 1.1 * worst, 0.9 * worst) + 1e-12
    volume = _hv2d if m == 2 else _hv3
    total = volume(pts, ref)
    contrib = np.array([total - volume(np.delete(pts, i, axis=0), ref) for i in range(len(pts))])
    top = contrib.max()
    eps = 1e-12
    w[:] = eps
    w[ok] = np.clip(contrib / top, eps, None) if top > 0 else 1.0
    return w


def _systematic_sample(
    w: np.ndarray, numbers: np.ndarray, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """About ``m`` of the kernels of weights ``w``, chosen with probability
    proportional to their weight (capped at 1: heavy kernels are always kept)
    by systematic sampling in age order, and their Horvitz-Thompson weights
    ``w / p`` (the expected total weight, hence the density, is unchanged)."""
    order = np.argsort(numbers, kind="stable")
    w = w[order]
    p = np.zeros_like(w)
    pos = w > 0
    sure = np.zeros(len(w), dtype=bool)
    for _ in range(8):  # cap inclusion probabilities at 1, spread the rest
        rest = pos & ~sure
        budget = m - int(sure.sum())
        if budget <= 0 or not rest.any():
            break
        p[rest] = w[rest] * budget / w[rest].sum()
        over = rest & (p >= 1.0)
        if not over.any():
            break
        sure |= over
    p[sure] = 1.0
    cum = np.cumsum(p)
    hits = np.floor(cum - rng.random())
    take = np.diff(np.concatenate(([hits[0] - 1 if len(hits) else 0], hits))) > 0
    take[0] = hits[0] >= 0 if len(hits) else False
    take |= sure
    idx = np.flatnonzero(take)
    return order[idx], w[idx] / p[idx]

