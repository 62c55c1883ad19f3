"""Intermediate values: one curve per reporting trial, pruned ones marked."""

from __future__ import annotations

import hypersearch as hs
from hypersearch.visualization import plot_intermediate_values
from hypersearch.visualization._common import STATE_COLORS


def _reporting(study):
    return [t for t in study.trials if t.intermediate_values]


def test_plotly_one_line_per_trial_pruned_dashed(study):
    trials = _reporting(study)
    fig = plot_intermediate_values(study)
    assert len(fig.data) == len(trials) == 13  # failed trials reported nothing
    for t, tr in zip(trials, fig.data):
        assert tr.name == f"Trial {t.number}"
        assert list(tr.x) == sorted(t.intermediate_values)
        assert list(tr.y) == [t.intermediate_values[s] for s in sorted(t.intermediate_values)]
        if t.state == hs.TrialState.PRUNED:
            assert tr.legendgroup == "pruned" and tr.line.dash == "dash"
            assert tr.line.color == STATE_COLORS[hs.TrialState.PRUNED] and list(tr.x) == [0, 1, 2]
        else:
            assert tr.legendgroup == "complete" and tr.line.dash == "solid"
    titles = [tr.legendgrouptitle.text for tr in fig.data if tr.legendgrouptitle.text]
    assert titles == ["complete", "pruned"]


def test_matplotlib_lines_and_pixels(study, png, pixels):
    trials = _reporting(study)
    fig = plot_intermediate_values(study, backend="matplotlib")
    (ax,) = fig.axes
    assert len(ax.lines) == len(trials)
    by_gid = {ln.get_gid(): ln for ln in ax.lines}
    for t in trials:
        ln = by_gid[f"trial-{t.number}"]
        assert ln.get_linestyle() == ("--" if t.state == hs.TrialState.PRUNED else "-")
        assert list(ln.get_ydata()) == [t.intermediate_values[s] for s in sorted(t.intermediate_values)]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["complete", "pruned"]
    img = png(fig)
    assert pixels(img, STATE_COLORS[hs.TrialState.COMPLETE]) > 100
    assert pixels(img, STATE_COLORS[hs.TrialState.PRUNED], tol=0.2) > 10


def test_running_trial_is_dotted():
    s = hs.create_study()
    t = s.ask()
    t.report(1.0, 0)
    t.report(0.5, 1)
    t.flush()
    fig = plot_intermediate_values(s)
    (tr,) = fig.data
    assert tr.legendgroup == "running" and tr.line.dash == "dot"
