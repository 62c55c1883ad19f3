"""Parameter importances as horizontal bars."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hypersearch.study._direction import StudyDirection
from hypersearch.visualization._common import (
    Target,
    check_backend,
    check_study,
    complete_trials,
    empty_figure,
    import_plotly,
    mpl_figure,
    palette,
    resolve_target,
    select_params,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.analysis.importance import Importance
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.visualization._common import Figure

_FN = "plot_param_importances"
_TITLE = "Parameter importances"
_AXIS = {
    "fanova": "Share of variance (fANOVA)",
    "permutation": "Error increase when permuted",
    "ped-anova": "PED-ANOVA divergence",
}


def plot_param_importances(
    study: Study,
    *,
    method: str = "fanova",
    params: Sequence[str] | None = None,
    target: Target = None,
    backend: str = "plotly",
    **importance_kwargs,
) -> Figure:
    """Plot how much each hyperparameter mattered, as horizontal bars (largest
    on top), from :func:`hypersearch.analysis.importance`.

    fANOVA and permutation importances come with an uncertainty (the spread
    across the forest's trees / repeats), drawn as error bars; PED-ANOVA has none.

    Args:
        study: The study.
        method: ``"fanova"`` (needs scikit-learn), ``"permutation"`` (needs
            scikit-learn) or ``"ped-anova"``.
        params: Parameters to assess (default: all with more than one value).
        target: ``None`` (the single objective), an objective index, or
            ``fn(frozen_trial) -> float`` (lower is better for PED-ANOVA); needed
            for multi-objective studies.
        backend: ``"plotly"`` or ``"matplotlib"``.
        **importance_kwargs: Passed on to :func:`~hypersearch.analysis.importance`
            (``n_trees``, ``seed``, ``quantile``, ...).

    Returns:
        The figure: one bar trace (plotly, ``y`` = parameter names bottom-up,
        ``x`` = importances) or one ``barh`` container (matplotlib).  With fewer
        than two completed trials (importance needs two) it has no data and its
        title says so.
    """
    from hypersearch.analysis.importance import importance

    check_backend(backend, _FN)
    check_study(study, _FN)
    if method not in _AXIS:
        raise ValueError(f"{_FN}: method must be 'fanova', 'permutation' or 'ped-anova', got {method!r}")
    spec = resolve_target(study, target, _FN)
    names = select_params(study, params, _FN) if params is not None else None
    done, _ = spec.values(complete_trials(study))
    if len(done) < 2:
        return empty_figure(backend, _FN, _TITLE, "needs at least two completed trials")
    imp = importance(study, method, params=names, target=_importance_target(target, spec),
                     **importance_kwargs)
    if backend == "plotly":
        return _plotly(imp)
    return _matplotlib(imp)


def _importance_target(target: Target, spec) -> Callable[[FrozenTrial], float] | None:
    """What :func:`importance` takes as ``target``: ``None`` for the single
    objective, else a callable it treats as minimised (PED-ANOVA looks at the
    lowest values), so a maximised objective picked by index is negated."""
    if target is None:
        return None
    if isinstance(target, int) and spec.direction is StudyDirection.MAXIMIZE:
        return lambda t: -spec.fn(t)
    return spec.fn


def _bars(imp: Importance) -> tuple[list[str], list[float], list[float] | None]:
    """Names, values and errors bottom-up (so that the largest is drawn on top)."""
    names = list(imp.values)[::-1]
    values = [imp.values[n] for n in names]
    errors = [imp.std.get(n, 0.0) for n in names] if imp.std else None
    return names, values, errors


def _plotly(imp: Importance) -> Figure:
    go = import_plotly(_FN)
    names, values, errors = _bars(imp)
    fig = go.Figure(go.Bar(
        x=values, y=names, orientation="h", name=imp.method, marker={"color": palette(0)},
        error_x={"type": "data", "array": errors, "visible": True} if errors is not None else None,
        text=[f"{v:.3g}" for v in values], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.4g}<extra></extra>",
    ))
    fig.update_layout(title=f"{_TITLE} ({imp.method})", xaxis_title=_AXIS[imp.method], yaxis_title="Parameter")
    return fig


def _matplotlib(imp: Importance) -> Figure:
    names, values, errors = _bars(imp)
    fig = mpl_figure(_FN, figsize=(6.4, max(2.4, 0.45 * len(names) + 1.4)))
    ax = fig.add_subplot()
    bars = ax.barh(names, values, xerr=errors, color=palette(0), capsize=3, label=imp.method)
    ax.bar_label(bars, labels=[f"{v:.3g}" for v in values], padding=3, fontsize=8)
    ax.set_title(f"{_TITLE} ({imp.method})")
    ax.set_xlabel(_AXIS[imp.method])
    ax.set_ylabel("Parameter")
    return fig
