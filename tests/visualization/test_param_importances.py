"""Parameter importances: bars from hs.analysis.importance, largest on top."""

from __future__ import annotations

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.visualization import plot_param_importances
from hypersearch.visualization._common import PALETTE


@pytest.fixture(scope="module")
def additive():
    """f = 10a + 1b + 0c: a matters most, c not at all."""
    s = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    s.optimize(lambda t: 10 * t.suggest_float("a", 0, 1) + t.suggest_float("b", 0, 1) + 0 * t.suggest_float("c", 0, 1),
               n_trials=40)
    return s


def test_ped_anova_bars_match_importance(additive):
    imp = hs.analysis.importance(additive, method="ped-anova")
    fig = plot_param_importances(additive, method="ped-anova")
    (bar,) = fig.data
    assert bar.orientation == "h"
    assert list(bar.y) == list(imp)[::-1] and bar.y[-1] == "a"  # largest drawn on top
    assert np.allclose(bar.x, [imp[n] for n in bar.y])
    assert bar.error_x.array is None  # PED-ANOVA has no uncertainty
    assert "ped-anova" in fig.layout.title.text


def test_fanova_has_error_bars(additive, png, pixels):
    pytest.importorskip("sklearn")
    imp = hs.analysis.importance(additive, n_trees=16)
    fig = plot_param_importances(additive, n_trees=16)
    (bar,) = fig.data
    assert bar.y[-1] == "a" and np.allclose(bar.x, [imp[n] for n in bar.y])
    assert np.allclose(bar.error_x.array, [imp.std[n] for n in bar.y])
    mfig = plot_param_importances(additive, n_trees=16, backend="matplotlib")
    ax = mfig.axes[0]
    assert len(ax.patches) == 3
    assert np.allclose(sorted(p.get_width() for p in ax.patches), sorted(imp.values.values()))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(imp)[::-1]
    # the longest bar is a's: count the bar-coloured pixels of the top row
    img = png(mfig)
    assert pixels(img, PALETTE[0]) > 500


def test_target_index_and_param_selection(mo_study):
    fig = plot_param_importances(mo_study, method="ped-anova", target=1, params=["y"])
    assert list(fig.data[0].y) == ["y"]
    with pytest.raises(ValueError, match="unknown parameter 'z'"):
        plot_param_importances(mo_study, method="ped-anova", target=0, params=["z"])
    with pytest.raises(ValueError, match="method must be"):
        plot_param_importances(mo_study, method="shap", target=0)


def test_too_few_trials_gives_an_empty_figure():
    s = hs.create_study()
    s.add_trial({"a": 1.0}, 1.0)
    fig = plot_param_importances(s, method="ped-anova")
    assert len(fig.data) == 0 and "at least two completed trials" in fig.layout.title.text
