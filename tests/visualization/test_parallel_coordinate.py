"""Parallel coordinates: log10 axes for log parameters, ticks for categorical ones."""

from __future__ import annotations

import math

import numpy as np

import hypersearch as hs
from hypersearch.visualization import plot_parallel_coordinate


def _complete(study):
    return [t for t in study.trials if t.state == hs.TrialState.COMPLETE]


def test_plotly_dimensions(study):
    trials = _complete(study)
    fig = plot_parallel_coordinate(study)
    (pc,) = fig.data
    assert pc.type == "parcoords"
    dims = pc.dimensions
    assert [d.label for d in dims] == ["Objective value", "lr (log)", "n", "opt", "x"]
    assert list(dims[0].values) == [t.value for t in trials]
    assert np.allclose(dims[1].values, [math.log10(t.params["lr"]) for t in trials])
    assert all(float(v).is_integer() for v in dims[1].tickvals)  # powers of ten
    assert list(dims[1].ticktext) == [f"{10 ** v:.3g}" for v in dims[1].tickvals]
    assert list(dims[3].tickvals) == [0, 1] and list(dims[3].ticktext) == ["sgd", "adam"]
    assert list(dims[3].values) == [["sgd", "adam"].index(t.params["opt"]) for t in trials]
    assert list(pc.line.color) == [t.value for t in trials]


def test_params_order_and_target(study, mo_study):
    fig = plot_parallel_coordinate(study, params=["x", "opt"], target_name="loss")
    assert [d.label for d in fig.data[0].dimensions] == ["loss", "x", "opt"]
    fig = plot_parallel_coordinate(mo_study, target=1)
    assert list(fig.data[0].dimensions[0].values) == [t.values[1] for t in mo_study.trials]


def test_conditional_parameters_keep_complete_rows():
    s = hs.create_study()
    s.add_trial({"a": 1.0, "b": 2.0}, 1.0)
    s.add_trial({"a": 2.0}, 2.0)
    s.add_trial({"a": 3.0, "b": 1.0}, 3.0)
    dims = plot_parallel_coordinate(s).data[0].dimensions
    assert list(dims[0].values) == [1.0, 3.0]


def test_matplotlib_line_per_trial(study, png, regions):
    trials = _complete(study)
    fig = plot_parallel_coordinate(study, backend="matplotlib")
    ax = fig.axes[0]
    (lc,) = [c for c in ax.collections if c.get_gid() == "trials"]
    segs = lc.get_segments()
    assert len(segs) == len(trials) and all(len(s) == 5 for s in segs)
    assert np.allclose(lc.get_array(), [t.value for t in trials])
    # every point lies on its axis, inside the normalised [0, 1] band
    assert all(np.allclose(s[:, 0], range(5)) and (s[:, 1] >= -1e-9).all() and (s[:, 1] <= 1 + 1e-9).all()
               for s in segs)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Objective value", "lr (log)", "n", "opt", "x"]
    img = png(fig)
    drawn = (np.abs(img - 1.0).sum(-1) > 0.3).mean()  # non-white share of the image
    assert drawn > 0.02
