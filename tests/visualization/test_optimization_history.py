"""Optimization history: one point per completed trial and the best-so-far line."""

from __future__ import annotations

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.visualization import plot_optimization_history
from hypersearch.visualization._common import BEST_COLOR, PALETTE
from hypersearch.visualization._optimization_history import best_so_far


def _complete(study):
    ts = [t for t in study.trials if t.state == hs.TrialState.COMPLETE]
    return [t.number for t in ts], [t.value for t in ts]


def test_plotly_points_and_running_minimum(study):
    numbers, values = _complete(study)
    fig = plot_optimization_history(study)
    points, best = fig.data
    assert points.mode == "markers" and list(points.x) == numbers and list(points.y) == values
    assert best.name == "Best value" and best.line.shape == "hv"
    assert list(best.x) == numbers
    assert np.allclose(best.y, np.minimum.accumulate(values))
    assert fig.layout.yaxis.title.text == "Objective value"


def test_matplotlib_artists_and_pixels(study, png, pixels, regions):
    numbers, values = _complete(study)
    fig = plot_optimization_history(study, backend="matplotlib")
    (ax,) = fig.axes
    (scatter,) = ax.collections
    assert len(scatter.get_offsets()) == len(numbers)
    assert np.allclose(scatter.get_offsets()[:, 1], values)
    (line,) = ax.lines
    assert np.allclose(line.get_ydata(), np.minimum.accumulate(values))
    img = png(fig)
    assert pixels(img, BEST_COLOR, tol=0.2) > 50  # the best-so-far line is drawn
    assert regions(img, PALETTE[0]) >= 4  # separate marker blobs (+ the legend's)


def test_maximize_uses_the_running_maximum():
    s = hs.create_study(direction="maximize")
    for v in [1.0, 3.0, 2.0, 5.0, 4.0]:
        s.add_trial({"x": v}, v)
    best = plot_optimization_history(s).data[-1]
    assert list(best.y) == [1.0, 3.0, 3.0, 5.0, 5.0]


def test_infeasible_trials_never_improve_the_best_line(make_trial, png, pixels):
    s = hs.create_study()
    for v, c in [(5.0, [-1.0]), (3.0, [0.0]), (1.0, [0.5]), (4.0, None), (2.0, [-0.1])]:
        s.add_trial(make_trial([v], {"x": v}, constraints=c))
    fig = plot_optimization_history(s)
    names = [tr.name for tr in fig.data]
    assert names == ["Objective value", "Infeasible", "Best value"]
    feasible, infeasible, best = fig.data
    assert list(infeasible.x) == [2] and list(infeasible.y) == [1.0]
    assert list(feasible.y) == [5.0, 3.0, 4.0, 2.0]
    assert list(best.x) == [0, 1, 2, 3, 4] and list(best.y) == [5.0, 3.0, 3.0, 3.0, 2.0]
    mfig = plot_optimization_history(s, backend="matplotlib")
    assert list(mfig.axes[0].lines[0].get_ydata()) == [5.0, 3.0, 3.0, 3.0, 2.0]
    assert pixels(png(mfig), "#b0b0b0") > 10  # the grey infeasible marker


def test_best_line_starts_at_the_first_feasible_trial():
    xs, ys = best_so_far([0, 1, 2, 3], [1.0, 0.5, 2.0, 0.7], [False, False, True, True],
                         hs.StudyDirection.MINIMIZE)
    assert xs == [2, 3] and ys == [2.0, 0.7]


def test_several_studies_and_a_target(mo_study, study):
    fig = plot_optimization_history([study, mo_study], target=lambda t: t.values[0])
    assert [tr.name for tr in fig.data] == ["viz-main", "viz-main best", "viz-mo"]  # no best line: unknown direction
    fig = plot_optimization_history(mo_study, target=1, target_name="accuracy")
    values = [t.values[1] for t in mo_study.trials]
    assert np.allclose(fig.data[-1].y, np.maximum.accumulate(values))  # objective 1 is maximized
    assert fig.layout.yaxis.title.text == "accuracy"
    with pytest.raises(ValueError, match="empty list"):
        plot_optimization_history([])
    with pytest.raises(TypeError, match="must hold studies"):
        plot_optimization_history([study, "x"])
