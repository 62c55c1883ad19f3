"""Slice plot: the objective value against each parameter on its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hypersearch.visualization._common import (
    COLORSCALE,
    MPL_CMAP,
    NO_TRIALS_NOTE,
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
    from hypersearch.visualization._common import Figure, ParamAxis

_FN = "plot_slice"
_TITLE = "Slice plot"


def plot_slice(
    study: Study,
    *,
    params: Sequence[str] | None = None,
    target: Target = None,
    target_name: str = "Objective value",
    backend: str = "plotly",
) -> Figure:
    """Plot the objective value of each COMPLETE trial against each parameter,
    one subplot per parameter (shared value axis), points coloured by trial
    number so that where the search went late shows.

    Log-scaled parameters get a log x axis; categorical ones one tick per
    choice.  A trial without a parameter (conditional spaces) is left out of
    that parameter's subplot only.

    Args:
        study: The study.
        params: Parameters to show, in this order (default: all, sorted);
            ``ValueError`` for a name the study does not have.
        target: ``None`` (the single objective), an objective index, or
            ``fn(frozen_trial) -> float``; needed for multi-objective studies.
        target_name: Label of the value axis.
        backend: ``"plotly"`` or ``"matplotlib"``.

    Returns:
        The figure: one marker trace (plotly, named after the parameter) or one
        axes with one scatter collection (matplotlib) per parameter.  Without a
        completed trial (or parameter) it has no data and its title says so.
    """
    check_backend(backend, _FN)
    check_study(study, _FN)
    spec = resolve_target(study, target, _FN)
    names = select_params(study, params, _FN)
    trials, ys = spec.values(complete_trials(study))
    if not trials or not names:
        return empty_figure(backend, _FN, _TITLE, NO_TRIALS_NOTE if not trials else "no parameters")
    panels = []
    for n in names:
        idx = [i for i, t in enumerate(trials) if n in t.params]
        sub = [trials[i] for i in idx]
        panels.append((param_axis(n, sub) if sub else None, sub, [ys[i] for i in idx]))
    if backend == "plotly":
        return _plotly(names, panels, target_name)
    return _matplotlib(names, panels, target_name)


_Panel = tuple["ParamAxis | None", list["FrozenTrial"], list[float]]


def _plotly(names: list[str], panels: list[_Panel], target_name: str) -> Figure:
    go = import_plotly(_FN)
    fig = plotly_subplots(_FN, rows=1, cols=len(names), shared_yaxes=True, subplot_titles=names,
                          horizontal_spacing=min(0.05, 0.5 / max(len(names), 1)))
    numbers = [t.number for _, sub, _ in panels for t in sub]
    cmin, cmax = (min(numbers), max(numbers)) if numbers else (0, 1)
    for j, (axis, sub, ys) in enumerate(panels, start=1):
        if axis is None:
            continue
        if axis.kind == "categorical":
            x = [axis.coord(t.params[axis.name]) for t in sub]
        else:
            x = [t.params[axis.name] for t in sub]
        fig.add_trace(go.Scatter(
            x=x, y=ys, mode="markers", name=axis.name, showlegend=False,
            marker={"color": [t.number for t in sub], "colorscale": COLORSCALE, "cmin": cmin, "cmax": cmax,
                    "showscale": j == 1, "colorbar": {"title": {"text": "Trial"}},
                    "line": {"width": 0.5, "color": "#333333"}},
            hovertext=[trial_hover(t) for t in sub], hoverinfo="text",
        ), row=1, col=j)
        xaxis = {"title_text": axis.name}
        if axis.kind == "log":
            xaxis["type"] = "log"
        elif axis.kind == "categorical":
            xaxis.update(tickmode="array", tickvals=list(range(len(axis.choices))), ticktext=axis.labels)
        fig.update_xaxes(row=1, col=j, **xaxis)
    fig.update_yaxes(title_text=target_name, row=1, col=1)
    fig.update_layout(title=_TITLE)
    return fig


def _matplotlib(names: list[str], panels: list[_Panel], target_name: str) -> Figure:
    fig = mpl_figure(_FN, figsize=(max(4.0, 3.2 * len(names)), 4.0))
    axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
    numbers = [t.number for _, sub, _ in panels for t in sub]
    vmin, vmax = (min(numbers), max(numbers)) if numbers else (0, 1)
    sc = None
    for ax, name, (axis, sub, ys) in zip(axes, names, panels):
        ax.set_title(name)
        ax.set_xlabel(name)
        if axis is None:
            continue
        if axis.kind == "categorical":
            x = [axis.coord(t.params[axis.name]) for t in sub]
            ax.set_xticks(range(len(axis.choices)), axis.labels)
        else:
            x = [float(t.params[axis.name]) for t in sub]
        if axis.kind == "log":
            ax.set_xscale("log")
        sc = ax.scatter(x, ys, c=[t.number for t in sub], cmap=MPL_CMAP, vmin=vmin, vmax=vmax,
                        s=20, edgecolors="#333333", linewidths=0.4)
    axes[0].set_ylabel(target_name)
    if sc is not None:
        fig.colorbar(sc, ax=list(axes), label="Trial")
    fig.suptitle(_TITLE)
    return fig
