"""Contour plot: interpolated surface with trial points, one panel or a matrix."""

from __future__ import annotations

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.visualization import plot_contour
from hypersearch.visualization._contour import GRID, interpolate


@pytest.fixture(scope="module")
def plane():
    """Values of the plane z = 2a + 3b at random points: linear interpolation is exact."""
    s = hs.create_study(sampler=hs.samplers.RandomSampler(seed=1))
    s.optimize(lambda t: 2 * t.suggest_float("a", 0, 1) + 3 * t.suggest_float("b", 0, 2), n_trials=25)
    return s


def test_two_params_single_panel_exact_on_a_plane(plane):
    fig = plot_contour(plane)
    contour, points = fig.data
    assert contour.type == "contour" and points.type == "scatter"
    assert len(points.x) == 25
    z = np.array(contour.z, dtype=float)
    assert z.shape == (GRID, GRID)
    gx, gy = np.meshgrid(np.asarray(contour.x), np.asarray(contour.y))
    inside = np.isfinite(z)
    assert inside.mean() > 0.5  # the hull of 25 random points covers most of the box
    assert np.allclose(z[inside], 2 * gx[inside] + 3 * gy[inside])
    assert fig.layout.xaxis.title.text == "a" and fig.layout.yaxis.title.text == "b"


def test_log_and_categorical_axes(study):
    fig = plot_contour(study, params=["lr", "opt"])
    assert fig.layout.xaxis.type == "log"
    assert list(fig.layout.yaxis.ticktext) == ["sgd", "adam"]
    points = fig.data[-1]
    complete = [t for t in study.trials if t.state == hs.TrialState.COMPLETE]
    assert np.allclose(points.x, [t.params["lr"] for t in complete])


def test_matrix_for_three_params(study):
    fig = plot_contour(study, params=["x", "lr", "n"])
    scatters = [tr for tr in fig.data if tr.type == "scatter"]
    assert len(scatters) == 6  # every ordered pair off the diagonal
    assert len([tr for tr in fig.data if tr.type == "contour"]) == 6
    assert sum(bool(tr.showscale) for tr in fig.data if tr.type == "contour") == 1


def test_degenerate_points_have_no_surface():
    gx, gy, gz = interpolate(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]))
    assert gx is None and gz is None
    s = hs.create_study()
    s.add_trial({"a": 1.0, "b": 1.0}, 1.0)
    s.add_trial({"a": 2.0, "b": 2.0}, 2.0)
    fig = plot_contour(s)
    assert [tr.type for tr in fig.data] == ["scatter"]


def test_errors_and_too_few_params(study):
    with pytest.raises(ValueError, match="at least two parameters"):
        plot_contour(study, params=["x"])
    s = hs.create_study()
    s.add_trial({"a": 1.0}, 1.0)
    fig = plot_contour(s)
    assert len(fig.data) == 0 and "at least two parameters" in fig.layout.title.text


def test_matplotlib(plane, study, png, pixels):
    fig = plot_contour(plane, backend="matplotlib")
    ax = fig.axes[0]
    scatter = [c for c in ax.collections if len(c.get_offsets()) == 25]
    assert len(scatter) == 1
    assert ax.get_xlabel() == "a" and ax.get_ylabel() == "b"
    img = png(fig)
    # viridis ends (dark purple, yellow) both appear: the surface spans the value range
    assert pixels(img, "#440154", tol=0.12) > 20 and pixels(img, "#fde725", tol=0.12) > 20
    mfig = plot_contour(study, params=["x", "lr", "n"], backend="matplotlib")
    grid = [a for a in mfig.axes if a.get_label() != "<colorbar>"]
    assert len(grid) == 9
    # row i shows params[i] on y, column j params[j] on x: lr is row 1 / column 1
    assert grid[1].get_xscale() == "log" and grid[3].get_yscale() == "log"
    assert grid[0].get_xscale() == "linear" and not grid[4].has_data()  # the diagonal
