"""Machinery shared by the population-based samplers (DE, GA, PSO, NSGA-II, CMA-ES).

* :class:`SpaceTracker` keeps, incrementally, the *jointly evolved space*: the
  parameters present in every COMPLETE trial (the intersection search space),
  each with its latest distribution.  Parameters outside it (conditional
  branches, parameters added later) are drawn at random by
  ``sample_independent``.
* :class:`PopulationSampler` implements the sampler interface around two
  hooks of its subclasses: ``_add`` (a COMPLETE trial joins the incremental
  population state, called from ``on_trial_finished``) and ``_propose`` (a
  point of the unit cube for a trial, or ``None`` for a random draw).  It
  handles what every evolutionary sampler needs in the same way: seeds,
  enqueued partial configurations (kept fixed), constraint re-draws, and the
  check on the number of objectives.

**Constraint re-draws.**  A configuration rejected by a search-space
constraint is re-drawn with ``trial.attempt`` incremented: a new random
stream, so a new proposal, which is moreover contracted towards its *anchor*
(the feasible population member it was bred from: DE's target, the GA's
first parent, the particle's position) by ``0.5 ** attempt``.  Every member
passed the constraints, so the re-draws converge on feasible configurations
even when the unconstrained search keeps pushing against the boundary, and a
re-draw never repeats a configuration rejected for the same trial (after
``_MAX_TRIES`` collisions the trial is drawn at random).

Populations are never stored: ``attach`` resets the sampler, and the study's
history then replays every finished trial through ``on_trial_finished`` in
trial-number order, which rebuilds the same population on every resume.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.samplers.base import BaseSampler, draw_seed, trial_rng, trial_uniform
from hypersearch.space.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hypersearch.space.encoding import UnitCubeEncoder
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.trial._trial import Trial

__all__ = [
    "Observation",
    "PopulationSampler",
    "SpaceTracker",
    "check_bool",
    "check_float",
    "check_int",
    "check_seed",
    "encode_params",
    "losses_of",
]

#: Proposals tried per trial before giving up on one that no constraint rejected.
_MAX_TRIES = 16


# -- argument checks ------------------------------------------------------------------------


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int, or ``ValueError`` naming ``name``."""
    if not _is_int(value):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_float(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float within the given bounds, or ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}, got {value!r}")
    if high is not None and (v > high or (high_open and v == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"{name} must be {op} {high}, got {value!r}")
    return v


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def check_seed(seed: Any) -> int | None:
    if seed is not None and not _is_int(seed):
        raise ValueError(f"seed must be an integer or None, got {seed!r}")
    return None if seed is None else int(seed)


# -- observations and the evolved space ----------------------------------------------------


@dataclass
class Observation:
    """A COMPLETE trial as the population sees it."""

    number: int
    params: dict[str, Any]
    loss: np.ndarray  # sign * value per objective: always minimised

    @property
    def key(self) -> tuple[float, int]:
        """Single-objective order: smaller loss first, then the older trial."""
        return (float(self.loss[0]), self.number)


def losses_of(study: Study, trial: FrozenTrial) -> np.ndarray | None:
    """``sign * value`` per objective of a COMPLETE trial with finite values."""
    if trial.state != TrialState.COMPLETE or not trial.values:
        return None
    if len(trial.values) != len(study.directions):
        return None
    loss = np.array([float(v) * d.sign() for v, d in zip(trial.values, study.directions)])
    if not np.all(np.isfinite(loss)):
        return None
    return loss


class SpaceTracker:
    """The parameters held by every COMPLETE trial seen so far, each with its
    latest distribution (one with more than one value preferred: ``add_trial``
    records one-choice categoricals by default), updated in O(parameters) per
    trial."""

    def __init__(self) -> None:
        self._names: set[str] | None = None
        self._dists: dict[str, tuple[int, BaseDistribution]] = {}
        self.n = 0

    def add(self, trial: FrozenTrial) -> None:
        names = {n for n in trial.params if n in trial.distributions}
        self._names = names if self._names is None else self._names & names
        self.n += 1
        for name in names:
            d = trial.distributions[name]
            prev = self._dists.get(name)
            if (
                prev is None
                or (prev[1].single() and not d.single())
                or (prev[0] <= trial.number and (not d.single() or prev[1].single()))
            ):
                self._dists[name] = (trial.number, d)

    def space(self) -> dict[str, BaseDistribution]:
        """``{name: distribution}`` in name order, without single-valued ones."""
        if not self._names:
            return {}
        out = {}
        for name in sorted(self._names):
            d = self._dists[name][1]
            if not d.single():
                out[name] = d
        return out


def encode_params(encoder: UnitCubeEncoder, params: dict[str, Any]) -> np.ndarray:
    """Encode ``params`` like ``encoder.encode``, but never fail: a value outside
    its (dynamic) parameter's current distribution is clamped into its bounds,
    and a categorical value that is no longer a choice, or a missing one,
    encodes as the centre of its range (uniform weights when one-hot)."""
    x = np.empty(encoder.dim)
    for name, d in encoder.space.items():
        s = encoder.slices[name]
        v = params.get(name, _MISSING)
        onehot = encoder.onehot and isinstance(d, CategoricalDistribution)
        if v is not _MISSING and d.contains(v):
            if onehot:
                x[s] = 0.0
                x[s.start + d.index(v)] = 1.0
            else:
                x[s.start] = d.to_unit(v)
        elif (
            isinstance(d, (FloatDistribution, IntDistribution))
            and not isinstance(v, bool)
            and isinstance(v, (int, float, np.integer, np.floating))
            and math.isfinite(float(v))
        ):
            c = min(max(float(v), d.low), d.high)
            if isinstance(d, IntDistribution):
                c = min(max(d.low + round((c - d.low) / d.step) * d.step, d.low), d.high)
            x[s.start] = min(max(d.to_unit(c), 0.0), 1.0)
        elif onehot:
            x[s] = 1.0 / (s.stop - s.start)
        else:
            x[s] = 0.5
    return x


_MISSING = object()


def breed_pair(sampler: Any, encoder: UnitCubeEncoder, a: dict[str, Any], b: dict[str, Any],
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A child of the configurations ``a`` and ``b`` by the crossover and mutation
    settings of ``sampler`` (GA and NSGA-II share them); returns ``(child, a)``
    encoded."""
    from hypersearch.samplers.evolution._operators import breed, column_kinds

    kinds, levels = column_kinds(encoder)
    p1 = encode_params(encoder, a)
    child = breed(
        p1,
        encode_params(encoder, b),
        kinds, levels, rng,
        crossover_prob=sampler.crossover_prob,
        method=sampler.crossover,
        eta_crossover=sampler.eta_crossover,
        alpha=sampler.blend_alpha,
        mutation_prob=sampler.mutation_prob if sampler.mutation_prob is not None else 1.0 / encoder.dim,
        eta_mutation=sampler.eta_mutation,
    )
    return child, p1


# -- the base sampler ----------------------------------------------------------------------


class PopulationSampler(BaseSampler):
    """Base of the population-based samplers (see the module docstring).

    Subclasses set ``_name`` (the prefix of their random streams), ``_onehot``
    (categoricals as one-hot blocks instead of ordinal cells) and
    ``_multi_objective`` (whether several objectives are allowed), and
    implement ``_reset``, ``_add`` and ``_propose``.
    """

    needs_finished_trials = False  # keeps its own statistics from on_trial_finished

    _name = "population"
    _onehot = False
    _multi_objective = False

    def __init__(self, seed: int | None) -> None:
        seed = check_seed(seed)
        self.seed = draw_seed() if seed is None else seed
        self._explicit_seed = seed is not None
        self._lock = threading.RLock()
        self._rejected: dict[int, list[dict[str, Any]]] = {}
        self._encoders: dict[tuple, UnitCubeEncoder] = {}
        self._tracker = SpaceTracker()
        self._n_objectives = 1
        self._reset()

    # -- hooks ------------------------------------------------------------------------------
    def _reset(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _add(self, study: Study, obs: Observation) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _propose(
        self,
        study: Study,
        trial: Trial,
        encoder: UnitCubeEncoder,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray] | None:  # pragma: no cover - abstract
        """``(proposal, anchor)`` in the unit cube, or ``None`` for a random draw."""
        raise NotImplementedError

    def _observation(self, study: Study, trial: FrozenTrial) -> Observation | None:
        loss = losses_of(study, trial)
        if loss is None:
            return None
        return Observation(trial.number, dict(trial.params), loss)

    # -- the sampler interface ---------------------------------------------------------------
    def attach(self, study: Study) -> None:
        n = len(study.directions)
        if n > 1 and not self._multi_objective:
            raise ValueError(
                f"{type(self).__name__} supports single-objective studies only; this study has "
                f"{n} objectives (use NSGA2Sampler for several objectives)"
            )
        super().attach(study)
        with self._lock:
            self._n_objectives = n
            self._rejected = {}
            self._encoders = {}
            self._tracker = SpaceTracker()
            self._reset()
        # the study's history now replays every finished trial in trial-number
        # order through on_trial_finished: the population is rebuilt from storage

    def on_trial_finished(self, study: Study, trial: FrozenTrial) -> None:
        obs = self._observation(study, trial)
        with self._lock:
            self._rejected.pop(trial.number, None)
            if obs is None:
                return
            self._tracker.add(trial)
            self._add(study, obs)

    def on_reject(self, study: Study, trial: Trial) -> None:
        with self._lock:
            self._rejected.setdefault(trial.number, []).append(dict(trial.params))

    def infer_relative_search_space(
        self, study: Study, trial: Trial
    ) -> dict[str, BaseDistribution]:
        with self._lock:
            return self._tracker.space()

    def sample_relative(
        self, study: Study, trial: Trial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        # Parameters fixed before sampling (an enqueued partial configuration) keep
        # their values; the individual is completed around them.
        fixed = {
            n: v for n, v in trial.params.items() if n in search_space and search_space[n].contains(v)
        }
        if len(fixed) == len(search_space):
            return {}
        with self._lock:
            encoder = self._encoder(search_space)
            rejected = [
                {n: p.get(n) for n in search_space} for p in self._rejected.get(trial.number, ())
            ]
            rng = trial_rng(self.seed, trial.number, trial.attempt, self._name)
            x_fixed = encode_params(encoder, fixed) if fixed else None
            shrink = 0.5 ** min(trial.attempt, 60)
            for _ in range(_MAX_TRIES):
                proposed = self._propose(study, trial, encoder, rng)
                if proposed is None:
                    return {}
                x, anchor = proposed
                if trial.attempt:
                    x = anchor + shrink * (x - anchor)
                if x_fixed is not None:
                    for name in fixed:
                        s = encoder.slices[name]
                        x[s] = x_fixed[s]
                params = encoder.decode(np.clip(x, 0.0, 1.0))
                if params not in rejected:
                    break
            else:
                return {}  # every parameter then comes from sample_independent
        return {n: v for n, v in params.items() if n not in fixed}

    def sample_independent(
        self, study: Study, trial: Trial, name: str, distribution: BaseDistribution
    ) -> Any:
        # Initial populations and parameters outside the evolved space: uniform draws
        # that depend only on (seed, trial number, attempt, name).
        return distribution.from_unit(trial_uniform(self.seed, trial.number, trial.attempt, name))

    # -- helpers -----------------------------------------------------------------------------
    def _encoder(self, space: dict[str, BaseDistribution]) -> UnitCubeEncoder:
        key = tuple(space.items())
        enc = self._encoders.get(key)
        if enc is None:
            if len(self._encoders) > 64:
                self._encoders.clear()
            enc = self._encoders[key] = UnitCubeEncoder(space, onehot=self._onehot)
        return enc
