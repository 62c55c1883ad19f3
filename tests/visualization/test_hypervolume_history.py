"""Hypervolume history: the curve hs.multiobjective.hypervolume_history computes."""

from __future__ import annotations

import numpy as np
import pytest

from hypersearch.multiobjective import hypervolume_history
from hypersearch.visualization import plot_hypervolume_history
from hypersearch.visualization._common import PALETTE

REF = [1.1, -0.1]  # worse than every point: x <= 1 (minimized), sqrt(x) + y >= 0 (maximized)


def test_plotly_matches_the_history(mo_study):
    expected = hypervolume_history(mo_study, REF)
    fig = plot_hypervolume_history(mo_study, REF)
    (line,) = fig.data
    assert list(line.x) == [n for n, _ in expected]
    assert np.allclose(line.y, [h for _, h in expected])
    assert all(b >= a for a, b in zip(line.y, line.y[1:])) and line.y[-1] > 0


def test_matplotlib(mo_study, png, pixels):
    expected = [h for _, h in hypervolume_history(mo_study, np.array(REF))]
    fig = plot_hypervolume_history(mo_study, np.array(REF), backend="matplotlib")
    (line,) = fig.axes[0].lines
    assert np.allclose(line.get_ydata(), expected)
    assert pixels(png(fig), PALETTE[0], tol=0.2) > 50


def test_errors(mo_study, study):
    with pytest.raises(ValueError, match="reference_point has 3 values; the study has 2 objectives"):
        plot_hypervolume_history(mo_study, [1, 2, 3])
    with pytest.raises(ValueError, match="reference_point must be finite"):
        plot_hypervolume_history(mo_study, [1, float("inf")])
    with pytest.raises(ValueError, match="single objective"):
        plot_hypervolume_history(study, [1.0])
