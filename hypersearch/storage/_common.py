"""Helpers shared by storage backends."""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import re
from collections.abc import Iterable
from typing import Any

from hypersearch.space.distributions import (
    BaseDistribution,
    distribution_from_json,
    distribution_to_json,
)
from hypersearch.trial._frozen import FrozenTrial, constraints_satisfied
from hypersearch.trial._state import TrialState


def summarize_study(info, trials: Iterable[FrozenTrial]):
    """Build a :class:`StudySummary` from a study's info and trials."""
    from hypersearch.storage.base import StudySummary

    counts: dict[str, int] = {}
    best: list[float] | None = None
    n = 0
    single = len(info.directions) == 1
    sign = info.directions[0].sign() if single else 1.0
    for t in trials:
        n += 1
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
        feasible = constraints_satisfied(t.system_attrs.get("constraints"))
        if single and t.state == TrialState.COMPLETE and t.values and feasible:
            if best is None or sign * t.values[0] < sign * best[0]:
                best = list(t.values)
    return StudySummary(
        name=info.name,
        directions=list(info.directions),
        n_trials=n,
        state_counts=counts,
        best_values=best,
        datetime_start=info.datetime_start,
        study_id=info.study_id,
    )


def dumps(obj: Any) -> str:
    """JSON text of ``obj`` (NaN/inf allowed, keys kept in insertion order)."""
    return json.dumps(obj, allow_nan=True, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None, default: Any = None) -> Any:
    if text is None:
        return default
    return json.loads(text)


def dists_to_json(d: dict[str, BaseDistribution]) -> str:
    return dumps({k: distribution_to_json(v) for k, v in d.items()})


def dists_from_json(text: str | None) -> dict[str, BaseDistribution]:
    """The distributions of a trial.  Trials of a study mostly share the same
    distributions, so the decoded objects (which are never modified) are shared
    between trials with the same stored text: a study of 100,000 trials then holds
    a handful of distribution objects, not 100,000 copies.  Each trial still gets
    its own dict."""
    if not text:
        return {}
    return dict(_decoded_dists(text))


@functools.lru_cache(maxsize=4096)
def _decoded_dists(text: str) -> dict[str, BaseDistribution]:
    raw = loads(text, {})
    return {k: distribution_from_json(v, name=k) for k, v in raw.items()}


def check_json_value(what: str, value: Any) -> Any:
    """``value`` as it is stored: numpy scalars and arrays (e.g. ``scores.argmax()``)
    as the Python numbers and lists they hold, inside dicts and lists too.  Raise
    ``ValueError`` naming ``what`` if it cannot be stored as JSON."""
    value = plain_value(value)
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}: value {value!r} is not JSON-serialisable ({e})") from None
    return value


def plain_value(value: Any) -> Any:
    """``value`` with numpy scalars and arrays, nested in dicts and lists too, as the
    Python numbers and lists they hold (tuples as lists, as JSON has them)."""
    if isinstance(value, dict):
        return {k: plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if getattr(value, "shape", None) is not None and callable(getattr(value, "tolist", None)):
        return value.tolist()  # a numpy scalar (shape ()) or array
    return value


def is_json_value(value: Any) -> bool:
    """Whether ``value`` itself can be stored as JSON, as it is (unlike
    :func:`check_json_value`, which converts numpy values first)."""
    try:
        json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return False
    return True


def plain_scalar(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (what JSON can store); other
    values unchanged.  Duck-typed, so numpy need not be imported."""
    if getattr(value, "shape", None) == () and callable(getattr(value, "item", None)):
        return value.item()
    return value


#: Longest study name or study attribute key (the SQL columns are VARCHAR(512)).
MAX_KEY_LENGTH = 512


def check_key(what: str, key: Any) -> None:
    """Raise ``ValueError`` unless ``key`` (a study name or study attribute key, stored
    in a text column) is a non-empty string of at most :data:`MAX_KEY_LENGTH`
    characters without NUL characters, which PostgreSQL text cannot hold; the
    same rule on every backend."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"{what} must be a non-empty string, got {key!r}")
    if "\x00" in key:
        raise ValueError(f"{what} must not contain NUL characters, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"{what} is {len(key)} characters long; at most {MAX_KEY_LENGTH} are stored, got {key[:40]!r}...")


def as_utc(d: _dt.datetime | None) -> _dt.datetime | None:
    """``d`` as an aware UTC time: the same instant whatever offset it carried, and
    a naive time read as local time (as Optuna records them).  SQLite keeps no
    offset, so every backend stores UTC."""
    if d is None:
        return None
    return d.astimezone(_dt.timezone.utc)


def nan_to_none(v: float) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def none_to_nan(v: float | None) -> float:
    return float("nan") if v is None else float(v)


def parse_state(v: int | TrialState) -> TrialState:
    return TrialState(int(v))


def checkpoint_step(path: Any) -> int | None:
    """The step a checkpoint was saved at, from its stored path
    (``trial_000003/checkpoint_000012.pkl``: 12); ``None`` without one."""
    if path is None:
        return None
    m = re.search(r"checkpoint_(\d+)", str(path))
    return int(m.group(1)) if m else None


class OneMore(int):
    """A ``retries`` value that grants each failed trial at least one more attempt
    than its chain has used (``hs.tune``'s resume takes every killed trial up
    again, however many earlier resumes did), besides the ``int`` it holds."""


def retry_attrs(failed: FrozenTrial, retries: int = 0) -> dict[str, Any] | None:
    """System attributes of the retry of ``failed`` (a trial whose worker died), or
    ``None`` when it has no retries left: ``max(retries, its recorded
    max_retries)`` bounds the chain of retries (:class:`OneMore`: one more than
    the chain used, for this trial only).  A retry resumes from the failed
    trial's last checkpoint where there is one."""
    done = int(failed.system_attrs.get("retry", 0) or 0)
    allowed = max(int(retries), int(failed.system_attrs.get("max_retries", 0) or 0))
    if isinstance(retries, OneMore):
        allowed = max(allowed, done + 1)
    if done >= allowed or not failed.params:
        return None
    system: dict[str, Any] = {"retry_of": failed.number, "retry": done + 1, "max_retries": allowed}
    if failed.system_attrs.get("checkpoint") is not None:
        system["checkpoint"] = failed.system_attrs["checkpoint"]
        # the step the checkpoint was saved at (in its name), not the last report:
        # reports after the last checkpoint are trained again
        saved = checkpoint_step(failed.system_attrs["checkpoint"])
        system["resume_step"] = saved if saved is not None else (failed.last_step or 0)
        # the original's last report: schedulers judged it up to there already
        system["retry_after_step"] = (
            failed.last_step if failed.last_step is not None else failed.system_attrs.get("retry_after_step", 0)
        )
        # population-based training: the configuration the checkpoint was trained
        # with, and the schedule that led there, go on with it
        for key in ("pbt:config", "pbt:params", "pbt:schedule"):
            if key in failed.system_attrs:
                system[key] = failed.system_attrs[key]
        # hs.tune's clock goes on, as its iteration count does
        last = failed.user_attrs.get("last_result")
        clock = last.get("time_total_s") if isinstance(last, dict) and failed.intermediate_values else None
        if clock is None:  # a retry killed before its first report: its original's
            clock = failed.system_attrs.get("time_total_s")
        if isinstance(clock, (int, float)) and not isinstance(clock, bool):
            system["time_total_s"] = float(clock)
    # the trial's sample_from values (hypersearch.space.declarative.DERIVED_ATTR): the
    # retry trains the same configuration
    if "space:derived" in failed.system_attrs:
        system["space:derived"] = failed.system_attrs["space:derived"]
    return system


def stale_reason(last_beat) -> str:
    """``fail_reason`` of a trial whose worker stopped sending heartbeats."""
    stamp = last_beat.isoformat(timespec="seconds") if last_beat is not None else "never"
    return f"worker lost: no heartbeat since {stamp} (the process or its machine died)"
