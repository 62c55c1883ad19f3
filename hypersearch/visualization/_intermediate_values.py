"""Learning curves: the intermediate values each trial reported, step by step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypersearch.trial._state import TrialState
from hypersearch.visualization._common import (
    STATE_COLORS,
    check_backend,
    check_study,
    empty_figure,
    import_plotly,
    mpl_figure,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.visualization._common import Figure

_FN = "plot_intermediate_values"
_TITLE = "Intermediate values"

#: Line style per state: finished-as-planned solid, pruned dashed, others dotted.
_DASH = {TrialState.COMPLETE: "solid", TrialState.PRUNED: "dash"}
_MPL_STYLE = {"solid": "-", "dash": "--", "dot": ":"}


def group_of(t: FrozenTrial) -> str:
    """Legend group of a trial's curve: its state's name in lower case
    (``"complete"``, ``"pruned"``, ``"running"``, ``"fail"``, ``"paused"``)."""
    return t.state.name.lower()


def plot_intermediate_values(study: Study, *, backend: str = "plotly") -> Figure:
    """Plot the values each trial reported with ``trial.report`` against the step,
    one line per trial, to judge learning curves and what the scheduler pruned.

    Complete trials are solid blue lines, pruned trials dashed grey, trials in
    other states (running, failed, paused) dotted in their state's colour.
    Trials without intermediate values are left out.

    Args:
        study: The study.
        backend: ``"plotly"`` or ``"matplotlib"``.

    Returns:
        The figure: one trace / ``Line2D`` per trial, named ``"Trial <n>"`` (the
        matplotlib line's ``gid`` is ``"trial-<n>"``), in the legend group of
        its state (:func:`group_of`).  Without any reported value the figure has
        no data and its title says so.
    """
    check_backend(backend, _FN)
    check_study(study, _FN)
    trials = [t for t in study.get_trials(deepcopy=False) if t.intermediate_values]
    if not trials:
        return empty_figure(backend, _FN, _TITLE, "no intermediate values reported yet")
    if backend == "plotly":
        return _plotly(trials)
    return _matplotlib(trials)


def _style(t: FrozenTrial) -> tuple[str, str]:
    return STATE_COLORS.get(t.state, "#444444"), _DASH.get(t.state, "dot")


def _plotly(trials: list[FrozenTrial]) -> Figure:
    go = import_plotly(_FN)
    fig = go.Figure()
    seen: set[str] = set()
    for t in trials:
        steps = sorted(t.intermediate_values)
        color, dash = _style(t)
        group = group_of(t)
        first = group not in seen
        seen.add(group)
        fig.add_trace(go.Scatter(
            x=steps, y=[t.intermediate_values[s] for s in steps], mode="lines+markers",
            name=f"Trial {t.number}", legendgroup=group,
            legendgrouptitle_text=group if first else None,
            line={"color": color, "dash": dash}, marker={"size": 4, "color": color},
            opacity=0.6 if t.state == TrialState.PRUNED else 1.0,
            hovertemplate=f"Trial {t.number} ({group})<br>step %{{x}}<br>value %{{y}}<extra></extra>",
        ))
    fig.update_layout(title=_TITLE, xaxis_title="Step", yaxis_title="Intermediate value",
                      legend={"groupclick": "togglegroup"})
    return fig


def _matplotlib(trials: list[FrozenTrial]) -> Figure:
    fig = mpl_figure(_FN)
    ax = fig.add_subplot()
    seen: set[str] = set()
    for t in trials:
        steps = sorted(t.intermediate_values)
        color, dash = _style(t)
        group = group_of(t)
        (line,) = ax.plot(
            steps, [t.intermediate_values[s] for s in steps], linestyle=_MPL_STYLE[dash], color=color,
            marker="o", markersize=2.5, alpha=0.6 if t.state == TrialState.PRUNED else 1.0,
            label=group if group not in seen else "_nolegend_",
        )
        line.set_gid(f"trial-{t.number}")
        seen.add(group)
    ax.set_title(_TITLE)
    ax.set_xlabel("Step")
    ax.set_ylabel("Intermediate value")
    ax.legend()
    return fig
