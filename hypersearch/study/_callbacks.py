"""Callbacks for :meth:`Study.optimize` that users of Optuna know by name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial

__all__ = ["MaxTrialsCallback"]


class MaxTrialsCallback:
    """Stop the study once it holds ``n_trials`` trials in ``states``, counting every
    worker's (a budget for the whole study, where ``n_trials`` of ``optimize`` is
    each call's own)::

        study.optimize(objective, callbacks=[hs.study.MaxTrialsCallback(100)])

    Counted in the storage (one small query) after each trial this process
    finishes: workers running at once may overshoot by one trial each.

    Args:
        n_trials: The study's budget.
        states: Which trials count (default: COMPLETE and PRUNED, as in Optuna;
            ``None``: every trial).
    """

    def __init__(
        self,
        n_trials: int,
        states: Iterable[TrialState | str] | None = (TrialState.COMPLETE, TrialState.PRUNED),
    ) -> None:
        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
            raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
        self.n_trials = n_trials
        self.states = None if states is None else frozenset(TrialState.parse(s) for s in states)

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        if study._storage.count_trials(study._study_id, self.states) >= self.n_trials:
            study.stop()
