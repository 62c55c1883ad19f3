"""Asynchronous (steady-state) differential evolution."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hypersearch.space.encoding import UnitCubeEncoder

from ._common import Observation, PopulationSampler, check_float, check_int, encode_params
from ._operators import binomial_crossover, bounce_back, de_mutant

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._trial import Trial

__all__ = ["DESampler"]

_STRATEGIES = {"rand/1/bin": "rand/1", "current-to-best/1/bin": "current-to-best/1"}


class DESampler(PopulationSampler):
    """Differential evolution (Storn & Price, 1997), asynchronous.

    The population has ``population_size`` *slots*.  Trial ``k`` targets slot
    ``k mod population_size``: it builds a mutant from other members,

    * ``"rand/1/bin"``: ``x_r0 + F (x_r1 - x_r2)``, or
    * ``"current-to-best/1/bin"``: ``x_t + F (x_best - x_t) + F (x_r0 - x_r1)``
      (faster on smooth problems, less exploratory),

    crosses it with the slot's occupant (binomial crossover: each parameter
    from the mutant with probability ``CR``, at least one always), and the
    finished trial replaces the occupant if it is better.  A slot therefore
    holds the best COMPLETE trial among those numbered ``k mod
    population_size``, which makes the population a function of the set of
    finished trials, not of the order in which they finished::

        study = hs.create_study(sampler=DESampler(population_size=20, seed=0))
        study.optimize(objective, n_trials=300)

    **Asynchronous.**  No worker waits for a generation: each new trial is built
    from the members finished so far, so trial ``k``'s proposal depends only on
    the history, the seed and ``k``.  While the target slot is empty, or fewer
    than four slots are filled (the initial population), the trial is drawn
    uniformly at random.

    **Mixed spaces.**  Parameters are encoded in the unit cube (log scales
    linear, integers and stepped floats on cell centres, categoricals as one-hot
    blocks decoded by argmax); crossover takes a parameter's whole block from
    one vector, and coordinates leaving the cube are bounced halfway back from
    the target.  The evolved space holds the parameters present in every
    COMPLETE trial; conditional and new parameters are drawn at random, and a
    dynamic parameter's older values are clamped into its newest range.

    **Warm starts and constraints.**  Enqueued and added trials join the
    population like any other (an enqueued trial competes for its slot);
    parameters fixed by an enqueued partial configuration keep their values.
    A configuration rejected by a constraint is re-drawn from a new random
    stream (``trial.attempt``), contracted towards the target (which passed
    the constraints) by ``0.5 ** attempt``, and never proposed again for that
    trial.

    **Storage.**  Nothing is stored besides the trials: the population is
    rebuilt from the finished trials in trial-number order when the sampler is
    attached, so a resumed study continues with the same proposals.  Each
    finished trial updates one slot in O(1), and a proposal encodes at most five
    members, so the cost of a suggestion does not grow with the study.

    Only single-objective studies are supported.

    Args:
        population_size: Number of slots (>= 4).  Classic advice is 5-10 times
            the number of parameters; smaller populations converge faster on
            small budgets.
        strategy: ``"rand/1/bin"`` or ``"current-to-best/1/bin"``.
        F: Differential weight (mutation scale), in ``(0, 2]``.
        CR: Crossover probability per parameter, in ``[0, 1]``.
        seed: Seed of the random streams; ``None`` draws one (and the study
            records it, so a resumed study continues the same streams).
    """

    _name = "de"
    _onehot = True

    def __init__(
        self,
        *,
        population_size: int = 20,
        strategy: str = "rand/1/bin",
        F: float = 0.5,
        CR: float = 0.9,
        seed: int | None = None,
    ) -> None:
        self.population_size = check_int("population_size", population_size, 4)
        if strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {list(_STRATEGIES)}, got {strategy!r}")
        self.strategy = strategy
        self.F = check_float("F", F, 0.0, 2.0, low_open=True)
        self.CR = check_float("CR", CR, 0.0, 1.0)
        super().__init__(seed)

    def _reset(self) -> None:
        self._slots: dict[int, Observation] = {}
        self._best: Observation | None = None

    def _add(self, study: Study, obs: Observation) -> None:
        s = obs.number % self.population_size
        cur = self._slots.get(s)
        if cur is None or obs.key < cur.key:
            self._slots[s] = obs
        if self._best is None or obs.key < self._best.key:
            self._best = obs

    def _propose(
        self, study: Study, trial: Trial, encoder: UnitCubeEncoder, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        target = self._slots.get(trial.number % self.population_size)
        if target is None or len(self._slots) < 4:
            return None
        others = sorted(s for s, o in self._slots.items() if o is not target)
        picks = rng.choice(len(others), size=3, replace=False)
        r = [encode_params(encoder, self._slots[others[i]].params) for i in picks]
        x_t = encode_params(encoder, target.params)
        assert self._best is not None
        best = encode_params(encoder, self._best.params) if self.strategy != "rand/1/bin" else x_t
        mutant = de_mutant(_STRATEGIES[self.strategy], x_t, best, r, self.F)
        mutant = bounce_back(mutant, x_t)
        groups = [encoder.slices[n] for n in encoder.space]
        return binomial_crossover(x_t, mutant, self.CR, groups, rng), x_t

    def __repr__(self) -> str:
        return (
            f"DESampler(population_size={self.population_size}, strategy={self.strategy!r}, "
            f"F={self.F}, CR={self.CR}, seed={self.seed!r})"
        )
