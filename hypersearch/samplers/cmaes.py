"""CMA-ES sampler on the ``cmaes`` package, with IPOP restarts and margin."""

from __future__ import annotations

import logging
import math
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.samplers.base import BaseSampler, draw_seed, trial_rng, trial_uniform
from hypersearch.samplers.evolution._common import (
    SpaceTracker,
    check_bool,
    check_float,
    check_int,
    check_seed,
    losses_of,
)
from hypersearch.samplers.evolution._operators import DISC, _levels
from hypersearch.space.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_from_json,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.trial._trial import Trial

__all__ = ["STATE_ATTR", "TRIAL_ATTR", "CmaEsSampler"]

_log = logging.getLogger("hypersearch")

#: Study system attribute holding the JSON state of the current CMA-ES run,
#: written when a run starts and at every generation boundary.
STATE_ATTR = "cmaes:state"
#: Trial system attribute recording which run and generation proposed a trial
#: and the vector CMA-ES sampled (``{"run", "gen", "x", "v", "c"}``).
TRIAL_ATTR = "cmaes"
#: Marks this sampler's own random startup draws (never warm-start points).
RANDOM_ATTR = "cmaes:random"

_STATE_VERSION = 1
_MAX_TRIES = 16
_RESTARTS = ("ipop",)


def _import_cmaes():
    try:
        import cmaes
    except ImportError:
        raise ImportError(
            "CmaEsSampler needs the cmaes package: pip install 'hypersearch[cmaes]'"
        ) from None
    return cmaes


@dataclass
class _Run:
    """One CMA-ES run: from a start or restart until the next one."""

    run: int  # id, increases with every restart or re-initialisation
    restart: int  # IPOP restarts so far: popsize = base * inc_popsize ** restart
    popsize: int
    sigma0: float
    space: dict[str, BaseDistribution]
    numeric: list[str]
    cats: list[str]
    margin: bool  # CMA-ES with margin (some numeric parameters are discrete)
    opt: Any  # cmaes.CMA, cmaes.CMAwM, or None without numeric parameters
    probs: dict[str, np.ndarray]
    gen: int = 0
    # finished trials of the current generation: number -> (x, loss, choice indices)
    buffer: dict[int, tuple[np.ndarray, float, list[int]]] = field(default_factory=dict)

    @property
    def inner(self) -> Any:
        """The ``cmaes.CMA`` object (the one inside ``CMAwM`` with margin)."""
        return self.opt._cma if self.margin else self.opt


class CmaEsSampler(BaseSampler):
    """CMA-ES (Hansen & Ostermeier 2001) through the ``cmaes`` package, with
    IPOP restarts, margin for discrete parameters and a learned distribution
    over categorical choices.

    Numeric parameters are optimised in the unit cube (log scales linear):
    CMA-ES samples a generation of ``popsize`` points from a Gaussian
    ``N(m, sigma^2 C)``, and once all of them are evaluated updates the mean,
    step size and covariance from their ranking.  The implementation is
    ``cmaes.CMA``; with ``with_margin=True`` (default) and integer or stepped
    float parameters present, ``cmaes.CMAwM`` (CMA-ES with margin, Hamano et
    al. 2022), which keeps the probability of leaving the current grid level
    above a margin so that discrete coordinates never freeze::

        study = hs.create_study(sampler=CmaEsSampler(seed=0))
        study.optimize(objective, n_trials=300)

    **Categorical parameters** are not relaxed into the Gaussian: each gets an
    independent distribution over its choices, drawn from per trial and updated
    at every generation boundary from the same ranking CMA-ES uses, towards the
    choices of the best half of the generation (weighted by the CMA-ES
    recombination weights, learning rate ``categorical_learning_rate``).  Each
    choice keeps a floor probability (CatCMA's margin: the mode of every
    categorical is drawn jointly with probability at most 0.73), so no choice
    disappears.  A space of categoricals only is searched by these
    distributions alone.

    **Restarts.**  With ``restart_strategy="ipop"`` (default), a run that meets
    one of CMA-ES's stopping criteria (flat fitness, tiny or exploding steps,
    ill-conditioned covariance) restarts from a new random mean (or ``x0``)
    with the population multiplied by ``inc_popsize`` (IPOP-CMA-ES, Auger &
    Hansen 2005).

    **Start.**  The first ``n_startup_trials`` COMPLETE trials are drawn at random
    (the space is not known before a trial completes).  The first run's mean is
    ``x0`` if given; otherwise, with ``warm_start=True``, the best enqueued or
    added trial (a warm start seeds the search; the random startup draws do not
    count, since starting from one of them would only lose the centre's
    coverage); otherwise the centre of the space.  ``sigma0`` is the initial step
    size in the unit cube (default 1/6, so the initial 3-sigma range spans the
    space).

    **Spaces.**  The jointly searched space holds the parameters present in every
    COMPLETE trial, with their latest distributions; conditional and new
    parameters are drawn at random.  When that space changes (a parameter stops
    appearing, or a dynamic parameter changes its range), a new run starts on
    the new space, warm-started at the best trial.

    **Asynchronous workers and warm starts.**  A trial is tagged with the run and
    generation that proposed it (trial system attribute :data:`TRIAL_ATTR`, with
    the sampled vector).  Workers never wait: trials keep being drawn from the
    current generation until ``popsize`` of its trials are COMPLETE, then the
    update happens; trials of an older generation that finish late are ignored.
    An enqueued trial started during a generation joins it (its fixed values
    replace the sampled ones), so its result enters the update; a partially
    enqueued trial keeps its fixed values and CMA-ES proposes the others.
    Failed and pruned trials do not count.

    **Constraints.**  A configuration rejected by a search-space constraint is
    re-drawn from a new random stream (``trial.attempt``), contracted towards
    the best trial (which passed the constraints) by ``0.5 ** attempt``, so
    re-draws reach feasible configurations even when the Gaussian sits across
    the boundary; a re-draw never repeats a configuration rejected for the
    same trial.

    **State.**  The run's state (mean, step size, covariance, evolution paths,
    generation, restart count and population size, margin scaling, categorical
    probabilities, the space) is stored as JSON in the study system attribute
    :data:`STATE_ATTR` when a run starts and at every generation boundary, and
    restored when the sampler is attached; the finished trials of the generation
    in progress are then collected again from the history.  The in-process run
    itself continues from the stored JSON, so a resumed study proposes exactly
    what an uninterrupted one would.  (The state uses a few private attributes of
    ``cmaes.CMA``; a state that cannot be restored, e.g. from another ``cmaes``
    version, starts a new run with a warning.)  With several processes on one
    study each process runs its own copy, updated from the trials it sees
    finishing; the stored state is the latest written.  Seeded: the sampling
    noise of trial ``k`` depends only on the run's state, the seed, ``k`` and
    the constraint attempt.

    Only single-objective studies are supported.  Needs
    ``pip install 'hypersearch[cmaes]'``.

    Args:
        x0: Initial mean, ``{name: value}`` in parameter units (missing names:
            the centre, or the warm start).
        sigma0: Initial step size in the unit cube (> 0).
        n_startup_trials: COMPLETE trials drawn at random before CMA-ES starts (>= 1).
        popsize: Population size (``None``: ``4 + floor(3 ln d)`` for ``d``
            parameters).
        restart_strategy: ``"ipop"`` or ``None`` (no restarts).
        inc_popsize: Population growth factor of an IPOP restart (>= 2).
        with_margin: Use CMA-ES with margin for integer and stepped parameters.
        warm_start: Start the first run at the best enqueued or added trial when
            ``x0`` is not given (no such trial: the centre).
        categorical_learning_rate: Step of the categorical distributions towards
            the best choices per generation, in ``(0, 1]``.
        seed: Seed of the random streams; ``None`` draws one (and the study
            records it, so a resumed study continues the same streams).
    """

    needs_finished_trials = False  # keeps its own statistics from on_trial_finished

    def __init__(
        self,
        *,
        x0: Mapping[str, Any] | None = None,
        sigma0: float | None = None,
        n_startup_trials: int = 1,
        popsize: int | None = None,
        restart_strategy: str | None = "ipop",
        inc_popsize: int = 2,
        with_margin: bool = True,
        warm_start: bool = True,
        categorical_learning_rate: float = 0.25,
        seed: int | None = None,
    ) -> None:
        self._cmaes = _import_cmaes()
        if x0 is not None:
            if not isinstance(x0, Mapping):
                raise ValueError(f"x0 must be a dict {{name: value}} or None, got {x0!r}")
            for k in x0:
                if not isinstance(k, str) or not k:
                    raise ValueError(f"x0 keys must be parameter names, got {k!r}")
        self.x0 = None if x0 is None else dict(x0)
        self.sigma0 = (
            1.0 / 6.0 if sigma0 is None else check_float("sigma0", sigma0, 0.0, low_open=True)
        )
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, 1)
        self.popsize = None if popsize is None else check_int("popsize", popsize, 2)
        if restart_strategy is not None and restart_strategy not in _RESTARTS:
            raise ValueError(f"restart_strategy must be 'ipop' or None, got {restart_strategy!r}")
        self.restart_strategy = restart_strategy
        self.inc_popsize = check_int("inc_popsize", inc_popsize, 2)
        self.with_margin = check_bool("with_margin", with_margin)
        self.warm_start = check_bool("warm_start", warm_start)
        self.categorical_learning_rate = check_float(
            "categorical_learning_rate", categorical_learning_rate, 0.0, 1.0, low_open=True
        )
        seed = check_seed(seed)
        self.seed = draw_seed() if seed is None else seed
        self._explicit_seed = seed is not None
        self._lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self._tracker = SpaceTracker()
        self._best: tuple[float, int, dict[str, Any]] | None = None
        self._warm: tuple[float, int, dict[str, Any]] | None = None
        self._run: _Run | None = None
        self._rejected: dict[int, list[dict[str, Any]]] = {}
        self._n_runs = 0  # runs started so far (ids of new runs)

    # -- state ----------------------------------------------------------------------------
    def attach(self, study: Study) -> None:
        if len(study.directions) != 1:
            raise ValueError(
                f"CmaEsSampler supports single-objective studies only; this study has "
                f"{len(study.directions)} objectives (use NSGA2Sampler for several objectives)"
            )
        super().attach(study)
        with self._lock:
            self._reset()
            state = study.system_attrs.get(STATE_ATTR)
            if state is not None:
                try:
                    self._run = self._load(state)
                    self._n_runs = self._run.run + 1
                except Exception as e:  # a state from another version or a corrupted one
                    _log.warning(
                        "CmaEsSampler: the stored CMA-ES state could not be restored (%s: %s); "
                        "a new run starts", type(e).__name__, e,
                    )
                    self._run = None
                    run_id = state.get("run") if isinstance(state, dict) else None
                    self._n_runs = run_id + 1 if isinstance(run_id, int) else 0
        # the history now replays the finished trials: those of the generation in
        # progress are collected again (see on_trial_finished)

    def on_trial_finished(self, study: Study, trial: FrozenTrial) -> None:
        loss = losses_of(study, trial)
        with self._lock:
            self._rejected.pop(trial.number, None)
            if loss is None:
                return
            value = float(loss[0])
            self._tracker.add(trial)
            if self._best is None or (value, trial.number) < self._best[:2]:
                self._best = (value, trial.number, dict(trial.params))
            if not trial.system_attrs.get(RANDOM_ATTR) and (
                self._warm is None or (value, trial.number) < self._warm[:2]
            ):
                # a warm-start candidate: a trial the user queued or added, not one
                # of this sampler's own random startup draws
                self._warm = (value, trial.number, dict(trial.params))
            run = self._run
            tag = trial.system_attrs.get(TRIAL_ATTR)
            if run is None or not isinstance(tag, dict):
                return
            if tag.get("run") != run.run or tag.get("gen") != run.gen:
                return  # proposed by an earlier generation or run
            told = self._told_vector(run, trial, tag)
            if told is None:
                return
            run.buffer[trial.number] = (told[0], value, told[1])
            if len(run.buffer) >= run.popsize:
                self._tell(study, run)

    def on_reject(self, study: Study, trial: Trial) -> None:
        with self._lock:
            self._rejected.setdefault(trial.number, []).append(dict(trial.params))

    # -- the sampler interface ---------------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: Trial
    ) -> dict[str, BaseDistribution]:
        with self._lock:
            if self._tracker.n < self.n_startup_trials:
                return {}
            return self._tracker.space()

    def sample_independent(
        self, study: Study, trial: Trial, name: str, distribution: BaseDistribution
    ) -> Any:
        if self._tracker.n < self.n_startup_trials and not trial.system_attrs.get(RANDOM_ATTR):
            trial.set_system_attr(RANDOM_ATTR, True)
        return distribution.from_unit(trial_uniform(self.seed, trial.number, trial.attempt, name))

    def sample_relative(
        self, study: Study, trial: Trial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        fixed = {
            n: v for n, v in trial.params.items() if n in search_space and search_space[n].contains(v)
        }
        with self._lock:
            run = self._run
            if run is None or run.space != search_space:
                run = self._new_run(study, search_space, self._run)
            rng = trial_rng(self.seed, trial.number, trial.attempt, "cmaes")
            if run.opt is not None:
                run.opt.reseed_rng(int(rng.integers(2**32)))
            rejected = [
                {n: p.get(n) for n in search_space} for p in self._rejected.get(trial.number, ())
            ]
            anchor = self._anchor(run) if trial.attempt else None
            for _ in range(_MAX_TRIES):
                x_tell, params, choices = self._ask(run, rng, fixed, anchor, 0.5 ** min(trial.attempt, 60))
                if params not in rejected:
                    break
            else:
                return {}  # every parameter then comes from sample_independent
            values = [params[n] for n in run.numeric]
            trial.set_system_attr(
                TRIAL_ATTR,
                {"run": run.run, "gen": run.gen, "x": [float(v) for v in x_tell], "v": values, "c": choices},
            )
        return {n: v for n, v in params.items() if n not in fixed}

    # -- internals ---------------------------------------------------------------------------
    def _ask(
        self,
        run: _Run,
        rng: np.random.Generator,
        fixed: dict[str, Any],
        anchor: tuple[np.ndarray, list[int] | None] | None = None,
        shrink: float = 1.0,
    ) -> tuple[np.ndarray, dict[str, Any], list[int]]:
        """One sampled configuration: ``(vector told to CMA-ES, parameters, choice
        indices)``, with the values of ``fixed`` in place of sampled ones.

        A constraint re-draw (``anchor`` given) contracts the sample towards the
        anchor by ``shrink``, and keeps each categorical at the anchor's choice
        with probability ``1 - shrink``."""
        params: dict[str, Any] = {}
        if run.opt is not None:
            if run.margin:
                x_eval, x_tell = run.opt.ask()
            else:
                x_tell = run.opt.ask()
                x_eval = x_tell
            x_tell = np.array(x_tell, dtype=float)
            x_eval = np.array(x_eval, dtype=float)
            if anchor is not None:
                a = anchor[0]
                x_tell = a + shrink * (x_tell - a)
                x_eval = a + shrink * (x_eval - a)
            for i, name in enumerate(run.numeric):
                d = run.space[name]
                if name in fixed:
                    params[name] = fixed[name]
                    x_tell[i] = self._unit(run, i, fixed[name])
                else:
                    params[name] = d.from_unit(float(x_eval[i]))
        else:
            x_tell = np.zeros(0)
        choices = []
        for j, name in enumerate(run.cats):
            d = run.space[name]
            assert isinstance(d, CategoricalDistribution)
            k = int(rng.choice(len(d.choices), p=run.probs[name]))
            u = rng.random()
            if anchor is not None and anchor[1] is not None and u >= shrink:
                k = anchor[1][j]
            if name in fixed:
                k = d.index(fixed[name])
            choices.append(k)
            params[name] = d.choices[k]
        return x_tell, params, choices

    def _anchor(self, run: _Run) -> tuple[np.ndarray, list[int] | None]:
        """Where constraint re-draws contract to: the best COMPLETE trial (it
        passed the constraints) when it holds the whole space, else the mean."""
        best = self._best[2] if self._best is not None else {}
        if all(n in best and run.space[n].contains(best[n]) for n in run.space):
            x = np.array([self._unit(run, i, best[n]) for i, n in enumerate(run.numeric)])
            cats = [run.space[n].index(best[n]) for n in run.cats]  # type: ignore[attr-defined]
            return x, cats
        mean = np.asarray(run.inner._mean, dtype=float) if run.opt is not None else np.zeros(0)
        return np.clip(mean, 0.0, 1.0), None

    @staticmethod
    def _bounds(run: _Run) -> tuple[np.ndarray, np.ndarray]:
        """Bounds and steps of the numeric coordinates: ``[0, 1]`` for continuous
        ones; for discrete ones under margin, the first and last cell centres
        and the cell width (CMAwM's grid ``low + k * step``)."""
        n = len(run.numeric)
        bounds = np.tile([0.0, 1.0], (n, 1))
        steps = np.zeros(n)
        if run.margin:
            for i, name in enumerate(run.numeric):
                kind, levels = _levels(run.space[name])
                if kind == DISC:
                    bounds[i] = [0.5 / levels, 1.0 - 0.5 / levels]
                    steps[i] = 1.0 / levels
        return bounds, steps

    def _unit(self, run: _Run, i: int, value: Any) -> float:
        """Coordinate ``i`` of ``value`` (clamped into its bounds)."""
        d = run.space[run.numeric[i]]
        assert isinstance(d, (FloatDistribution, IntDistribution))
        v = min(max(float(value), d.low), d.high)
        if isinstance(d, IntDistribution):
            v = min(max(d.low + round((v - d.low) / d.step) * d.step, d.low), d.high)
        return min(max(d.to_unit(v), 0.0), 1.0)

    def _told_vector(
        self, run: _Run, trial: FrozenTrial, tag: dict[str, Any]
    ) -> tuple[np.ndarray, list[int]] | None:
        """The vector and choice indices to tell for a finished trial of the
        current generation: the sampled vector, except where the objective used
        other values than the proposed ones (a parameter suggested with another
        distribution), which are encoded instead.  ``None`` if unusable."""
        x = np.asarray(tag.get("x", []), dtype=float)
        proposed = tag.get("v", [])
        if len(x) != len(run.numeric) or len(proposed) != len(run.numeric):
            return None
        for i, name in enumerate(run.numeric):
            if name not in trial.params:
                return None
            value = trial.params[name]
            if value != proposed[i]:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    return None
                x[i] = self._unit(run, i, value)
        choices = []
        for name in run.cats:
            d = run.space[name]
            assert isinstance(d, CategoricalDistribution)
            if name not in trial.params or not d.contains(trial.params[name]):
                return None
            choices.append(d.index(trial.params[name]))
        return x, choices

    def _default_popsize(self, n: int) -> int:
        return 4 + int(math.floor(3 * math.log(max(n, 1))))

    def _new_run(
        self, study: Study, space: dict[str, BaseDistribution], prev: _Run | None, *, restart: bool = False
    ) -> _Run:
        """Start a run on ``space`` (a first start, an IPOP restart, or a new space)."""
        numeric = [n for n, d in space.items() if not isinstance(d, CategoricalDistribution)]
        cats = [n for n, d in space.items() if isinstance(d, CategoricalDistribution)]
        n_restart = 0 if prev is None else prev.restart + (1 if restart else 0)
        base = self.popsize if self.popsize is not None else self._default_popsize(len(space))
        popsize = base * self.inc_popsize**n_restart
        run_id = self._n_runs
        self._n_runs += 1
        margin = self.with_margin and any(_levels(space[n])[0] == DISC for n in numeric)
        run = _Run(
            run=run_id, restart=n_restart, popsize=popsize, sigma0=self.sigma0, space=dict(space),
            numeric=numeric, cats=cats, margin=margin, opt=None, probs={},
        )
        # the initial mean: x0, else (first run or new space) the best trial so far,
        # else the centre; an IPOP restart starts from a random point
        start: dict[str, Any] = {}
        if restart:
            rng = trial_rng(self.seed, 1 << 40, run_id, "cmaes:restart")
            start = {n: space[n].from_unit(float(u)) for n, u in zip(space, rng.random(len(space)))}
        elif self.warm_start and self._warm is not None:
            start = {n: v for n, v in self._warm[2].items() if n in space and space[n].contains(v)}
        if self.x0 is not None:
            for name, value in self.x0.items():
                if name in space:
                    if not space[name].contains(value):
                        msg = (
                            f"x0[{name!r}] = {value!r} is not in the distribution of the "
                            f"parameter, {space[name]!r}"
                        )
                        if prev is None:  # the first run: the x0 given is wrong
                            raise ValueError(msg)
                        # a later space (the study goes on with other bounds): start
                        # from the best trial instead of ending the study
                        warnings.warn(f"{msg}; this new run starts without it", UserWarning, stacklevel=2)
                        continue
                    start[name] = value
        bounds, steps = self._bounds(run)
        mean = np.array(
            [self._unit(run, i, start[n]) if n in start else 0.5 for i, n in enumerate(numeric)]
        )
        mean = np.clip(mean, bounds[:, 0], bounds[:, 1])
        for name in cats:
            d = space[name]
            assert isinstance(d, CategoricalDistribution)
            p = np.full(len(d.choices), 1.0 / len(d.choices))
            if name in start:  # lean towards the starting choice
                p = 0.5 * p
                p[d.index(start[name])] += 0.5
            run.probs[name] = self._floor(p, len(cats))
        if numeric:
            run.opt = self._make_opt(run, mean, run.sigma0, bounds, steps)
        self._run = self._load(self._dump(run))
        study._set_system_attr(STATE_ATTR, self._dump(self._run))
        return self._run

    def _make_opt(self, run: _Run, mean: np.ndarray, sigma: float, bounds: np.ndarray, steps: np.ndarray):
        seed = int(trial_rng(self.seed, 1 << 41, run.run, "cmaes:opt").integers(2**31))
        if run.margin:
            return self._cmaes.CMAwM(
                mean=mean, sigma=sigma, bounds=bounds, steps=steps, seed=seed,
                population_size=run.popsize,
            )
        return self._cmaes.CMA(
            mean=mean, sigma=sigma, bounds=bounds, seed=seed, population_size=run.popsize
        )

    @staticmethod
    def _floor(p: np.ndarray, n_cats: int) -> np.ndarray:
        """``p`` with every probability at least CatCMA's margin
        ``(1 - 0.73 ** (1 / n_cats)) / (K - 1)``, renormalised."""
        k = len(p)
        if k < 2:
            return np.ones(k)
        q_min = (1.0 - 0.73 ** (1.0 / max(n_cats, 1))) / (k - 1)
        p = np.maximum(np.asarray(p, dtype=float), q_min)
        total = p.sum()
        if total > 1.0:
            p = p - (total - 1.0) * (p - q_min) / (total - q_min * k)
        return p / p.sum()

    def _tell(self, study: Study, run: _Run) -> None:
        """Close the generation: update CMA-ES and the categorical distributions,
        restart if a stopping criterion is met, and store the state."""
        numbers = sorted(run.buffer)[: run.popsize]
        sols = [run.buffer[n] for n in numbers]
        if run.opt is not None:
            run.opt.tell([(x.copy(), loss) for x, loss, _ in sols])
        if run.cats:
            order = sorted(range(len(sols)), key=lambda i: (sols[i][1], numbers[i]))
            mu = max(1, run.popsize // 2)
            w = np.array([math.log((run.popsize + 1) / 2) - math.log(i + 1) for i in range(mu)])
            w = np.maximum(w, 0.0)
            w = w / w.sum() if w.sum() > 0 else np.full(mu, 1.0 / mu)
            eta = self.categorical_learning_rate
            for j, name in enumerate(run.cats):
                target = np.zeros(len(run.probs[name]))
                for wi, i in zip(w, order[:mu]):
                    target[sols[i][2][j]] += wi
                run.probs[name] = self._floor((1 - eta) * run.probs[name] + eta * target, len(run.cats))
        run.gen += 1
        run.buffer = {}
        if (
            self.restart_strategy == "ipop"
            and run.opt is not None
            and run.opt.should_stop()
        ):
            _log.info(
                "CmaEsSampler: run %d stopped at generation %d; IPOP restart with population %d",
                run.run, run.gen, run.popsize * self.inc_popsize,
            )
            self._new_run(study, run.space, run, restart=True)
            return
        # continue from exactly what is stored, so a resumed study proposes the same
        self._run = self._load(self._dump(run))
        study._set_system_attr(STATE_ATTR, self._dump(self._run))

    # -- JSON state --------------------------------------------------------------------------
    def _dump(self, run: _Run) -> dict[str, Any]:
        state: dict[str, Any] = {
            "version": _STATE_VERSION,
            "run": run.run,
            "restart": run.restart,
            "popsize": run.popsize,
            "sigma0": run.sigma0,
            "gen": run.gen,
            "space": [[n, d.to_json()] for n, d in run.space.items()],
            "margin": run.margin,
            "probs": {n: [float(v) for v in p] for n, p in run.probs.items()},
        }
        if run.opt is not None:
            c = run.inner
            iu = np.triu_indices(len(run.numeric))
            fun = np.asarray(c._funhist_values, dtype=float)
            state["cma"] = {
                "mean": [float(v) for v in c._mean],
                "sigma": float(c._sigma),
                "C": [float(v) for v in np.asarray(c._C)[iu]],
                "p_sigma": [float(v) for v in c._p_sigma],
                "pc": [float(v) for v in c._pc],
                "g": int(c._g),
                "funhist": [float(v) if math.isfinite(v) else 0.0 for v in fun],
            }
            if run.margin:
                state["cma"]["A"] = [float(v) for v in run.opt._A]
        return state

    def _load(self, state: dict[str, Any]) -> _Run:
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unknown state version {state.get('version')!r}")
        space = {n: distribution_from_json(d, name=n) for n, d in state["space"]}
        numeric = [n for n, d in space.items() if not isinstance(d, CategoricalDistribution)]
        cats = [n for n, d in space.items() if isinstance(d, CategoricalDistribution)]
        run = _Run(
            run=int(state["run"]), restart=int(state["restart"]), popsize=int(state["popsize"]),
            sigma0=float(state["sigma0"]), space=space, numeric=numeric, cats=cats,
            margin=bool(state["margin"]), opt=None,
            probs={n: np.asarray(state["probs"][n], dtype=float) for n in cats},
            gen=int(state["gen"]),
        )
        for name in cats:
            d = space[name]
            assert isinstance(d, CategoricalDistribution)
            if len(run.probs[name]) != len(d.choices):
                raise ValueError(f"categorical state of {name!r} does not match its choices")
        if numeric:
            cma = state["cma"]
            n = len(numeric)
            bounds, steps = self._bounds(run)
            mean = np.asarray(cma["mean"], dtype=float)
            # built from a mean inside the bounds (CMA-ES's own mean may leave them),
            # then given the stored state
            run.opt = self._make_opt(
                run, np.clip(mean, bounds[:, 0], bounds[:, 1]), run.sigma0, bounds, steps
            )
            c = run.inner
            C = np.zeros((n, n))
            iu = np.triu_indices(n)
            C[iu] = cma["C"]
            C = C + np.triu(C, 1).T
            fun = np.asarray(cma["funhist"], dtype=float)
            for attr in ("_mean", "_sigma", "_C", "_p_sigma", "_pc", "_g", "_funhist_values"):
                if not hasattr(c, attr):
                    raise ValueError(f"cmaes.CMA has no attribute {attr} (another cmaes version?)")
            if fun.shape != np.shape(c._funhist_values) or mean.shape != (n,):
                raise ValueError("the stored state does not match the space")
            c._mean = mean
            c._sigma = float(cma["sigma"])
            c._C = C
            c._p_sigma = np.asarray(cma["p_sigma"], dtype=float)
            c._pc = np.asarray(cma["pc"], dtype=float)
            c._g = int(cma["g"])
            c._funhist_values = fun
            c._B, c._D = None, None
            if run.margin:
                run.opt._A = np.asarray(cma["A"], dtype=float)
        return run

    def __repr__(self) -> str:
        return (
            f"CmaEsSampler(seed={self.seed!r}, sigma0={self.sigma0}, popsize={self.popsize}, "
            f"restart_strategy={self.restart_strategy!r}, with_margin={self.with_margin})"
        )

