"""Rendering helpers: aligned text tables, strict JSON and CSV (standard library only)."""

from __future__ import annotations

import csv
import datetime as _dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from hypersearch.trial._json import jsonable

MISSING = "-"


# -- human-readable cells ------------------------------------------------------------


def fmt_number(v: Any) -> str:
    """A number for a table: floats with 6 significant digits, ints as they are."""
    if v is None:
        return MISSING
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def fmt_values(values: Sequence[float] | None) -> str:
    if not values:
        return MISSING
    return ", ".join(fmt_number(v) for v in values)


def fmt_param(v: Any) -> str:
    if isinstance(v, float):
        return fmt_number(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def fmt_params(params: Mapping[str, Any]) -> str:
    if not params:
        return MISSING
    return ", ".join(f"{k}={fmt_param(v)}" for k, v in params.items())


def fmt_datetime(d: _dt.datetime | None) -> str:
    """Local time to the second, e.g. ``2024-05-01 14:03:59``."""
    if d is None:
        return MISSING
    if d.tzinfo is not None:
        d = d.astimezone()
    return d.strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return MISSING
    if seconds < 60:
        return f"{seconds:.2f}s"
    m, s = divmod(int(round(seconds)), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s"


def truncate(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def render_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], right: Iterable[int] = ()
) -> str:
    """Columns padded to their widest cell; columns in ``right`` are right-aligned.

    The last column is not padded, so lines carry no trailing spaces.
    """
    table = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    right = set(right)
    lines = []
    for n, r in enumerate(table):
        cells = []
        for i, c in enumerate(r):
            if i in right:
                cells.append(c.rjust(widths[i]))
            elif i == len(r) - 1:
                cells.append(c)
            else:
                cells.append(c.ljust(widths[i]))
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_fields(items: Sequence[tuple[str, Any]]) -> str:
    """``key  value`` lines; a list value continues on indented lines."""
    width = max((len(k) for k, _ in items), default=0)
    lines = []
    for key, value in items:
        vals = value if isinstance(value, list) else [value]
        if not vals:
            vals = [MISSING]
        for i, v in enumerate(vals):
            lines.append(f"{(key if i == 0 else '').ljust(width)}  {v}".rstrip())
    return "\n".join(lines)


# -- machine-readable output ----------------------------------------------------------


def dump_json(obj: Any, out: TextIO) -> None:
    json.dump(jsonable(obj), out, indent=2, ensure_ascii=False, allow_nan=False)
    out.write("\n")


def record_fields(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The union of the records' keys: fixed columns first, then ``params_*``,
    ``user_attrs_*`` and ``fail_reason``, each group in order of first appearance."""
    groups: dict[int, list[str]] = {0: [], 1: [], 2: [], 3: []}
    seen: set[str] = set()
    for r in records:
        for k in r:
            if k in seen:
                continue
            seen.add(k)
            if k.startswith("params_"):
                groups[1].append(k)
            elif k.startswith("user_attrs_"):
                groups[2].append(k)
            elif k == "fail_reason":
                groups[3].append(k)
            else:
                groups[0].append(k)
    return groups[0] + groups[1] + groups[2] + groups[3]


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(jsonable(v), separators=(",", ":"), ensure_ascii=False)
    return v


def write_csv(out: TextIO, records: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> None:
    """One header line and one row per record; missing keys and ``None`` are empty."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(fields)
    for r in records:
        w.writerow([_csv_cell(r.get(f)) for f in fields])
