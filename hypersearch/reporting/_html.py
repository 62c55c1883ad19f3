"""Rendering the report (see the package docstring)."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypersearch.reporting._figures import available_plots
from hypersearch.study._history import is_feasible
from hypersearch.trial._json import jsonable, trial_dict
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial

__all__ = ["escape_plotly_text", "render_report", "safe_json", "study_summary", "trial_row", "write_report"]

_log = logging.getLogger("hypersearch")


def _require(module: str, what: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{what} needs {module.split('.')[0]}: pip install 'hypersearch[viz]'") from None


def safe_json(obj: Any) -> str:
    """JSON that can sit inside ``<script type="application/json">``: ``<``, ``>``
    and ``&`` are written as unicode escapes, so no stored string can close the
    element or open another.  NaN and infinities (a diverged run's reports) become
    ``null``, which strict JSON readers accept and plots draw as a gap."""
    text = json.dumps(_finite(obj), default=_json_default, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# Plotly renders these strings as its own small HTML subset (<b>, <a href>, ...):
# stored strings in them (parameter names, categorical choices, worker names) are
# escaped so that they show as typed.  Hover texts are escaped line by line where
# the plots build them (their <br> is intended).
_PLOTLY_TEXT_KEYS = {"name", "label", "ticktext", "text", "title"}
_PLOTLY_SKIP = {"hovertext", "hovertemplate", "customdata"}


def _esc(v: Any) -> Any:
    if isinstance(v, str):
        return v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(v, list):
        return [_esc(x) for x in v]
    return v


def escape_plotly_text(obj: Any, key: str | None = None, in_trace: bool = False) -> Any:
    """A copy of a plotly figure dict with the text plotly would render as HTML
    escaped: titles, names, labels, tick texts and string categories (``x``/``y``
    of categorical axes); trace hover texts are left as built."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in _PLOTLY_SKIP or (in_trace and k == "text"):
                out[k] = v
            elif k == "template":
                out[k] = v  # plotly's own theme
            else:
                out[k] = escape_plotly_text(v, k, in_trace)
        return out
    if isinstance(obj, list):
        if key == "data":
            return [escape_plotly_text(tr, None, True) for tr in obj]
        if key in ("x", "y", "z") and any(isinstance(v, str) for v in obj):
            return [_esc(v) for v in obj]
        return [escape_plotly_text(v, key, in_trace) for v in obj]
    if isinstance(obj, str) and key in _PLOTLY_TEXT_KEYS:
        return _esc(obj)
    return obj


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (also inside numpy arrays) as ``None``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):  # numpy arrays and scalars
        return _finite(obj.tolist())
    return obj


def _json_default(o: Any) -> Any:
    if isinstance(o, _dt.datetime):
        return o.isoformat()
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    return str(o)


def trial_row(t: FrozenTrial) -> dict[str, Any]:
    """A trial as strict JSON data (for the report table and the dashboard's API)."""
    return trial_dict(t)


def study_summary(study: Study) -> dict[str, Any]:
    """Directions, counts per state, best trial(s) and test evaluations."""
    trials = study.get_trials(deepcopy=False)
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    out: dict[str, Any] = {
        "name": study.study_name,
        "directions": [d.name.lower() for d in study.directions],
        "n_trials": len(trials),
        "state_counts": counts,
        "best": [],
        "datetime_start": min((t.datetime_start for t in trials if t.datetime_start), default=None),
        "test_evaluations": jsonable(study.test_evaluations),
    }
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    if any(is_feasible(t) for t in done):
        best = study.best_trials if study.is_multi_objective else [study.best_trial]
        out["best"] = [trial_row(t) for t in best]
    # what stands in for the best trial(s) when there are none
    out["best_note"] = (
        None if out["best"] else
        f"No feasible trial: all {len(done)} completed trials violate their constraints." if done else
        "No completed trial yet."
    )
    if out["datetime_start"] is not None:
        out["datetime_start"] = out["datetime_start"].isoformat()
    return out


def _figures(study: Study) -> tuple[list[dict[str, Any]], str | None]:
    """``[{key, title, json}]`` for every applicable plot, and a note when plotly is
    missing (the report is then written without plots)."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        return [], "plots need plotly: pip install 'hypersearch[viz]'"
    figs = []
    for spec in available_plots(study):
        try:
            fig = spec.make(study, "plotly")
            text = safe_json(escape_plotly_text(fig.to_plotly_json()))
        except Exception as e:  # one plot that fails must not lose the whole report
            _log.warning("report: plot %r failed: %s", spec.key, e)
            figs.append({"key": spec.key, "title": spec.title, "error": f"{type(e).__name__}: {e}"})
            continue
        figs.append({"key": spec.key, "title": spec.title, "json": text})
    return figs, None


def render_report(study: Study, *, title: str | None = None, max_rows: int = 5000) -> str:
    """The report of ``study`` as one HTML document (a string)."""
    jinja2 = _require("jinja2", "the HTML report")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hypersearch.reporting", "templates"),
        autoescape=True,  # every stored string is escaped
        undefined=jinja2.StrictUndefined,
    )
    figs, note = _figures(study)
    plotlyjs = ""
    if figs:
        from plotly.offline import get_plotlyjs

        plotlyjs = get_plotlyjs()
    trials = study.get_trials(deepcopy=False)
    rows = [trial_row(t) for t in trials[-max_rows:]]
    param_names = sorted({n for r in rows for n in r["params"]})
    html = env.get_template("report.html").render(
        title=title or f"hypersearch report: {study.study_name}",
        summary=study_summary(study),
        figures=figs,
        note=note,
        plotlyjs=plotlyjs,
        rows=rows,
        truncated=len(trials) - len(rows),
        param_names=param_names,
        multi=study.is_multi_objective,
        generated=_dt.datetime.now().replace(microsecond=0).isoformat(sep=" "),
    )
    return html


def write_report(study: Study, path: str | Path, **kwargs: Any) -> Path:
    """Write the report of ``study`` to ``path`` (one self-contained HTML file) and
    return the path."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"report path {str(p)!r} is a directory; give a file name such as report.html")
    html = render_report(study, **kwargs)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(p)  # never leave a half-written report behind
    return p
