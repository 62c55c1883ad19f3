"""Immutable record of a trial as it is stored."""

from __future__ import annotations

import copy as _copy
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from hypersearch.space.distributions import BaseDistribution
from hypersearch.trial._state import TrialState


@dataclass
class FrozenTrial:
    """Snapshot of a trial: its parameters, results and metadata.

    Attributes:
        number: Position of the trial in its study, dense from 0.
        state: Current :class:`TrialState`.
        values: One value per objective for COMPLETE trials (the last reported
            value for PRUNED trials if any), else ``None``.
        params: Parameter name to the value the objective received.
        distributions: Parameter name to the distribution it was drawn from (a
            dynamic parameter may have a different distribution in each trial).
        intermediate_values: ``step -> value`` reported with ``trial.report``.
        user_attrs / system_attrs: JSON-compatible metadata; system attributes
            hold framework data such as the failure reason.
        trial_id: Storage key of the trial (unique across studies).
    """

    number: int
    state: TrialState
    values: list[float] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    intermediate_values: dict[int, float] = field(default_factory=dict)
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    datetime_start: _dt.datetime | None = None
    datetime_complete: _dt.datetime | None = None
    trial_id: int = -1

    @property
    def value(self) -> float | None:
        """The single objective value (``ValueError`` for multi-objective trials)."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise ValueError(
                f"trial {self.number} has {len(self.values)} objective values; use .values"
            )
        return self.values[0]

    @property
    def duration(self) -> _dt.timedelta | None:
        """Wall time between start and completion, if both are known."""
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return self.datetime_complete - self.datetime_start

    @property
    def fail_reason(self) -> str | None:
        """Why the trial failed, for FAIL trials."""
        return self.system_attrs.get("fail_reason")

    @property
    def last_step(self) -> int | None:
        """The largest reported step, or ``None``."""
        return max(self.intermediate_values) if self.intermediate_values else None

    def copy(self) -> FrozenTrial:
        """An independent copy (cheap: nested attribute values are copied only when
        they are containers)."""
        return FrozenTrial(
            number=self.number,
            state=self.state,
            values=list(self.values) if self.values is not None else None,
            params=dict(self.params),
            distributions=dict(self.distributions),  # distributions are immutable
            intermediate_values=dict(self.intermediate_values),
            user_attrs=_copy_attrs(self.user_attrs),
            system_attrs=_copy_attrs(self.system_attrs),
            datetime_start=self.datetime_start,
            datetime_complete=self.datetime_complete,
            trial_id=self.trial_id,
        )

    def __repr__(self) -> str:
        vals = f", values={self.values}" if self.values is not None else ""
        return f"FrozenTrial(number={self.number}, state={self.state.name}{vals}, params={self.params})"


def _copy_attrs(d: dict) -> dict:
    if any(isinstance(v, (dict, list)) for v in d.values()):
        return _copy.deepcopy(d)
    return dict(d)


def constraints_satisfied(constraints: Any) -> bool:
    """Whether a trial's recorded ``constraints`` system attribute is satisfied: every
    value ``<= 0`` (``None``: no constraints recorded, feasible)."""
    if constraints is None:
        return True
    try:
        return all(v is not None and float(v) <= 0 for v in constraints)
    except (TypeError, ValueError):
        return False
