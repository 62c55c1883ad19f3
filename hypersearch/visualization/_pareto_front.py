"""Pareto front of a multi-objective study."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hypersearch.visualization._common import (
    BEST_COLOR,
    INFEASIBLE_COLOR,
    NO_TRIALS_NOTE,
    check_backend,
    check_study,
    complete_trials,
    empty_figure,
    feasible,
    import_plotly,
    mpl_figure,
    palette,
    trial_hover,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.visualization._common import Figure

_FN = "plot_pareto_front"
_TITLE = "Pareto front"

#: Trace names, in drawing order.
PARETO, DOMINATED, INFEASIBLE = "Pareto front", "Dominated", "Infeasible"


@dataclass
class _Group:
    name: str
    color: str
    trials: list[FrozenTrial]
    points: list[list[float]]


def plot_pareto_front(
    study: Study,
    *,
    target_names: Sequence[str] | None = None,
    include_dominated: bool = True,
    targets: Callable[[FrozenTrial], Sequence[float]] | None = None,
    backend: str = "plotly",
) -> Figure:
    """Scatter the objective values of a multi-objective study's COMPLETE trials
    in 2-D or 3-D, the Pareto-optimal ones (``study.best_trials``) apart, to see
    the trade-off between the objectives.

    Args:
        study: A study with two or more objectives (``ValueError`` otherwise).
        target_names: Axis labels, one per plotted value (default
            ``"Objective 0"``, ...).
        include_dominated: Also draw the trials that are not on the front
            (dominated ones, and infeasible ones in a grey trace of their own).
        targets: ``fn(frozen_trial) -> 2 or 3 values`` to plot instead of the
            objective values (required with more than three objectives).  Which
            trials are Pareto-optimal is still decided on the study's objectives.
        backend: ``"plotly"`` or ``"matplotlib"`` (3-D axes for three values).

    Returns:
        The figure with traces (plotly) / scatter collections (matplotlib) in
        this order: ``"Pareto front"``, ``"Dominated"`` (when
        ``include_dominated``; possibly empty), and ``"Infeasible"`` (when
        ``include_dominated`` and some trial violates its constraints).  Without
        a completed trial it has no data and its title says so.
    """
    check_backend(backend, _FN)
    check_study(study, _FN)
    n_obj = len(study.directions)
    if n_obj < 2:
        raise ValueError(
            f"{_FN}: study {study.study_name!r} has a single objective; the Pareto front needs two or more "
            "(use plot_optimization_history)"
        )
    if targets is None and n_obj > 3:
        raise ValueError(
            f"{_FN}: study {study.study_name!r} has {n_obj} objectives; pass targets=lambda t: "
            "(t.values[i], t.values[j]) to choose two or three of them"
        )
    if targets is not None and not callable(targets):
        raise TypeError(f"{_FN}: targets must be a callable frozen_trial -> values, got {targets!r}")
    trials = complete_trials(study)
    points = [_point(t, targets) for t in trials]
    dim = len(points[0]) if points else (n_obj if targets is None else None)
    if dim is not None and dim not in (2, 3):
        raise ValueError(f"{_FN}: targets must return two or three values, got {dim}")
    if any(len(p) != dim for p in points):
        raise ValueError(f"{_FN}: targets returned sequences of different lengths")
    if target_names is not None:
        if isinstance(target_names, str) or len(target_names) != (dim or len(target_names)):
            raise ValueError(f"{_FN}: target_names must hold {dim} names, got {target_names!r}")
        labels = [str(n) for n in target_names]
    else:
        labels = [f"Objective {i}" for i in range(dim or 0)]
    if not trials:
        return empty_figure(backend, _FN, _TITLE, NO_TRIALS_NOTE)
    front = {t.number for t in study.best_trials}
    groups = [_Group(PARETO, BEST_COLOR, [], [])]
    if include_dominated:
        groups.append(_Group(DOMINATED, palette(0), [], []))
        if not all(feasible(t) for t in trials):
            groups.append(_Group(INFEASIBLE, INFEASIBLE_COLOR, [], []))
    for t, p in zip(trials, points):
        if not feasible(t):
            g = groups[2] if include_dominated else None
        elif t.number in front:
            g = groups[0]
        else:
            g = groups[1] if include_dominated else None
        if g is not None:
            g.trials.append(t)
            g.points.append(p)
    if backend == "plotly":
        return _plotly(groups, labels)
    return _matplotlib(groups, labels)


def _point(t: FrozenTrial, targets) -> list[float]:
    if targets is None:
        return [float(v) for v in t.values]  # type: ignore[union-attr]
    vals = targets(t)
    if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence):
        vals = list(vals)
    return [float(v) for v in vals]


def _plotly(groups: list[_Group], labels: list[str]) -> Figure:
    go = import_plotly(_FN)
    fig = go.Figure()
    three = len(labels) == 3
    for g in groups:
        cols = list(zip(*g.points)) if g.points else [[] for _ in labels]
        common = {
            "mode": "markers", "name": g.name,
            "marker": {"color": g.color, "size": 5 if three else 8},
            "hovertext": [trial_hover(t) for t in g.trials], "hoverinfo": "text",
        }
        if three:
            fig.add_trace(go.Scatter3d(x=cols[0], y=cols[1], z=cols[2], **common))
        else:
            fig.add_trace(go.Scatter(x=cols[0], y=cols[1], **common))
    if three:
        fig.update_layout(scene={"xaxis_title": labels[0], "yaxis_title": labels[1], "zaxis_title": labels[2]})
    else:
        fig.update_layout(xaxis_title=labels[0], yaxis_title=labels[1])
    fig.update_layout(title=_TITLE)
    return fig


def _matplotlib(groups: list[_Group], labels: list[str]) -> Figure:
    three = len(labels) == 3
    fig = mpl_figure(_FN)
    ax = fig.add_subplot(projection="3d") if three else fig.add_subplot()
    for g in groups:
        cols = list(zip(*g.points)) if g.points else [[] for _ in labels]
        ax.scatter(*cols, color=g.color, s=16 if three else 24, label=g.name,
                   zorder=3 if g.name == PARETO else 2)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    if three:
        ax.set_zlabel(labels[2])
    ax.set_title(_TITLE)
    ax.legend()
    return fig
