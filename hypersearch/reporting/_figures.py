"""Which plots a study can show, and making them: shared by the HTML report and
the dashboard, so that both show the same figures for the same study."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hypersearch.trial._state import TrialState

if TYPE_CHECKING:
    from hypersearch.study._study import Study

__all__ = ["PlotSpec", "available_plots", "make_plot", "reference_point"]

_log = logging.getLogger("hypersearch")


@dataclass(frozen=True)
class PlotSpec:
    """A plot of the catalogue: its key (used in URLs), title and maker."""

    key: str
    title: str
    make: Callable[[Study, str], Any]


def reference_point(study: Study) -> list[float] | None:
    """A hypervolume reference point: 10% beyond the worst completed value of
    each objective (in the direction of worse), ``None`` without finite values."""
    vals = [t.values for t in study.get_trials([TrialState.COMPLETE], deepcopy=False) if t.values]
    vals = [v for v in vals if all(math.isfinite(x) for x in v)]
    if not vals:
        return None
    ref = []
    for k, d in enumerate(study.directions):
        col = [v[k] for v in vals]
        lo, hi = min(col), max(col)
        span = (hi - lo) or max(1.0, abs(hi))
        ref.append(hi + 0.1 * span if d.sign() > 0 else lo - 0.1 * span)
    return ref


def _viz():
    from hypersearch import visualization

    return visualization


def _catalogue() -> list[PlotSpec]:
    v = _viz
    return [
        PlotSpec("history", "Optimization history", lambda s, b: v().plot_optimization_history(s, backend=b)),
        PlotSpec("intermediate", "Learning curves", lambda s, b: v().plot_intermediate_values(s, backend=b)),
        PlotSpec("parallel", "Parallel coordinates", lambda s, b: v().plot_parallel_coordinate(s, backend=b)),
        PlotSpec("slice", "Slice", lambda s, b: v().plot_slice(s, backend=b)),
        PlotSpec("contour", "Contour", lambda s, b: v().plot_contour(s, backend=b)),
        PlotSpec("importance", "Parameter importance", lambda s, b: v().plot_param_importances(s, backend=b)),
        PlotSpec("pareto", "Pareto front", lambda s, b: v().plot_pareto_front(s, backend=b)),
        PlotSpec(
            "hypervolume",
            "Hypervolume history",
            lambda s, b: v().plot_hypervolume_history(s, reference_point(s), backend=b),
        ),
        PlotSpec("edf", "Empirical distribution", lambda s, b: v().plot_edf(s, backend=b)),
        PlotSpec("timeline", "Timeline", lambda s, b: v().plot_timeline(s, backend=b)),
        PlotSpec("pbt", "PBT schedules", lambda s, b: v().plot_pbt_schedule(s, backend=b)),
    ]


def available_plots(study: Study) -> list[PlotSpec]:
    """The plots that say something about ``study`` as it is now (e.g. learning
    curves only when trials reported intermediate values, the Pareto front only
    for 2-3 objectives, importance only with two or more parameters)."""
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    n_obj = len(study.directions)
    params = {n for t in done for n in t.params}
    numeric = {
        n for t in done for n, d in t.distributions.items() if type(d).__name__ != "CategoricalDistribution"
    }
    keys: list[str] = []
    if n_obj == 1 and done:
        keys.append("history")
    if any(t.intermediate_values for t in trials):
        keys.append("intermediate")
    if n_obj == 1 and params and len(done) >= 2:
        keys += ["parallel", "slice"]
    if n_obj == 1 and len(numeric) >= 2 and len(done) >= 3:
        keys.append("contour")
    if n_obj == 1 and len(params) >= 2 and len(done) >= 5 and _has_sklearn():
        keys.append("importance")
    if 2 <= n_obj <= 3 and done:
        keys += ["pareto", "hypervolume"]
    if n_obj == 1 and done:
        keys.append("edf")
    if trials:
        keys.append("timeline")
    if any("pbt:schedule" in t.system_attrs for t in trials):
        keys.append("pbt")
    by_key = {p.key: p for p in _catalogue()}
    return [by_key[k] for k in keys]


def _has_sklearn() -> bool:
    import importlib.util

    return importlib.util.find_spec("sklearn") is not None


def make_plot(study: Study, key: str, backend: str = "plotly") -> Any:
    """The figure ``key`` of the catalogue for ``study`` (``KeyError`` if unknown)."""
    for p in _catalogue():
        if p.key == key:
            return p.make(study, backend)
    raise KeyError(f"unknown plot {key!r}; known: {', '.join(p.key for p in _catalogue())}")
