"""Shared pieces of the plotting functions.

Everything here is backend-neutral or imports its backend lazily: the plotting
libraries are optional (``pip install 'hypersearch[viz]'``), so importing
:mod:`hypersearch.visualization` must stay cheap and must work without them.

The helpers cover what every plot needs: checking ``backend=``, importing
plotly / matplotlib with a clear message when missing, choosing the value to
plot (``target=``) and its direction, checking ``params=`` names, describing how
a parameter is laid out on an axis (linear, log10 or categorical ticks), and
the figure shown when a study has nothing to plot yet.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hypersearch.space.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hypersearch.study._direction import StudyDirection
from hypersearch.study._history import is_feasible
from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from typing import TypeAlias

    import matplotlib.figure
    import plotly.graph_objects as go

    from hypersearch.study._study import Study

    Figure: TypeAlias = "go.Figure | matplotlib.figure.Figure"

#: Names accepted by ``backend=``.
BACKENDS = ("plotly", "matplotlib")

#: What a plot shows for a target given as a callable or for a single objective.
Target = int | Callable[[FrozenTrial], float] | None

#: Qualitative palette (matplotlib's "tab10"), used for studies, trials and series.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)

#: Colour of each trial state (timeline, intermediate values).  FAIL is red so
#: failures stand out; PRUNED is grey like a trial that went nowhere.
STATE_COLORS: dict[TrialState, str] = {
    TrialState.COMPLETE: "#1f77b4",
    TrialState.PRUNED: "#8c8c8c",
    TrialState.FAIL: "#d62728",
    TrialState.RUNNING: "#2ca02c",
    TrialState.PAUSED: "#9467bd",
    TrialState.WAITING: "#bcbd22",
}

#: Colour of the best-so-far line and of Pareto-optimal points.
BEST_COLOR = "#d62728"
#: Colour of points that violate their constraints.
INFEASIBLE_COLOR = "#b0b0b0"
#: Continuous colour map for objective values (same name in plotly and matplotlib).
COLORSCALE = "Viridis"
MPL_CMAP = "viridis"

#: Text of the note on a figure that has no data to show.
NO_TRIALS_NOTE = "no completed trials yet"


def palette(i: int) -> str:
    """The ``i``-th colour of :data:`PALETTE` (cycling)."""
    return PALETTE[i % len(PALETTE)]


# -- backends -------------------------------------------------------------------------------


def check_backend(backend: str, fn: str) -> str:
    """Return ``backend`` if it is one of :data:`BACKENDS`, else raise ``ValueError``."""
    if backend not in BACKENDS:
        raise ValueError(f"{fn}: backend must be 'plotly' or 'matplotlib', got {backend!r}")
    return backend


def import_plotly(fn: str) -> Any:
    """``plotly.graph_objects``, or an ``ImportError`` that names the extra to install."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise ImportError(f"{fn} needs plotly: pip install 'hypersearch[viz]'") from None
    return go


def plotly_subplots(fn: str, **kwargs: Any) -> Any:
    """``plotly.subplots.make_subplots(**kwargs)`` (lazily imported)."""
    import_plotly(fn)
    from plotly.subplots import make_subplots

    return make_subplots(**kwargs)


def mpl_figure(fn: str, **kwargs: Any) -> matplotlib.figure.Figure:
    """A fresh ``matplotlib.figure.Figure`` (never pyplot: no global state, no GUI
    backend), or an ``ImportError`` that names the extra to install."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(f"{fn} needs matplotlib: pip install 'hypersearch[viz]'") from None
    kwargs.setdefault("layout", "constrained")
    return Figure(**kwargs)


def empty_figure(backend: str, fn: str, title: str, note: str) -> Figure:
    """A figure without data whose title carries ``note`` (e.g. "no completed trials
    yet"), so that dashboards can render any study without special cases."""
    if backend == "plotly":
        go = import_plotly(fn)
        fig = go.Figure()
        fig.update_layout(
            title=f"{title} ({note})",
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[{"text": note, "showarrow": False, "xref": "paper", "yref": "paper",
                          "x": 0.5, "y": 0.5, "font": {"size": 16}}],
        )
        return fig
    fig = mpl_figure(fn)
    ax = fig.add_subplot()
    ax.set_title(f"{title} ({note})")
    ax.text(0.5, 0.5, note, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


# -- studies, trials and targets ----------------------------------------------------------


def as_study_list(study_or_studies: Any, fn: str) -> list[Study]:
    """One study or a sequence of studies, as a non-empty list."""
    from hypersearch.study._study import Study

    if isinstance(study_or_studies, Study):
        return [study_or_studies]
    if isinstance(study_or_studies, Sequence) and not isinstance(study_or_studies, (str, bytes)):
        studies = list(study_or_studies)
        if not studies:
            raise ValueError(f"{fn}: study_or_studies is an empty list")
        for s in studies:
            if not isinstance(s, Study):
                raise TypeError(f"{fn}: study_or_studies must hold studies, got {type(s).__name__}")
        return studies
    raise TypeError(f"{fn}: expected a Study or a list of studies, got {type(study_or_studies).__name__}")


def check_study(study: Any, fn: str) -> Study:
    """``study`` if it is a :class:`~hypersearch.Study`, else ``TypeError``."""
    from hypersearch.study._study import Study

    if not isinstance(study, Study):
        raise TypeError(f"{fn}: expected a Study, got {type(study).__name__}")
    return study


def complete_trials(study: Study) -> list[FrozenTrial]:
    """COMPLETE trials that have values, by number."""
    return [t for t in study.get_trials([TrialState.COMPLETE], deepcopy=False) if t.values is not None]


@dataclass
class TargetSpec:
    """What to plot of each trial: ``fn(trial) -> float`` and, when known, the
    direction in which it is better (``None`` for a custom callable on a
    multi-objective study)."""

    fn: Callable[[FrozenTrial], float]
    direction: StudyDirection | None

    def values(self, trials: Sequence[FrozenTrial]) -> tuple[list[FrozenTrial], list[float]]:
        """The trials whose target is a finite number, and those numbers."""
        kept, ys = [], []
        for t in trials:
            y = float(self.fn(t))
            if math.isfinite(y):
                kept.append(t)
                ys.append(y)
        return kept, ys


def resolve_target(study: Study, target: Target, fn: str) -> TargetSpec:
    """Turn ``target=`` into a :class:`TargetSpec`.

    ``None`` plots the single objective (``ValueError`` for multi-objective
    studies, where the choice is the caller's); an ``int`` picks an objective by
    index; a callable ``fn(frozen_trial) -> float`` plots anything else.
    """
    n = len(study.directions)
    if target is None:
        if n > 1:
            raise ValueError(
                f"{fn}: study {study.study_name!r} has {n} objectives; pass target=<objective index> "
                "or target=lambda t: t.values[k]"
            )
        return TargetSpec(lambda t: t.values[0], study.directions[0])  # type: ignore[index]
    if isinstance(target, bool):
        raise TypeError(f"{fn}: target must be an objective index or a callable, got {target!r}")
    if isinstance(target, int):
        if not 0 <= target < n:
            raise ValueError(
                f"{fn}: target={target} is out of range; study {study.study_name!r} has {n} objective(s)"
            )
        k = target
        return TargetSpec(lambda t: t.values[k], study.directions[k])  # type: ignore[index]
    if callable(target):
        return TargetSpec(target, study.directions[0] if n == 1 else None)
    raise TypeError(f"{fn}: target must be an objective index or a callable, got {type(target).__name__}")


def feasible(t: FrozenTrial) -> bool:
    """Whether ``t`` satisfies its recorded constraints (see ``Study`` constraints)."""
    return is_feasible(t)


def trial_hover(t: FrozenTrial, extra: Sequence[str] = ()) -> str:
    """Hover text of a trial: its number, values and parameters (plotly HTML)."""
    lines = [f"Trial {t.number}", *extra]
    if t.values is not None:
        lines.append("values: " + ", ".join(f"{v:.6g}" for v in t.values))
    for k, v in t.params.items():
        lines.append(f"{k}: {_fmt(v)}")
    return "<br>".join(escape(line) for line in lines)


def escape(text: str) -> str:
    """``text`` safe inside plotly's HTML-like hover labels (a failure reason may
    hold ``<`` or ``&``)."""
    return html.escape(str(text), quote=False)


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else repr(v) if isinstance(v, str) else str(v)


# -- parameters -----------------------------------------------------------------------------


@dataclass
class ParamAxis:
    """How one parameter is drawn on an axis.

    ``kind`` is ``"linear"``, ``"log"`` (every distribution of the parameter is
    log-scaled: drawn on a log10 axis) or ``"categorical"`` (choices drawn at
    ticks ``0, 1, ...`` labelled with the choices).
    """

    name: str
    kind: str
    choices: list[Any] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.choices]

    def coord(self, value: Any) -> float:
        """Position of ``value`` on a linear axis: the choice index for categorical
        parameters, ``log10(value)`` for log ones, the value itself otherwise."""
        if self.kind == "categorical":
            return float(_choice_index(self.choices, value))
        if self.kind == "log":
            return math.log10(float(value))
        return float(value)


def _choice_index(choices: list[Any], value: Any) -> int:
    for i, c in enumerate(choices):
        if type(c) is type(value) and c == value:
            return i
    return choices.index(value)


def study_params(trials: Sequence[FrozenTrial]) -> list[str]:
    """Parameter names of ``trials``, sorted."""
    names: set[str] = set()
    for t in trials:
        names.update(t.params)
    return sorted(names)


def select_params(
    study: Study, params: Sequence[str] | None, fn: str, trials: Sequence[FrozenTrial] | None = None
) -> list[str]:
    """The parameters to plot: ``params`` checked against the study's parameters
    (``ValueError`` naming any unknown one), or all of them, sorted."""
    pool = trials if trials is not None else study.get_trials(deepcopy=False)
    known = study_params(pool)
    if params is None:
        return known
    if isinstance(params, str) or not isinstance(params, Sequence):
        raise ValueError(f"{fn}: params must be a list of parameter names, got {params!r}")
    out = []
    for p in params:
        if p not in known:
            raise ValueError(f"{fn}: unknown parameter {p!r} in params; the study's parameters are {known}")
        if p not in out:
            out.append(p)
    return out


def param_axis(name: str, trials: Sequence[FrozenTrial]) -> ParamAxis:
    """Lay-out of parameter ``name`` from the distributions it was drawn from in
    ``trials`` (a dynamic parameter may have several).

    Categorical when a value is not a number or when no trial drew it from a
    numeric distribution (numeric choices such as ``[16, 32, 64]`` stay
    categorical, as declared); log when every numeric distribution is log-scaled.
    """
    dists = [t.distributions[name] for t in trials if name in t.distributions]
    values = [t.params[name] for t in trials if name in t.params]
    numeric_dists = [d for d in dists if isinstance(d, (FloatDistribution, IntDistribution))]
    numeric_values = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric_values or not numeric_dists:
        choices: list[Any] = []
        for d in dists:
            for c in d.choices if isinstance(d, CategoricalDistribution) else ():
                _add_choice(choices, c)
        for v in values:
            _add_choice(choices, v)
        return ParamAxis(name, "categorical", choices)
    if all(d.log for d in numeric_dists) and all(float(v) > 0 for v in values):
        return ParamAxis(name, "log")
    return ParamAxis(name, "linear")


def _add_choice(choices: list[Any], c: Any) -> None:
    if not any(type(c) is type(x) and c == x for x in choices):
        choices.append(c)


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Tick positions (in log10 units) and labels for a log10 axis spanning
    ``[lo, hi]`` (log10 units): every power of ten inside, or the ends."""
    first, last = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    ticks = [float(k) for k in range(first, last + 1)]
    if len(ticks) < 2:
        ticks = sorted({lo, hi})
    return ticks, [f"{10 ** k:.3g}" for k in ticks]
