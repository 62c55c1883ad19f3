"""Parallel coordinates: each trial as a line across its parameter values and
its objective value, to see which combinations lead to good values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hypersearch.visualization._common import (
    COLORSCALE,
    MPL_CMAP,
    NO_TRIALS_NOTE,
    ParamAxis,
    Target,
    check_backend,
    check_study,
    complete_trials,
    empty_figure,
    import_plotly,
    log_ticks,
    mpl_figure,
    param_axis,
    resolve_target,
    select_params,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.visualization._common import Figure

_FN = "plot_parallel_coordinate"
_TITLE = "Parallel coordinates"


@dataclass
class _Dim:
    """One vertical axis: label, coordinates per trial and ticks (in coordinates)."""

    label: str
    values: list[float]
    tickvals: list[float] | None = None
    ticktext: list[str] | None = None


def _dimensions(axes: list[ParamAxis], trials, ys: list[float], target_name: str) -> list[_Dim]:
    dims = [_Dim(target_name, list(ys))]
    for ax in axes:
        coords = [ax.coord(t.params[ax.name]) for t in trials]
        if ax.kind == "categorical":
            dims.append(_Dim(ax.name, coords, list(range(len(ax.choices))), ax.labels))
        elif ax.kind == "log":
            ticks, text = log_ticks(min(coords), max(coords))
            dims.append(_Dim(f"{ax.name} (log)", coords, ticks, text))
        else:
            dims.append(_Dim(ax.name, coords))
    return dims


def plot_parallel_coordinate(
    study: Study,
    *,
    params: Sequence[str] | None = None,
    target: Target = None,
    target_name: str = "Objective value",
    backend: str = "plotly",
) -> Figure:
    """Plot every COMPLETE trial as a line through one vertical axis per parameter
    plus one for its objective value, coloured by that value.

    Categorical parameters are drawn at evenly spaced ticks labelled with their
    choices; log-scaled parameters on a log10 axis (coordinates are
    ``log10(value)``, ticks labelled with the values).  Only trials that have
    every selected parameter are drawn (conditional parameters).

    Args:
        study: The study.
        params: Parameters to show, in this order (default: all, sorted);
            ``ValueError`` for a name the study does not have.
        target: ``None`` (the single objective), an objective index, or
            ``fn(frozen_trial) -> float``; needed for multi-objective studies.
        target_name: Label of the objective axis.
        backend: ``"plotly"`` (a ``go.Parcoords`` trace) or ``"matplotlib"`` (a
            ``LineCollection`` with ``gid="trials"``, one segment chain per trial).

    Returns:
        The figure; with no completed trial (or none having all the selected
        parameters) it has no data and its title says so.
    """
    check_backend(backend, _FN)
    check_study(study, _FN)
    spec = resolve_target(study, target, _FN)
    names = select_params(study, params, _FN)
    trials, ys = spec.values(complete_trials(study))
    keep = [i for i, t in enumerate(trials) if all(n in t.params for n in names)]
    trials, ys = [trials[i] for i in keep], [ys[i] for i in keep]
    if not trials:
        return empty_figure(backend, _FN, _TITLE, NO_TRIALS_NOTE)
    dims = _dimensions([param_axis(n, trials) for n in names], trials, ys, target_name)
    if backend == "plotly":
        return _plotly(dims, ys, target_name)
    return _matplotlib(dims, ys, target_name)


def _plotly(dims: list[_Dim], ys: list[float], target_name: str) -> Figure:
    go = import_plotly(_FN)
    dimensions = []
    for d in dims:
        pool = d.values + (d.tickvals or [])
        lo, hi = min(pool), max(pool)
        entry = {"label": d.label, "values": d.values, "range": [lo, hi] if hi > lo else [lo - 0.5, hi + 0.5]}
        if d.tickvals is not None:
            entry["tickvals"] = d.tickvals
            entry["ticktext"] = d.ticktext
        dimensions.append(entry)
    fig = go.Figure(go.Parcoords(
        dimensions=dimensions,
        line={"color": ys, "colorscale": COLORSCALE, "showscale": True,
              "colorbar": {"title": {"text": target_name}}},
    ))
    fig.update_layout(title=_TITLE)
    return fig


def _matplotlib(dims: list[_Dim], ys: list[float], target_name: str) -> Figure:
    fig = mpl_figure(_FN, figsize=(max(6.4, 1.6 * len(dims)), 4.8))
    from matplotlib.collections import LineCollection
    ax = fig.add_subplot()
    spans = []
    for d in dims:
        pool = d.values + (d.tickvals or [])
        lo, hi = min(pool), max(pool)
        spans.append((lo, hi) if hi > lo else (lo - 0.5, hi + 0.5))

    def norm(j: int, v: float) -> float:
        lo, hi = spans[j]
        return (v - lo) / (hi - lo)

    segments = [[(j, norm(j, d.values[i])) for j, d in enumerate(dims)] for i in range(len(ys))]
    lc = LineCollection(segments, array=ys, cmap=MPL_CMAP, linewidths=1.2, alpha=0.8)
    lc.set_gid("trials")
    ax.add_collection(lc)
    for j, d in enumerate(dims):
        ax.axvline(j, color="#444444", linewidth=1.0, zorder=0)
        if d.tickvals is not None and d.ticktext is not None:
            ticks = list(zip(d.tickvals, d.ticktext))
        else:
            lo, hi = spans[j]
            ticks = [(v, f"{v:.3g}") for v in (lo, (lo + hi) / 2, hi)]
        for v, text in ticks:
            ax.text(j + 0.03, norm(j, v), text, fontsize=7, va="center", ha="left")
    ax.set_xlim(-0.2, len(dims) - 0.6)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks(range(len(dims)), [d.label for d in dims])
    ax.set_yticks([])
    ax.set_title(_TITLE)
    fig.colorbar(lc, ax=ax, label=target_name)
    return fig
