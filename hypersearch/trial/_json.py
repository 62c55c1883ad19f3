"""Trials as strict JSON data: one shape for the CLI's JSON output, the HTML report
and the dashboard's API."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

from hypersearch.trial._frozen import FrozenTrial

__all__ = ["jsonable", "trial_dict"]


def jsonable(obj: Any) -> Any:
    """``obj`` with datetimes as ISO 8601 strings and NaN/inf as ``None`` (strict JSON)."""
    if isinstance(obj, _dt.datetime):
        return obj.isoformat()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def trial_dict(t: FrozenTrial, n_objectives: int | None = None) -> dict[str, Any]:
    """``t`` as strict JSON data: nested parameters, user attributes and
    intermediate values, the worker that ran it, its failure reason; with
    ``n_objectives == 1`` also ``value``."""
    d = t.duration
    obj: dict[str, Any] = {"number": t.number, "state": t.state.name}
    if n_objectives == 1:
        obj["value"] = t.values[0] if t.values else None
    obj.update(
        values=list(t.values) if t.values is not None else None,
        params=dict(t.params),
        user_attrs=dict(t.user_attrs),
        intermediate={str(k): v for k, v in sorted(t.intermediate_values.items())},
        datetime_start=t.datetime_start,
        datetime_complete=t.datetime_complete,
        duration_s=None if d is None else d.total_seconds(),
        fail_reason=t.fail_reason,
        worker=t.system_attrs.get("worker"),
    )
    return jsonable(obj)
