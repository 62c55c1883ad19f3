"""NSGA-II for multi-objective studies, steady-state."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.samplers.evolution._common import (
    Observation,
    PopulationSampler,
    breed_pair,
    check_float,
    check_int,
    losses_of,
)
from hypersearch.samplers.evolution._operators import (
    constrained_non_dominated_sort,
    crowding_distance,
    tournament,
)
from hypersearch.space.encoding import UnitCubeEncoder
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.trial._trial import Trial

__all__ = ["CONSTRAINTS_ATTR", "NSGA2Sampler"]

_log = logging.getLogger("hypersearch")

#: Trial system attribute holding the constraint values of a trial (``<= 0``:
#: satisfied).  When a trial carries it (an objective may record it with
#: ``trial.set_system_attr(CONSTRAINTS_ATTR, [...])``) it is used as is;
#: otherwise ``constraints_func`` is evaluated on the finished trial.
CONSTRAINTS_ATTR = "constraints"

CROSSOVERS = ("sbx", "blend", "uniform")


@dataclass
class _Member(Observation):
    violation: float = 0.0  # total constraint violation; 0 = feasible


class NSGA2Sampler(PopulationSampler):
    """NSGA-II (Deb et al., 2002) in a steady-state form, for multi-objective studies.

    The population holds ``population_size`` COMPLETE trials.  Each new trial is
    one child of two parents chosen by binary tournaments under the *crowded
    comparison* (a lower non-domination rank wins, then a larger crowding
    distance, i.e. a less crowded region of the front), bred by the mixed-space
    operators of :class:`~hypersearch.samplers.evolution.GASampler`: SBX,
    BLX-alpha or uniform crossover for floats, uniform crossover for integers
    and categoricals, polynomial / level / choice mutation keeping types and
    bounds.  When a trial finishes it joins the population and the worst member
    leaves: the one on the last front with the smallest crowding distance (the
    (mu + 1) steady-state NSGA-II of Durillo et al., 2009)::

        study = hs.create_study(directions=["minimize", "minimize"],
                                sampler=NSGA2Sampler(population_size=40, seed=0))
        study.optimize(objective, n_trials=500)

    **Constraints.**  ``constraints_func(frozen_trial)`` returns a sequence of
    floats, each ``<= 0`` when its constraint is satisfied (Optuna's
    convention).  Ranks then follow Deb's *constraint domination*: a feasible
    trial beats every infeasible one, an infeasible trial with a smaller total
    violation beats one with a larger, and feasible trials compare by Pareto
    dominance.  A trial that carries the system attribute
    :data:`CONSTRAINTS_ATTR` (``"constraints"``; an objective may set it with
    ``trial.set_system_attr``) uses those values and ``constraints_func`` is not
    called for it.  Otherwise the function is evaluated, in every process, on
    each finished trial as it joins the population (it must be deterministic):
    the study writes a trial for the last time before any sampler sees it
    finished, so the sampler cannot add the values to a finished trial.

    **Objectives.**  Designed for two or more objectives; with one objective it
    works as a steady-state genetic algorithm whose ties are broken by crowding.

    **Asynchronous.**  No worker waits for a generation: a child is bred from
    the population as it stands, so trial ``k``'s proposal depends only on the
    history, the seed and ``k``.  Until the population holds
    ``population_size`` members, trials are drawn uniformly at random.

    **Spaces, warm starts and re-draws.**  The evolved space holds the
    parameters present in every COMPLETE trial; conditional and new parameters
    are drawn at random, and a dynamic parameter's older values are clamped into
    its newest range.  Enqueued and added trials join the population like any
    other; parameters fixed by an enqueued partial configuration keep their
    values.  A configuration rejected by a search-space constraint is re-drawn
    from a new random stream (``trial.attempt``), contracted towards the first
    parent (which passed the constraints) by ``0.5 ** attempt``, and never
    proposed again for that trial.

    **Storage and cost.**  The population is rebuilt from the finished trials in
    trial-number order when the sampler is attached (nothing else is stored).
    A finished trial costs one constrained non-dominated sort of
    ``population_size + 1`` points (``O(m n^2)``); a proposal encodes two
    parents.

    Args:
        population_size: Members kept (>= 2).
        crossover: ``"sbx"``, ``"blend"`` or ``"uniform"`` (for float parameters).
        crossover_prob: Probability that a child is a crossover, in ``[0, 1]``.
        mutation_prob: Per-parameter mutation probability in ``[0, 1]``
            (``None``: ``1 / number of parameters``).
        eta_crossover: SBX distribution index (> 0).
        eta_mutation: Polynomial-mutation distribution index (> 0).
        blend_alpha: BLX-alpha widening (>= 0).
        constraints_func: ``fn(frozen_trial) -> sequence of floats`` (``<= 0``:
            feasible), or ``None``.
        seed: Seed of the random streams; ``None`` draws one (and the study
            records it, so a resumed study continues the same streams).
    """

    _name = "nsga2"
    _onehot = False
    _multi_objective = True

    def __init__(
        self,
        *,
        population_size: int = 50,
        crossover: str = "sbx",
        crossover_prob: float = 0.9,
        mutation_prob: float | None = None,
        eta_crossover: float = 15.0,
        eta_mutation: float = 20.0,
        blend_alpha: float = 0.5,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
        seed: int | None = None,
    ) -> None:
        self.population_size = check_int("population_size", population_size, 2)
        if crossover not in CROSSOVERS:
            raise ValueError(f"crossover must be one of {list(CROSSOVERS)}, got {crossover!r}")
        self.crossover = crossover
        self.crossover_prob = check_float("crossover_prob", crossover_prob, 0.0, 1.0)
        self.mutation_prob = (
            None if mutation_prob is None else check_float("mutation_prob", mutation_prob, 0.0, 1.0)
        )
        self.eta_crossover = check_float("eta_crossover", eta_crossover, 0.0, low_open=True)
        self.eta_mutation = check_float("eta_mutation", eta_mutation, 0.0, low_open=True)
        self.blend_alpha = check_float("blend_alpha", blend_alpha, 0.0)
        if constraints_func is not None and not callable(constraints_func):
            raise ValueError(
                f"constraints_func must be a callable frozen_trial -> sequence of floats, "
                f"got {constraints_func!r}"
            )
        self.constraints_func = constraints_func
        super().__init__(seed)

    # -- population ---------------------------------------------------------------------
    def _reset(self) -> None:
        self._members: list[_Member] = []
        self._keys = np.zeros(0)  # crowded-comparison position of each member (0: best)
        self._ranks = np.zeros(0, dtype=np.int64)

    def before_finish(self, study: Study, trial: Trial, state: TrialState, values: list[float] | None) -> None:
        """Evaluate ``constraints_func`` once, in the worker that ran the trial, and
        store the values with it (:data:`CONSTRAINTS_ATTR`), so every process ranks
        the trial by the same feasibility without calling the function again."""
        if self.constraints_func is None or state != TrialState.COMPLETE:
            return
        if CONSTRAINTS_ATTR in trial.system_attrs:
            return
        trial.set_system_attr(CONSTRAINTS_ATTR, self._constraint_values(trial._snapshot(state, values)))

    def added_trial_attrs(self, study: Study, trial: FrozenTrial) -> dict[str, Any]:
        if self.constraints_func is None or trial.state != TrialState.COMPLETE or CONSTRAINTS_ATTR in trial.system_attrs:
            return {}
        return {CONSTRAINTS_ATTR: self._constraint_values(trial)}

    def _constraint_values(self, frozen: FrozenTrial) -> list[float | None]:
        """``constraints_func(frozen)`` as stored (infeasible if it fails)."""
        try:
            raw = self.constraints_func(frozen)  # type: ignore[misc]
            stored = [float(v) for v in raw]
        except Exception as e:
            _log.warning("trial %d: constraints_func failed (%s); the trial is treated as infeasible", frozen.number, e)
            stored = [math.inf]
        # JSON has no NaN or infinity: NaN is stored as null (read back as infeasible)
        return [None if v != v else (v if math.isfinite(v) else math.copysign(1e300, v)) for v in stored]

    def _observation(self, study: Study, trial: FrozenTrial) -> _Member | None:
        loss = losses_of(study, trial)
        if loss is None:
            return None
        return _Member(trial.number, dict(trial.params), loss, violation=self._violation(trial))

    def _violation(self, trial: FrozenTrial) -> float:
        values = trial.system_attrs.get(CONSTRAINTS_ATTR)
        if values is None:
            if self.constraints_func is None:
                return 0.0
            values = self.constraints_func(trial)
        try:
            c = np.asarray([float(v) for v in values], dtype=float)
        except (TypeError, ValueError):
            _log.warning(
                "trial %d: constraint values %r are not a sequence of numbers; the trial is "
                "treated as infeasible", trial.number, values,
            )
            return math.inf
        if np.isnan(c).any():
            _log.warning(
                "trial %d: constraint values %r contain NaN; the trial is treated as infeasible",
                trial.number, list(c),
            )
            return math.inf
        return float(np.maximum(c, 0.0).sum())

    def _ranked(self, members: list[_Member]) -> tuple[np.ndarray, np.ndarray]:
        """Constrained non-domination ranks and crowding distances (per front)."""
        F = np.array([m.loss for m in members])
        viol = np.array([m.violation for m in members])
        ranks = constrained_non_dominated_sort(F, viol if (viol > 0).any() else None)
        crowd = np.empty(len(members))
        for r in np.unique(ranks):
            idx = np.flatnonzero(ranks == r)
            crowd[idx] = crowding_distance(F[idx])
        return ranks, crowd

    def _add(self, study: Study, obs: Observation) -> None:
        assert isinstance(obs, _Member)
        members = [*self._members, obs]
        ranks, crowd = self._ranked(members)
        if len(members) > self.population_size:
            # the worst: last front, smallest crowding distance, then the newest trial
            numbers = np.array([m.number for m in members])
            worst = int(np.lexsort((-numbers, crowd, -ranks))[0])
            r = ranks[worst]
            del members[worst]
            # removing a member of the last front changes no rank, only the
            # crowding distances within that front
            ranks = np.delete(ranks, worst)
            crowd = np.delete(crowd, worst)
            idx = np.flatnonzero(ranks == r)
            if idx.size:
                crowd[idx] = crowding_distance(np.array([members[i].loss for i in idx]))
        self._members = members
        self._ranks = ranks
        order = np.lexsort((np.array([m.number for m in members]), -crowd, ranks))
        keys = np.empty(len(members))
        keys[order] = np.arange(len(members))
        self._keys = keys

    # -- proposals ----------------------------------------------------------------------
    def _propose(
        self, study: Study, trial: Trial, encoder: UnitCubeEncoder, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        if len(self._members) < self.population_size:
            return None
        i = tournament(self._keys, 2, rng)
        j = tournament(self._keys, 2, rng)
        return breed_pair(self, encoder, self._members[i].params, self._members[j].params, rng)

    def population(self) -> list[int]:
        """Trial numbers of the current population, best (crowded comparison) first."""
        with self._lock:
            order = np.argsort(self._keys, kind="stable")
            return [self._members[int(i)].number for i in order]

    def __repr__(self) -> str:
        return (
            f"NSGA2Sampler(population_size={self.population_size}, crossover={self.crossover!r}, "
            f"constraints_func={self.constraints_func!r}, seed={self.seed!r})"
        )
