"""One self-contained HTML report of a study.

``write_report(study, "report.html")`` (or ``hypersearch report --storage URL
--study NAME -o report.html``) writes a single file that opens offline: a
summary (directions, trials per state, best configuration or Pareto front,
held-out test evaluations), every plot that applies to the study as an
interactive plotly figure (plotly.js is inlined), and the trial table.

Stored strings (parameter names, values, user attributes, failure reasons) are
HTML-escaped, and figure data is embedded as JSON that cannot close its script
element, so a crafted study cannot inject markup or script into the report.
Needs the ``viz`` extra (plotly and Jinja2).
"""

from hypersearch.reporting._figures import PlotSpec, available_plots, make_plot, reference_point
from hypersearch.reporting._html import render_report, write_report

__all__ = ["PlotSpec", "available_plots", "make_plot", "reference_point", "render_report", "write_report"]
