"""The storage interface shared by every backend.

A storage keeps studies and their trials.  Its operations are deliberately
*coarse*: one call (and, for databases, one transaction) per trial step:

* :meth:`BaseStorage.start_trial` claims the oldest enqueued (WAITING) trial of a
  study or creates a new RUNNING one, with a dense, unique number;
* :meth:`BaseStorage.write_trial` writes everything a worker has learnt about a
  running trial since the last write (parameters, user attributes, new
  intermediate values and, at the end, the state and objective values);
* :meth:`BaseStorage.get_trials` returns only what a reader has not seen yet
  (trials numbered after a watermark, plus the unfinished trials it asks to
  re-read), so that keeping a study's history up to date costs time
  proportional to what changed, not to the size of the study.

All stored values are JSON; no backend uses pickle.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypersearch.space.distributions import BaseDistribution
from hypersearch.study._direction import StudyDirection
from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState

__all__ = ["BaseStorage", "StudyInfo", "StudySummary"]

_MAX_NUMBER = (1 << 31) - 1  # trial numbers are 32-bit in every backend


@dataclass
class StudyInfo:
    """Identity and settings of a stored study."""

    study_id: int
    name: str
    directions: list[StudyDirection]
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    datetime_start: _dt.datetime | None = None


@dataclass
class StudySummary:
    """A line of :func:`hypersearch.list_studies`."""

    name: str
    directions: list[StudyDirection]
    n_trials: int
    state_counts: dict[str, int]
    best_values: list[float] | None
    datetime_start: _dt.datetime | None
    study_id: int


class BaseStorage:
    """Abstract storage.  See the module docstring for the contract."""

    # -- studies ---------------------------------------------------------------
    def create_study(self, name: str, directions: Sequence[StudyDirection]) -> StudyInfo:
        """Create a study; ``DuplicatedStudyError`` if the name is taken."""
        raise NotImplementedError

    def get_study(self, name: str) -> StudyInfo:
        """Look a study up by name; ``StudyNotFoundError`` if absent."""
        raise NotImplementedError

    def delete_study(self, study_id: int) -> None:
        """Delete a study with all its trials."""
        raise NotImplementedError

    def list_studies(self) -> list[StudySummary]:
        """Summaries of every study in the storage."""
        raise NotImplementedError

    def set_study_attrs(
        self,
        study_id: int,
        *,
        user: dict[str, Any] | None = None,
        system: dict[str, Any] | None = None,
    ) -> None:
        """Merge the given keys into the study's user / system attributes."""
        raise NotImplementedError

    def get_study_attrs(self, study_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(user_attrs, system_attrs)`` of a study."""
        raise NotImplementedError

    def setdefault_study_system_attr(self, study_id: int, key: str, value: Any) -> Any:
        """Store the study system attribute ``key`` unless it is set already, and
        return the value stored in the end, atomically: processes that open a new
        study at the same moment (each with its own random seed, say) all end up
        with the first writer's value.

        The default reads, then writes: correct for one process; backends shared
        by several processes override it with one atomic step."""
        stored = self.get_study_attrs(study_id)[1]
        if key in stored:
            return stored[key]
        self.set_study_attrs(study_id, system={key: value})
        return value

    # -- trials ----------------------------------------------------------------
    def enqueue_trial(
        self,
        study_id: int,
        params: dict[str, Any],
        distributions: dict[str, BaseDistribution],
        user_attrs: dict[str, Any] | None = None,
        system_attrs: dict[str, Any] | None = None,
    ) -> int:
        """Store a WAITING trial with fixed parameters; return its number."""
        raise NotImplementedError

    def enqueue_trials(
        self,
        study_id: int,
        items: Sequence[tuple[dict[str, Any], dict[str, Any]]],
        once_key: str | None = None,
    ) -> bool:
        """Enqueue many ``(params, system_attrs)`` WAITING trials in one step.

        With ``once_key``, the batch is enqueued only by the first caller across
        all processes (the key is recorded as a study system attribute in the
        same transaction); later callers get ``False`` and enqueue nothing.
        """
        raise NotImplementedError

    def start_trial(self, study_id: int, waiting_only: bool = False) -> FrozenTrial | None:
        """Claim the oldest WAITING trial (exactly one caller gets it) or create a new
        RUNNING trial; return it.  With ``waiting_only``, return ``None`` instead of
        creating a trial when none is waiting."""
        raise NotImplementedError

    def start_trial_and_read(
        self,
        study_id: int,
        *,
        waiting_only: bool = False,
        after_number: int = -1,
        numbers: Iterable[int] = (),
    ) -> tuple[FrozenTrial | None, list[FrozenTrial]]:
        """:meth:`get_trials` (what changed since the reader's watermark) followed by
        :meth:`start_trial`, in one step where the backend can (one transaction for
        SQL): what a study does before every trial."""
        fresh = self.get_trials(study_id, after_number=after_number, numbers=numbers)
        return self.start_trial(study_id, waiting_only), fresh

    def resume_trial(
        self, study_id: int, number: int, system_attrs: Mapping[str, Any] | None = None
    ) -> FrozenTrial | None:
        """Claim the PAUSED trial ``number`` (it becomes RUNNING again) and return it
        as stored; ``None`` when it is not PAUSED (another worker resumed it, or
        it finished).  Exactly one of several concurrent callers gets it.
        ``system_attrs`` are set in the same update (who runs it now): nobody sees
        the trial RUNNING under its previous worker's name."""
        raise NotImplementedError

    def add_trial(self, study_id: int, trial: FrozenTrial) -> FrozenTrial:
        """Store a trial evaluated elsewhere (any state) under the next number."""
        raise NotImplementedError

    def write_trial(
        self,
        trial_id: int,
        *,
        params: dict[str, Any] | None = None,
        distributions: dict[str, BaseDistribution] | None = None,
        user_attrs: dict[str, Any] | None = None,
        system_attrs: dict[str, Any] | None = None,
        intermediate: dict[int, float] | None = None,
        state: TrialState | None = None,
        values: Sequence[float] | None = None,
        retry: dict[str, Any] | None = None,
        completed_at: _dt.datetime | None = None,
    ) -> int | None:
        """Update a RUNNING trial in one step.

        ``params``, ``distributions``, ``user_attrs`` and ``system_attrs`` replace
        the stored mappings (the writer holds the complete picture);
        ``intermediate`` adds new ``step -> value`` pairs; ``state`` (with
        ``values``) finishes the trial, or pauses it (``PAUSED``).  Raises
        :class:`~hypersearch.exceptions.TrialStateError` if the trial is no longer
        RUNNING, so a result is never recorded twice.

        ``retry`` (with a finishing ``state``; see ``retry_attrs``) queues a
        WAITING copy of the trial's parameters with these system attributes in
        the same transaction, records its number as the finished trial's
        ``requeued_as`` system attribute and returns it: a failure and its retry
        are stored together or not at all.  Otherwise returns ``None``.

        ``completed_at`` (with a finishing ``state``) is the completion time to
        store, so that the trial its writer hands to callbacks and the stored one
        agree; without it the storage's clock at the write is used.
        """
        raise NotImplementedError

    def get_trials(
        self,
        study_id: int,
        *,
        after_number: int = -1,
        numbers: Iterable[int] = (),
        states: Iterable[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        """Trials numbered above ``after_number`` plus those whose number is in
        ``numbers``, ordered by number, optionally filtered by state."""
        raise NotImplementedError

    def get_trial(self, study_id: int, number: int) -> FrozenTrial:
        """One trial by number (``KeyError`` if absent)."""
        trials = self.get_trials(study_id, after_number=_MAX_NUMBER, numbers=[number])
        if not trials:
            raise KeyError(f"study has no trial number {number}")
        return trials[0]

    def heartbeat(self, trial_ids: Sequence[int]) -> None:
        """Record that the RUNNING trials ``trial_ids`` are alive (one write for all)."""
        raise NotImplementedError

    def fail_stale_trials(
        self,
        study_id: int,
        older_than: _dt.datetime,
        retries: int = 0,
        *,
        numbers: Iterable[int] | None = None,
        reason: str | None = None,
    ) -> list[FrozenTrial]:
        """Mark RUNNING trials whose last heartbeat (or write) is older than
        ``older_than`` as FAIL, with the reason in their ``fail_reason`` system
        attribute, and return them as they are now stored.  Exactly one of several
        concurrent callers fails a given trial.  ``numbers`` limits it to those
        trials (e.g. those whose worker process is known to be gone), ``reason``
        replaces the heartbeat message.

        In the same transaction, each failed trial with retries left (see
        :func:`~hypersearch.storage._common.retry_attrs`) is queued again with
        the same parameters, and the retry's number is recorded in the failed
        trial's ``requeued_as`` attribute: a caller killed at any point leaves
        either both or neither."""
        raise NotImplementedError

    def count_trials(self, study_id: int, states: Iterable[TrialState] | None = None) -> int:
        """Number of trials, optionally only those in ``states``."""
        raise NotImplementedError

    def get_trial_stamps(self, study_id: int, states: Iterable[TrialState]) -> dict[int, object]:
        """``{number: stamp}`` of the trials in ``states``, where a trial's stamp
        changes whenever the trial is written (started, resumed, reported on,
        paused).  A poll that reads no trial data: a process watching many PAUSED
        trials compares stamps to learn which ones another process resumed since
        it read them, and re-reads only those.  This default reads the trials and
        stamps each with what a write changes (reports, attributes); backends
        override it with a query of numbers and write times."""
        from hypersearch.storage._common import dumps

        return {
            t.number: (len(t.intermediate_values), max(t.intermediate_values, default=None),
                       dumps(t.system_attrs), dumps(t.user_attrs))
            for t in self.get_trials(study_id, states=states)
        }

    def get_best_trials(self, study_id: int, minimize: bool, limit: int) -> list[FrozenTrial]:
        """Up to ``limit`` COMPLETE trials with the best first objective value, best
        first (ties: lower number first; trials without a value are left out).

        Lets a study that keeps no trials in memory find its best trial without
        reading them all.  This default reads every COMPLETE trial; backends with
        an index of values override it."""
        done = [t for t in self.get_trials(study_id, states=[TrialState.COMPLETE]) if _has_value(t)]
        return sorted(done, key=lambda t: (t.values[0] if minimize else -t.values[0], t.number))[:limit]

    def close(self) -> None:
        """Release connections and other resources."""


def now() -> _dt.datetime:
    """Timezone-aware current time (UTC)."""
    return _dt.datetime.now(_dt.timezone.utc)


def _has_value(t: FrozenTrial) -> bool:
    """Whether ``t`` has a first objective value that is a number (not NaN)."""
    return bool(t.values) and t.values[0] is not None and t.values[0] == t.values[0]
