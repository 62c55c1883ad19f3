"""The scheduler interface: decide from reported results whether a trial goes on.

Schedulers see only what trials reported (their intermediate values, through
the study's history) and answer with a :class:`Decision`; they never touch the
processes or threads that run trials.  In the define-by-run API a scheduler
acts as a *pruner*: ``trial.should_prune()`` is true when it decides STOP.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from hypersearch.study._direction import StudyDirection

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial


class Decision(enum.Enum):
    """What a scheduler wants done with a trial after a report."""

    CONTINUE = "continue"
    STOP = "stop"
    PAUSE = "pause"
    #: Replace the trial's state with another trial's checkpoint and a new
    #: configuration (population-based training); the scheduler says which.
    CLONE = "clone"


class BaseScheduler:
    """Base class of schedulers (early stopping, successive halving, PBT, ...).

    Schedulers judge the value a trial reports (``trial.report(value, step)`` or
    ``hs.report(metric=...)``) at its *step* (epochs, iterations: the resource
    spent so far).  ``mode`` says whether a smaller or a larger reported value is
    better; by default it is the study's direction, and it must be given for
    multi-objective studies, where the reported metric is the one to schedule on.
    """

    mode: StudyDirection | None = None
    #: Whether the scheduler reads finished trials from ``study.history`` (see
    #: :attr:`BaseSampler.needs_finished_trials`); schedulers that index reports
    #: as they arrive do not.
    needs_finished_trials: bool = False

    def direction(self, study: Study) -> StudyDirection:
        """Direction of the reported metric."""
        if self.mode is not None:
            return self.mode
        if len(study.directions) != 1:
            raise ValueError(
                f"{type(self).__name__}: the study has several objectives; pass mode='min' or "
                "mode='max' for the reported metric"
            )
        return study.directions[0]

    def on_report(self, study: Study, trial: FrozenTrial) -> Decision:
        """Decide about ``trial`` after its latest ``report``."""
        return Decision.CONTINUE

    def decide(self, study: Study, trial: FrozenTrial, *, pausable: bool = False) -> Decision:
        """The decision after a report, knowing whether the runner can pause the
        trial (``hs.tune`` can; a define-by-run objective cannot).  Schedulers that
        pause override this; the default is :meth:`on_report`."""
        return self.on_report(study, trial)

    def choose_paused(self, study: Study, *, can_start: bool) -> int | None:
        """Number of a PAUSED trial to resume now, or ``None`` to start a new trial.

        Asked by the tune loop before every trial a free worker runs.
        ``can_start`` says whether the budget still allows new trials (a
        synchronous scheduler promotes a rung early once no more trials come).
        Only pausing schedulers return a number.
        """
        return None

    def note_can_start(self, study: Study, *, can_start: bool) -> None:
        """Told by the tune loop before every trial a free worker runs, also when
        that is an interrupted trial resumed before anything is chosen:
        whether the budget still allows new trials.  For schedulers that pause
        members while others are due to start (population-based training)."""

    def suggested_sampler(self, seed: int | None = None, n_objectives: int = 1):
        """A sampler made for this scheduler (e.g. BOHB's multi-fidelity TPE), used
        by :func:`~hypersearch.create_study` when no sampler is given, for a study
        with ``n_objectives`` objectives; ``None``: the usual default."""
        return None

    def should_prune(self, study: Study, trial: FrozenTrial) -> bool:
        """``True`` when :meth:`on_report` says STOP (the pruner view)."""
        return self.decide(study, trial) == Decision.STOP

    def attach(self, study: Study) -> None:
        """Called once when the scheduler is bound to a study (restore state here)."""


class NopScheduler(BaseScheduler):
    """Never stops a trial."""
