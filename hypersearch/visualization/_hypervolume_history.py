"""Hypervolume history: how the Pareto front of a multi-objective study grew."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hypersearch.visualization._common import (
    NO_TRIALS_NOTE,
    check_backend,
    check_study,
    empty_figure,
    import_plotly,
    mpl_figure,
    palette,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.visualization._common import Figure

_FN = "plot_hypervolume_history"
_TITLE = "Hypervolume history"


def plot_hypervolume_history(
    study: Study, reference_point: Sequence[float], *, backend: str = "plotly"
) -> Figure:
    """Plot the hypervolume dominated by the COMPLETE trials up to each trial
    (:func:`hypersearch.multiobjective.hypervolume_history`), against the trial
    number: a flat curve means the front stopped improving.

    Args:
        study: A study with two or more objectives (``ValueError`` otherwise).
        reference_point: One finite value per objective, worse than every
            solution of interest (in each objective's own direction).
        backend: ``"plotly"`` or ``"matplotlib"``.

    Returns:
        The figure: one line trace / ``Line2D`` named ``"Hypervolume"`` with a
        point per completed trial.  Without a completed trial it has no data and
        its title says so.
    """
    from hypersearch.multiobjective import hypervolume_history

    check_backend(backend, _FN)
    check_study(study, _FN)
    n_obj = len(study.directions)
    if n_obj < 2:
        raise ValueError(f"{_FN}: study {study.study_name!r} has a single objective; hypervolume needs two or more")
    if isinstance(reference_point, (str, bytes)) or not isinstance(reference_point, Sequence):
        try:
            reference_point = list(reference_point)  # e.g. a numpy array
        except TypeError:
            raise ValueError(f"{_FN}: reference_point must be a sequence of numbers, got {reference_point!r}") from None
    if len(reference_point) != n_obj:
        raise ValueError(
            f"{_FN}: reference_point has {len(reference_point)} values; the study has {n_obj} objectives"
        )
    try:
        ref = [float(v) for v in reference_point]
    except (TypeError, ValueError):
        raise ValueError(f"{_FN}: reference_point must hold numbers, got {list(reference_point)!r}") from None
    if not all(math.isfinite(v) for v in ref):
        raise ValueError(f"{_FN}: reference_point must be finite, got {ref}")
    history = hypervolume_history(study, ref)
    if not history:
        return empty_figure(backend, _FN, _TITLE, NO_TRIALS_NOTE)
    xs = [n for n, _ in history]
    ys = [float(v) for _, v in history]
    if backend == "plotly":
        go = import_plotly(_FN)
        fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines+markers", name="Hypervolume",
                                   line={"color": palette(0)}))
        fig.update_layout(title=_TITLE, xaxis_title="Trial", yaxis_title="Hypervolume")
        return fig
    fig = mpl_figure(_FN)
    ax = fig.add_subplot()
    ax.plot(xs, ys, marker="o", markersize=3, color=palette(0), label="Hypervolume")
    ax.set_title(_TITLE)
    ax.set_xlabel("Trial")
    ax.set_ylabel("Hypervolume")
    return fig
