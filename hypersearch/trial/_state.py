"""Life-cycle states of a trial."""

from __future__ import annotations

import enum


class TrialState(enum.IntEnum):
    """State of a trial.

    ``WAITING`` trials were enqueued and are not yet claimed by a worker;
    ``RUNNING`` trials are being evaluated; ``PAUSED`` trials stopped at a
    rung of a promotion scheduler (e.g. ASHA's promotion variant) with a
    checkpoint and may be resumed; the other three are final.
    """

    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4
    PAUSED = 5

    def is_finished(self) -> bool:
        """Whether the state is final (COMPLETE, PRUNED or FAIL)."""
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

    @classmethod
    def parse(cls, value: TrialState | str | int) -> TrialState:
        """Accept a state, its name (any case) or its integer value."""
        if isinstance(value, TrialState):
            return value
        if isinstance(value, str):
            try:
                return cls[value.upper()]
            except KeyError:
                raise ValueError(
                    f"unknown trial state {value!r}; expected one of {[s.name for s in cls]}"
                ) from None
        try:
            return cls(int(value))
        except (ValueError, TypeError):
            raise ValueError(f"unknown trial state {value!r}") from None
