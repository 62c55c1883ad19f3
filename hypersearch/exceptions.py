"""Exceptions raised by hypersearch."""

from __future__ import annotations


class HyperSearchError(Exception):
    """Base class of hypersearch's own errors."""


class TrialPruned(HyperSearchError):
    """Raise inside an objective to stop the trial early (it is recorded as PRUNED)."""


class TrialPaused(HyperSearchError):  # noqa: N818 - control flow, like TrialPruned
    """Raised inside a trial that a promotion scheduler pauses at a rung (it is
    recorded as PAUSED and may be resumed from its checkpoint later)."""


class DuplicatedStudyError(HyperSearchError, ValueError):
    """A study with the requested name already exists."""


class StudyNotFoundError(HyperSearchError, KeyError):
    """No study with the requested name exists in the storage."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the plain message
        return str(self.args[0]) if self.args else ""


class StorageError(HyperSearchError):
    """The storage could not complete an operation."""


class SchemaVersionError(StorageError):
    """The database was written by an incompatible version of hypersearch."""


class TrialStateError(HyperSearchError, RuntimeError):
    """An operation is not allowed in the trial's current state (e.g. telling it twice)."""


class ConstraintError(HyperSearchError, ValueError):
    """No configuration satisfying the space's constraints could be found."""


class SearchSpaceExhausted(HyperSearchError):
    """A finite sampler (e.g. grid search) has no configuration left to propose."""
