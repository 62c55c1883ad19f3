"""Empirical distribution function of objective values, to compare studies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hypersearch.visualization._common import (
    NO_TRIALS_NOTE,
    Target,
    as_study_list,
    check_backend,
    complete_trials,
    empty_figure,
    import_plotly,
    mpl_figure,
    palette,
    resolve_target,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.visualization._common import Figure

_FN = "plot_edf"
_TITLE = "Empirical distribution function"


def edf(values: Sequence[float]) -> tuple[list[float], list[float]]:
    """Sorted values and the fraction of values ``<=`` each (a right-continuous
    step function: ``y[i] = (i + 1) / n``)."""
    xs = sorted(float(v) for v in values)
    n = len(xs)
    return xs, [(i + 1) / n for i in range(n)]


def plot_edf(
    study_or_studies: Study | Sequence[Study],
    *,
    target: Target = None,
    target_name: str = "Objective value",
    backend: str = "plotly",
) -> Figure:
    """Plot, for each study, the fraction of its COMPLETE trials whose value is at
    most x: curves rising early (minimize) or late (maximize) belong to studies
    whose search space / sampler yields good values more often.

    Args:
        study_or_studies: A study or several (one curve each, named after the study).
        target: ``None`` (the single objective), an objective index, or
            ``fn(frozen_trial) -> float``; needed for multi-objective studies.
        target_name: Label of the x axis.
        backend: ``"plotly"`` or ``"matplotlib"``.

    Returns:
        The figure: one step-line trace / ``Line2D`` per study that has a
        completed trial (studies without one are left out).  Without any it has
        no data and its title says so.
    """
    check_backend(backend, _FN)
    studies = as_study_list(study_or_studies, _FN)
    curves = []
    for i, s in enumerate(studies):
        spec = resolve_target(s, target, _FN)
        _, ys = spec.values(complete_trials(s))
        if ys:
            curves.append((s.study_name, palette(i), *edf(ys)))
    if not curves:
        return empty_figure(backend, _FN, _TITLE, NO_TRIALS_NOTE)
    if backend == "plotly":
        go = import_plotly(_FN)
        fig = go.Figure()
        for name, color, xs, ys in curves:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line_shape="hv", name=name,
                                     line={"color": color}))
        fig.update_layout(title=_TITLE, xaxis_title=target_name, yaxis_title="Cumulative probability",
                          yaxis_range=[0, 1.02])
        return fig
    fig = mpl_figure(_FN)
    ax = fig.add_subplot()
    for name, color, xs, ys in curves:
        ax.step(xs, ys, where="post", color=color, label=name)
    ax.set_ylim(0, 1.02)
    ax.set_title(_TITLE)
    ax.set_xlabel(target_name)
    ax.set_ylabel("Cumulative probability")
    ax.legend()
    return fig
