"""Plots of studies, with plotly (interactive) or matplotlib (static) figures.

Every function takes a study (some a list of studies to compare) and
``backend="plotly"`` (returns a ``plotly.graph_objects.Figure``) or
``backend="matplotlib"`` (returns a ``matplotlib.figure.Figure`` built without
pyplot, so no global state or GUI backend is touched; save it with
``fig.savefig("plot.png")``)::

    import hypersearch as hs
    from hypersearch import visualization as vis

    vis.plot_optimization_history(study).show()
    vis.plot_slice(study, params=["lr", "layers"], backend="matplotlib").savefig("slice.svg")

Both libraries are optional (``pip install 'hypersearch[viz]'``) and imported
only when a figure is drawn.

Conventions shared by the functions:

* ``target=``: ``None`` plots the single objective; an ``int`` picks an
  objective of a multi-objective study; a callable ``fn(frozen_trial) -> float``
  plots anything else.  Single-objective plots of a multi-objective study need it.
* ``params=``: parameter names to show (``ValueError`` for an unknown one).
  Log-scaled parameters are drawn on log axes, categorical ones at one tick per
  choice.
* Trials that violate their constraints (``"constraints"`` system attribute) are
  drawn apart and never count as best.
* A study with nothing to plot yet (no completed trial, no reported value) gives
  a figure with no data whose title carries a note such as "(no completed
  trials yet)", as dashboards expect; invalid arguments raise ``ValueError``.
"""

from hypersearch.visualization._contour import plot_contour
from hypersearch.visualization._edf import plot_edf
from hypersearch.visualization._hypervolume_history import plot_hypervolume_history
from hypersearch.visualization._intermediate_values import plot_intermediate_values
from hypersearch.visualization._optimization_history import plot_optimization_history
from hypersearch.visualization._parallel_coordinate import plot_parallel_coordinate
from hypersearch.visualization._param_importances import plot_param_importances
from hypersearch.visualization._pareto_front import plot_pareto_front
from hypersearch.visualization._pbt_schedule import plot_pbt_schedule
from hypersearch.visualization._slice import plot_slice
from hypersearch.visualization._timeline import plot_timeline

__all__ = [
    "plot_contour",
    "plot_edf",
    "plot_hypervolume_history",
    "plot_intermediate_values",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_pareto_front",
    "plot_pbt_schedule",
    "plot_slice",
    "plot_timeline",
]
