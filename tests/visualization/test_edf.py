"""Empirical distribution function: one step curve per study."""

from __future__ import annotations

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.visualization import plot_edf


def test_curves_per_study(study, empty_study, png, pixels):
    other = hs.create_study(study_name="viz-edf-other")
    for v in [3.0, 1.0, 2.0, 2.0]:
        other.add_trial({"x": v}, v)
    fig = plot_edf([study, other, empty_study])  # the empty study has no curve
    assert [tr.name for tr in fig.data] == ["viz-main", "viz-edf-other"]
    values = sorted(t.value for t in study.trials if t.state == hs.TrialState.COMPLETE)
    assert list(fig.data[0].x) == values
    assert np.allclose(fig.data[0].y, np.arange(1, len(values) + 1) / len(values))
    assert list(fig.data[1].x) == [1.0, 2.0, 2.0, 3.0] and list(fig.data[1].y) == [0.25, 0.5, 0.75, 1.0]
    assert fig.data[0].line.shape == "hv"
    mfig = plot_edf([study, other], backend="matplotlib")
    ax = mfig.axes[0]
    assert len(ax.lines) == 2
    assert list(ax.lines[1].get_ydata()) == [0.25, 0.5, 0.75, 1.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["viz-main", "viz-edf-other"]
    img = png(mfig)
    assert pixels(img, "#1f77b4", tol=0.2) > 30 and pixels(img, "#ff7f0e", tol=0.2) > 30


def test_target(mo_study):
    fig = plot_edf(mo_study, target=1)
    assert list(fig.data[0].x) == sorted(t.values[1] for t in mo_study.trials)
    with pytest.raises(ValueError, match="pass target="):
        plot_edf(mo_study)
