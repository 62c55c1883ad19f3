"""Steady-state genetic algorithm for mixed spaces."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

import numpy as np

from hypersearch.space.encoding import UnitCubeEncoder

from ._common import Observation, PopulationSampler, breed_pair, check_float, check_int
from ._operators import tournament

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._trial import Trial

__all__ = ["GASampler"]

CROSSOVERS = ("sbx", "blend", "uniform")


class GASampler(PopulationSampler):
    """A steady-state genetic algorithm for mixed float / integer / categorical spaces.

    The population is the best ``population_size`` COMPLETE trials (steady-state
    replacement: each finished trial replaces the worst member if it is better,
    which keeps the best ever found, and makes the population a function of the
    set of finished trials, not of the order they finished in).  Each new trial
    is one child:

    * **Selection.**  Two parents, each the best of ``tournament_size`` members
      drawn at random.
    * **Crossover** (with probability ``crossover_prob``, else a copy of the
      first parent).  Float parameters: simulated binary crossover
      (``crossover="sbx"``, spread ``eta_crossover``), BLX-alpha
      (``"blend"``, ``blend_alpha``) or uniform; integers, stepped floats and
      categoricals: uniform crossover, so a child inherits each level whole.
    * **Mutation.**  Each parameter mutates with probability ``mutation_prob``
      (default ``1 / number of parameters``): polynomial mutation for floats,
      a move to another grid level for integers and stepped floats, another
      choice for categoricals.  Values keep their types and bounds.

    Values are encoded in the unit cube (log scales linear, integers, steps
    and choices on cell centres)::

        study = hs.create_study(sampler=GASampler(population_size=30, seed=0))
        study.optimize(objective, n_trials=300)

    **Asynchronous.**  No worker waits for a generation: a child is bred from
    the population as it stands, so trial ``k``'s proposal depends only on the
    history, the seed and ``k``.  Until the population holds
    ``population_size`` members, trials are drawn uniformly at random.

    **Spaces, warm starts and constraints.**  The evolved space holds the
    parameters present in every COMPLETE trial; conditional and new parameters
    are drawn at random, and a dynamic parameter's older values are clamped into
    its newest range.  Enqueued and added trials join the population like any
    other; parameters fixed by an enqueued partial configuration keep their
    values.  A configuration rejected by a constraint is re-drawn from a new
    random stream (``trial.attempt``), contracted towards the first parent
    (which passed the constraints) by ``0.5 ** attempt``, and never proposed
    again for that trial.

    **Storage and cost.**  The population is rebuilt from the finished trials in
    trial-number order when the sampler is attached (nothing else is stored).
    A finished trial is inserted in O(population_size); a proposal encodes two
    parents.

    Only single-objective studies are supported.

    Args:
        population_size: Members kept (>= 2).
        tournament_size: Members per tournament (>= 1; 1 is uniform selection).
        crossover: ``"sbx"``, ``"blend"`` or ``"uniform"`` (for float parameters).
        crossover_prob: Probability that a child is a crossover, in ``[0, 1]``.
        mutation_prob: Per-parameter mutation probability in ``[0, 1]``
            (``None``: ``1 / number of parameters``).
        eta_crossover: SBX distribution index (> 0; larger: children nearer the
            parents).
        eta_mutation: Polynomial-mutation distribution index (> 0).
        blend_alpha: BLX-alpha widening (>= 0).
        seed: Seed of the random streams; ``None`` draws one (and the study
            records it, so a resumed study continues the same streams).
    """

    _name = "ga"
    _onehot = False

    def __init__(
        self,
        *,
        population_size: int = 20,
        tournament_size: int = 2,
        crossover: str = "sbx",
        crossover_prob: float = 0.9,
        mutation_prob: float | None = None,
        eta_crossover: float = 15.0,
        eta_mutation: float = 20.0,
        blend_alpha: float = 0.5,
        seed: int | None = None,
    ) -> None:
        self.population_size = check_int("population_size", population_size, 2)
        self.tournament_size = check_int("tournament_size", tournament_size, 1)
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
        super().__init__(seed)

    def _reset(self) -> None:
        # members sorted best first by (loss, number)
        self._keys: list[tuple[float, int]] = []
        self._members: list[Observation] = []

    def _add(self, study: Study, obs: Observation) -> None:
        key = obs.key
        if len(self._members) >= self.population_size and key >= self._keys[-1]:
            return
        i = bisect.bisect(self._keys, key)
        self._keys.insert(i, key)
        self._members.insert(i, obs)
        if len(self._members) > self.population_size:
            self._keys.pop()
            self._members.pop()

    def _propose(
        self, study: Study, trial: Trial, encoder: UnitCubeEncoder, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        n = len(self._members)
        if n < self.population_size:
            return None
        ranks = np.arange(n)  # members are kept sorted, best first
        i = tournament(ranks, self.tournament_size, rng)
        j = tournament(ranks, self.tournament_size, rng)
        return breed_pair(self, encoder, self._members[i].params, self._members[j].params, rng)

    def __repr__(self) -> str:
        return (
            f"GASampler(population_size={self.population_size}, crossover={self.crossover!r}, "
            f"seed={self.seed!r})"
        )
