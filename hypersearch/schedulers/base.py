"""The scheduler interface: decide from reported results whether a trial goes on.

Schedulers see only what trials reported (their intermediate values, through
the study's history) and answer with a :class:`Decision`; they never touch the
processes or threads that run trials.  In the define-by-run API a scheduler
acts as a *pruner*: ``trial.should_prune()`` is true when it decides STOP.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial


class Decision(enum.Enum):
    """What a scheduler wants done with a trial after a report."""

    CONTINUE = "continue"
    STOP = "stop"
    PAUSE = "pause"


class BaseScheduler:
    """Base class of schedulers (early stopping, successive halving, PBT, ...)."""

    def on_report(self, study: Study, trial: FrozenTrial) -> Decision:
        """Decide about ``trial`` after its latest ``report``."""
        return Decision.CONTINUE

    def should_prune(self, study: Study, trial: FrozenTrial) -> bool:
        """``True`` when :meth:`on_report` says STOP (the pruner view)."""
        return self.on_report(study, trial) == Decision.STOP

    def attach(self, study: Study) -> None:
        """Called once when the scheduler is bound to a study (restore state here)."""


class NopScheduler(BaseScheduler):
    """Never stops a trial."""
