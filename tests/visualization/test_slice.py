"""Slice plot: one panel per parameter, log axes for log parameters."""

from __future__ import annotations

import numpy as np

import hypersearch as hs
from hypersearch.visualization import plot_slice


def _complete(study):
    return [t for t in study.trials if t.state == hs.TrialState.COMPLETE]


def test_plotly_panels(study):
    trials = _complete(study)
    fig = plot_slice(study)
    assert [tr.name for tr in fig.data] == ["lr", "n", "opt", "x"]
    for tr in fig.data:
        assert len(tr.x) == len(tr.y) == len(trials)
        assert list(tr.y) == [t.value for t in trials]
        assert list(tr.marker.color) == [t.number for t in trials]
    assert list(fig.data[0].x) == [t.params["lr"] for t in trials]
    assert fig.layout.xaxis.type == "log"  # lr
    assert fig.layout.xaxis2.type != "log"  # n
    assert list(fig.layout.xaxis3.ticktext) == ["sgd", "adam"]
    assert list(fig.data[2].x) == [["sgd", "adam"].index(t.params["opt"]) for t in trials]


def test_selected_params(study):
    fig = plot_slice(study, params=["x"])
    assert [tr.name for tr in fig.data] == ["x"]


def test_matplotlib_axes(study, png, regions):
    trials = _complete(study)
    fig = plot_slice(study, backend="matplotlib")
    axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_title() for ax in axes] == ["lr", "n", "opt", "x"]
    assert axes[0].get_xscale() == "log" and axes[3].get_xscale() == "linear"
    for ax in axes:
        (sc,) = ax.collections
        assert len(sc.get_offsets()) == len(trials)
        assert np.allclose(sc.get_offsets()[:, 1], [t.value for t in trials])
    assert [t.get_text() for t in axes[2].get_xticklabels()] == ["sgd", "adam"]
    img = png(fig)
    # dark marker edges around coloured points: many separate blobs
    dark = (img.sum(-1) < 1.2)
    from scipy import ndimage

    assert ndimage.label(dark)[1] > len(trials)
