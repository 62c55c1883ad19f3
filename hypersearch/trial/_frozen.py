"""Immutable record of a trial as it is stored."""

from __future__ import annotations

import copy as _copy
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from hypersearch.space.distributions import BaseDistribution
from hypersearch.trial._state import TrialState
from hypersearch.trial._suggest import SuggestMethods


@dataclass
class FrozenTrial(SuggestMethods):
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

    # -- the objective's view: re-running an objective on a finished configuration ------
    # ``objective(study.best_trial)`` retrains the best model with the same code that
    # searched for it: each ``suggest_*`` returns the recorded value.
    def suggest(self, name: str, distribution: BaseDistribution) -> Any:
        """The recorded value of ``name`` (``ValueError`` if this trial has none; a
        warning if it lies outside ``distribution``, which then does not apply)."""
        if name not in self.params:
            raise ValueError(
                f"parameter {name!r} has no value in trial {self.number}; it has {sorted(self.params)}"
            )
        value = self.params[name]
        if not distribution.contains(value):
            import warnings

            warnings.warn(
                f"parameter {name!r}: the recorded value {value!r} lies outside {distribution!r}; "
                "it is used as recorded",
                UserWarning,
                stacklevel=3,
            )
        return value

    def report(self, value: float, step: int) -> None:
        """Record an intermediate value here (no scheduler sees it), with the checks
        of :meth:`Trial.report`: a non-negative whole step; a step reported twice
        keeps the first value and warns."""
        import numpy as np

        if isinstance(step, (float, np.floating)) and float(step).is_integer():
            step = int(step)
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step < 2**63:
            raise ValueError(f"step must be a non-negative integer below 2**63, got {step!r}")
        if int(step) in self.intermediate_values:
            import warnings

            warnings.warn(f"step {int(step)} was already reported; the first value is kept", UserWarning,
                          stacklevel=2)
            return
        self.intermediate_values[int(step)] = float(value)

    def should_prune(self) -> bool:
        """Always ``False``: a replayed configuration trains to the end."""
        return False

    def set_user_attr(self, key: str, value: Any) -> None:
        self.user_attrs[key] = value

    def set_system_attr(self, key: str, value: Any) -> None:
        self.system_attrs[key] = value

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


class FixedTrial(FrozenTrial):
    """A trial whose parameters are given: run an objective on one configuration
    outside any study (to retrain it, debug it, or test the objective), as with
    Optuna's ``FixedTrial``::

        objective(hs.trial.FixedTrial({"lr": 1e-3, "layers": 2}))

    ``suggest_*`` return the given values, ``report`` records, ``should_prune`` is
    ``False``.
    """

    def __init__(self, params: dict[str, Any], number: int = 0) -> None:
        super().__init__(number=number, state=TrialState.RUNNING, params=dict(params))


def _copy_attrs(d: dict) -> dict:
    if any(isinstance(v, (dict, list)) for v in d.values()):
        return _copy.deepcopy(d)
    return dict(d)


def constraints_satisfied(constraints: Any) -> bool:
    """Whether a trial's recorded ``constraints`` system attribute is satisfied: every
    value ``<= 0`` (a single number counts as a list of one; ``None``: no constraints
    recorded, feasible; anything unreadable: infeasible)."""
    if constraints is None:
        return True
    if isinstance(constraints, (int, float)) and not isinstance(constraints, bool):
        constraints = [constraints]
    try:
        return all(v is not None and float(v) <= 0 for v in constraints)
    except (TypeError, ValueError):
        return False


def constraint_violation(constraints: Any) -> float:
    """Total violation of recorded constraint values: the sum of the positive ones
    (a single number counts as a list of one; ``None``, NaN or unreadable: infinite)."""
    if isinstance(constraints, (int, float)) and not isinstance(constraints, bool):
        constraints = [constraints]
    try:
        return float(sum(float("inf") if v is None or v != v else max(float(v), 0.0) for v in constraints))
    except (TypeError, ValueError):
        return float("inf")


def check_constraints(value: Any) -> list[float | None]:
    """``value`` as the list of constraint values stored in the ``constraints``
    system attribute (``ValueError`` unless a number or a sequence of numbers; a
    NaN or ``None`` is kept and counts as violated)."""
    import numpy as np

    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        value = [value]
    elif isinstance(value, np.ndarray):
        value = value.ravel().tolist()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"constraints must be a number or a list of numbers (<= 0: satisfied), got {value!r}")
    out: list[float | None] = []
    for v in value:
        if v is None:  # unknown (how JSON keeps a NaN): violated
            out.append(None)
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"constraint values must be numbers (<= 0: satisfied), got {v!r} in {value!r}")
        out.append(float(v))
    return out
