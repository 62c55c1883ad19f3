"""Contour plot: the objective value interpolated over pairs of parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

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
    mpl_figure,
    param_axis,
    plotly_subplots,
    resolve_target,
    select_params,
    trial_hover,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.visualization._common import Figure

_FN = "plot_contour"
_TITLE = "Contour plot"
#: Interpolation grid points per axis.
GRID = 50


@dataclass
class _Pair:
    """One panel: parameter ``x`` against parameter ``y``."""

    x: ParamAxis
    y: ParamAxis
    trials: list[FrozenTrial]
    xs: np.ndarray  # coordinates of the trials (choice index / log10 / value)
    ys: np.ndarray
    zs: np.ndarray  # their target values
    grid_x: np.ndarray | None  # 1-D grid coordinates, None when nothing to interpolate
    grid_y: np.ndarray | None
    grid_z: np.ndarray | None  # (len(grid_y), len(grid_x)), NaN outside the data's hull


def interpolate(xs: np.ndarray, ys: np.ndarray, zs: np.ndarray, n: int = GRID):
    """Grid coordinates and linearly interpolated values (NaN outside the convex
    hull of the points), or ``(None, None, None)`` when the points span no area
    (fewer than three distinct points, or all on a line)."""
    from scipy.interpolate import griddata

    pts = np.column_stack([xs, ys])
    if len(np.unique(pts, axis=0)) < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return None, None, None
    gx = np.linspace(xs.min(), xs.max(), n)
    gy = np.linspace(ys.min(), ys.max(), n)
    GX, GY = np.meshgrid(gx, gy)
    try:
        Z = griddata(pts, zs, (GX, GY), method="linear")
    except (ValueError, RuntimeError):  # Qhull: degenerate (collinear) input
        return None, None, None
    return gx, gy, Z


def _pair(ax_x: ParamAxis, ax_y: ParamAxis, trials: list[FrozenTrial], values: list[float]) -> _Pair:
    idx = [i for i, t in enumerate(trials) if ax_x.name in t.params and ax_y.name in t.params]
    sub = [trials[i] for i in idx]
    xs = np.array([ax_x.coord(t.params[ax_x.name]) for t in sub], dtype=float)
    ys = np.array([ax_y.coord(t.params[ax_y.name]) for t in sub], dtype=float)
    zs = np.array([values[i] for i in idx], dtype=float)
    gx, gy, gz = interpolate(xs, ys, zs) if len(sub) else (None, None, None)
    return _Pair(ax_x, ax_y, sub, xs, ys, zs, gx, gy, gz)


def plot_contour(
    study: Study,
    *,
    params: Sequence[str] | None = None,
    target: Target = None,
    target_name: str = "Objective value",
    backend: str = "plotly",
) -> Figure:
    """Plot the objective value interpolated over each pair of parameters, with
    the COMPLETE trials overlaid as points, to see interactions between them.

    The surface is a linear interpolation (``scipy.interpolate.griddata``) of
    the trials' values, on log10 coordinates for log-scaled parameters and on
    choice indices for categorical ones; outside the trials' convex hull it is
    left blank.  Two parameters give one panel; more give a matrix with
    parameter ``params[i]`` on the y axis of row ``i`` and ``params[j]`` on the
    x axis of column ``j`` (the diagonal stays empty).

    Args:
        study: The study.
        params: At least two parameters (default: all, sorted); ``ValueError``
            for an unknown name or fewer than two names.
        target: ``None`` (the single objective), an objective index, or
            ``fn(frozen_trial) -> float``; needed for multi-objective studies.
        target_name: Label of the colour scale.
        backend: ``"plotly"`` or ``"matplotlib"``.

    Returns:
        The figure.  Plotly: per panel a ``Contour`` trace (when the points span
        an area) and a ``Scatter`` of the trials.  Matplotlib: per panel an axes
        with filled contours and one scatter collection.  Without a completed
        trial, or when the study has fewer than two parameters and ``params``
        was not given, it has no data and its title says so.
    """
    check_backend(backend, _FN)
    check_study(study, _FN)
    spec = resolve_target(study, target, _FN)
    names = select_params(study, params, _FN)
    if params is not None and len(names) < 2:
        raise ValueError(f"{_FN}: params must name at least two parameters, got {list(params)}")
    trials, values = spec.values(complete_trials(study))
    if not trials:
        return empty_figure(backend, _FN, _TITLE, NO_TRIALS_NOTE)
    if len(names) < 2:
        return empty_figure(backend, _FN, _TITLE, "needs at least two parameters")
    axes = {n: param_axis(n, [t for t in trials if n in t.params]) for n in names}
    pairs = {
        (i, j): _pair(axes[names[j]], axes[names[i]], trials, values)
        for i in range(len(names)) for j in range(len(names)) if i != j
    }
    if len(names) == 2:
        pairs = {(0, 0): pairs[(1, 0)]}  # x: params[0], y: params[1]
    zmin, zmax = min(values), max(values)
    if backend == "plotly":
        return _plotly(names, pairs, zmin, zmax, target_name)
    return _matplotlib(names, pairs, zmin, zmax, target_name)


def _display(axis: ParamAxis, coords: np.ndarray) -> np.ndarray:
    """Axis coordinates as drawn: log-scaled axes take the values themselves."""
    return 10.0 ** coords if axis.kind == "log" else coords


def _plotly(names, pairs: dict[tuple[int, int], _Pair], zmin, zmax, target_name) -> Figure:
    go = import_plotly(_FN)
    k = 1 if len(names) == 2 else len(names)
    fig = plotly_subplots(_FN, rows=k, cols=k, horizontal_spacing=0.04 if k > 2 else 0.08,
                          vertical_spacing=0.04 if k > 2 else 0.08)
    scale_shown = False
    for (i, j), p in pairs.items():
        row, col = i + 1, j + 1
        if p.grid_z is not None:
            fig.add_trace(go.Contour(
                x=_display(p.x, p.grid_x), y=_display(p.y, p.grid_y), z=p.grid_z,
                colorscale=COLORSCALE, zmin=zmin, zmax=zmax, connectgaps=False,
                showscale=not scale_shown, colorbar={"title": {"text": target_name}},
                name=f"{p.x.name} / {p.y.name}", hoverinfo="skip", contours={"coloring": "heatmap"},
            ), row=row, col=col)
            scale_shown = True
        fig.add_trace(go.Scatter(
            x=_display(p.x, p.xs), y=_display(p.y, p.ys), mode="markers", showlegend=False,
            name=f"{p.x.name} / {p.y.name} trials",
            marker={"color": "#000000", "size": 5, "line": {"color": "#ffffff", "width": 0.5}},
            hovertext=[trial_hover(t) for t in p.trials], hoverinfo="text",
        ), row=row, col=col)
        # axis titles on the outer panels only: bottom row (x) and first column (y)
        for axis, update, titled in ((p.x, fig.update_xaxes, k == 1 or i == k - 1),
                                     (p.y, fig.update_yaxes, k == 1 or j == 0)):
            spec: dict = {"title_text": axis.name} if titled else {}
            if axis.kind == "log":
                spec["type"] = "log"
            elif axis.kind == "categorical":
                spec.update(tickmode="array", tickvals=list(range(len(axis.choices))), ticktext=axis.labels)
            update(row=row, col=col, **spec)
    for d in range(k if k > 1 else 0):  # the diagonal stays empty
        fig.update_xaxes(row=d + 1, col=d + 1, visible=False)
        fig.update_yaxes(row=d + 1, col=d + 1, visible=False)
    fig.update_layout(title=_TITLE, width=None if k == 1 else 260 * k + 120, height=None if k == 1 else 260 * k)
    return fig


def _matplotlib(names, pairs: dict[tuple[int, int], _Pair], zmin, zmax, target_name) -> Figure:
    k = 1 if len(names) == 2 else len(names)
    fig = mpl_figure(_FN, figsize=(5.6, 4.8) if k == 1 else (2.6 * k + 1.0, 2.6 * k))
    import matplotlib.colors
    grid = fig.subplots(k, k, squeeze=False)
    levels = np.linspace(zmin, zmax, 16) if zmax > zmin else None
    norm = matplotlib.colors.Normalize(zmin, zmax)
    mappable = None
    for d in range(k if k > 1 else 0):
        ax = grid[d][d]
        ax.set_axis_off()
        ax.text(0.5, 0.5, names[d], ha="center", va="center", transform=ax.transAxes)
    for (i, j), p in pairs.items():
        ax = grid[i][j]
        if p.grid_z is not None:
            mappable = ax.contourf(
                _display(p.x, p.grid_x), _display(p.y, p.grid_y), np.ma.masked_invalid(p.grid_z),
                levels=levels, cmap=MPL_CMAP, norm=norm,
            )
        ax.scatter(_display(p.x, p.xs), _display(p.y, p.ys), c="#000000", s=10,
                   edgecolors="#ffffff", linewidths=0.4, zorder=3)
        for axis, set_scale, set_ticks, set_label, show in (
            (p.x, ax.set_xscale, ax.set_xticks, ax.set_xlabel, k == 1 or i == k - 1),
            (p.y, ax.set_yscale, ax.set_yticks, ax.set_ylabel, k == 1 or j == 0),
        ):
            if axis.kind == "log":
                set_scale("log")
            elif axis.kind == "categorical":
                set_ticks(range(len(axis.choices)), axis.labels)
            if show:
                set_label(axis.name)
    if mappable is not None:
        fig.colorbar(mappable, ax=grid.ravel().tolist(), label=target_name)
    fig.suptitle(_TITLE)
    return fig
