"""Optimization history: every completed trial's value and the best value so far."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hypersearch.study._direction import StudyDirection
from hypersearch.visualization._common import (
    BEST_COLOR,
    INFEASIBLE_COLOR,
    NO_TRIALS_NOTE,
    Target,
    as_study_list,
    check_backend,
    complete_trials,
    empty_figure,
    feasible,
    import_plotly,
    mpl_figure,
    palette,
    resolve_target,
    trial_hover,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.visualization._common import Figure

_FN = "plot_optimization_history"
_TITLE = "Optimization history"


@dataclass
class _Series:
    name: str
    infeasible_name: str
    best_name: str
    feasible: list[FrozenTrial]
    feasible_y: list[float]
    infeasible: list[FrozenTrial]
    infeasible_y: list[float]
    best_x: list[int]
    best_y: list[float]


def best_so_far(
    numbers: Sequence[int], values: Sequence[float], ok: Sequence[bool], direction: StudyDirection
) -> tuple[list[int], list[float]]:
    """The running best of ``values`` (in trial-number order) over the entries
    whose ``ok`` flag is set (feasible trials), from the first such entry on:
    an infeasible trial never improves the line, it only extends it."""
    sign = direction.sign()
    xs: list[int] = []
    ys: list[float] = []
    best: float | None = None
    for n, v, good in sorted(zip(numbers, values, ok), key=lambda r: r[0]):
        if good and (best is None or sign * v < sign * best):
            best = v
        if best is not None:
            xs.append(n)
            ys.append(best)
    return xs, ys


def _series(study: Study, target: Target, name: str, multi: bool) -> _Series:
    spec = resolve_target(study, target, _FN)
    trials, ys = spec.values(complete_trials(study))
    ok = [feasible(t) for t in trials]
    if spec.direction is not None:
        bx, by = best_so_far([t.number for t in trials], ys, ok, spec.direction)
    else:  # a custom target of a multi-objective study has no "better"
        bx, by = [], []
    return _Series(
        name=name,
        infeasible_name=f"{name} infeasible" if multi else "Infeasible",
        best_name=f"{name} best" if multi else "Best value",
        feasible=[t for t, g in zip(trials, ok) if g],
        feasible_y=[y for y, g in zip(ys, ok) if g],
        infeasible=[t for t, g in zip(trials, ok) if not g],
        infeasible_y=[y for y, g in zip(ys, ok) if not g],
        best_x=bx,
        best_y=by,
    )


def plot_optimization_history(
    study_or_studies: Study | Sequence[Study],
    *,
    target: Target = None,
    target_name: str = "Objective value",
    backend: str = "plotly",
) -> Figure:
    """Plot each COMPLETE trial's value against its number, with the best value
    so far as a step line, to see whether (and how fast) the search still improves.

    Trials that violate their constraints are drawn in their own grey series and
    never improve the best-so-far line (they can never be the best trial).

    Args:
        study_or_studies: A study, or several to compare (one colour each).
        target: The value to plot: ``None`` for the single objective, an objective
            index, or ``fn(frozen_trial) -> float``.  Multi-objective studies need
            it.  A callable on a multi-objective study has no best-so-far line,
            since which way is better is unknown.
        target_name: Label of the value axis.
        backend: ``"plotly"`` (returns a ``plotly.graph_objects.Figure``) or
            ``"matplotlib"`` (returns a ``matplotlib.figure.Figure``).

    Returns:
        The figure: per study a marker trace of the feasible trials (named
        ``target_name``, or the study's name when several are compared), a
        trace of infeasible trials when some trial violates its constraints
        (``"Infeasible"`` / ``"<study> infeasible"``) and the best-so-far line
        (``"Best value"`` / ``"<study> best"``).  Without any completed trial the
        figure has no data and its title says so.
    """
    check_backend(backend, _FN)
    studies = as_study_list(study_or_studies, _FN)
    multi = len(studies) > 1
    series = [_series(s, target, s.study_name if multi else target_name, multi) for s in studies]
    if not any(s.feasible or s.infeasible for s in series):
        return empty_figure(backend, _FN, _TITLE, NO_TRIALS_NOTE)
    if backend == "plotly":
        return _plotly(series, target_name, multi)
    return _matplotlib(series, target_name, multi)


def _plotly(series: list[_Series], target_name: str, multi: bool) -> Figure:
    go = import_plotly(_FN)
    fig = go.Figure()
    for i, s in enumerate(series):
        color = palette(i) if multi else palette(0)
        best_color = palette(i) if multi else BEST_COLOR
        fig.add_trace(go.Scatter(
            x=[t.number for t in s.feasible], y=s.feasible_y, mode="markers", name=s.name,
            marker={"color": color}, legendgroup=s.name,
            hovertext=[trial_hover(t) for t in s.feasible], hoverinfo="text",
        ))
        if s.infeasible:
            fig.add_trace(go.Scatter(
                x=[t.number for t in s.infeasible], y=s.infeasible_y, mode="markers",
                name=s.infeasible_name, marker={"color": INFEASIBLE_COLOR}, legendgroup=s.name,
                hovertext=[trial_hover(t, ["infeasible"]) for t in s.infeasible], hoverinfo="text",
            ))
        if s.best_x:
            fig.add_trace(go.Scatter(
                x=s.best_x, y=s.best_y, mode="lines", line_shape="hv", name=s.best_name,
                line={"color": best_color}, legendgroup=s.name,
            ))
    fig.update_layout(title=_TITLE, xaxis_title="Trial", yaxis_title=target_name)
    return fig


def _matplotlib(series: list[_Series], target_name: str, multi: bool) -> Figure:
    fig = mpl_figure(_FN)
    ax = fig.add_subplot()
    for i, s in enumerate(series):
        color = palette(i) if multi else palette(0)
        best_color = palette(i) if multi else BEST_COLOR
        ax.scatter([t.number for t in s.feasible], s.feasible_y, color=color, s=18, label=s.name, zorder=3)
        if s.infeasible:
            ax.scatter([t.number for t in s.infeasible], s.infeasible_y, color=INFEASIBLE_COLOR, s=18,
                       label=s.infeasible_name, zorder=2)
        if s.best_x:
            ax.plot(s.best_x, s.best_y, drawstyle="steps-post", color=best_color, linewidth=2.0,
                    label=s.best_name)
    ax.set_title(_TITLE)
    ax.set_xlabel("Trial")
    ax.set_ylabel(target_name)
    ax.legend()
    return fig
