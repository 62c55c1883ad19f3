"""Timeline: a row per worker, bars coloured by state, failures red with their reason."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.visualization import plot_timeline
from hypersearch.visualization._common import STATE_COLORS

RED = STATE_COLORS[hs.TrialState.FAIL]


@pytest.fixture(scope="module")
def recorded(make_trial, record_trial):
    """Trials with known workers and times, one failed, one without a worker,
    and one still running (asked in this thread)."""
    mk = make_trial
    s = hs.create_study(study_name="viz-timeline")
    for t in [
        mk([1.0], {"x": 1.0}, start=0, seconds=4, worker="h1:10:a"),
        mk([2.0], {"x": 2.0}, start=1, seconds=2, worker="h2:20:a"),
        mk(None, {"x": 3.0}, start=4, seconds=1, worker="h1:10:a", state=hs.TrialState.FAIL,
           fail_reason="ValueError: out of memory (<1 GiB free)"),
        mk(None, {"x": 4.0}, start=5, seconds=3, worker="h2:20:a", state=hs.TrialState.PRUNED),
        mk([5.0], {"x": 5.0}, start=6, seconds=1),  # recorded before workers were
    ]:
        record_trial(s, t)
    running = s.ask()
    running.suggest_float("x", 0, 1)
    running.flush()
    return s


def test_rows_states_and_failure(recorded):
    fig = plot_timeline(recorded)
    names = [tr.name for tr in fig.data]
    assert names == ["COMPLETE", "PRUNED", "FAIL", "RUNNING"]
    rows = {y for tr in fig.data for y in tr.y}
    me = recorded.trials[-1].system_attrs["worker"]
    assert rows == {"h1:10:a", "h2:20:a", "unknown", me}
    assert list(fig.layout.yaxis.categoryarray) == [me, "unknown", "h2:20:a", "h1:10:a"]  # first on top
    fail = fig.data[names.index("FAIL")]
    assert fail.marker.color == RED
    assert list(fail.y) == ["h1:10:a"]
    assert "reason: ValueError: out of memory (&lt;1 GiB free)" in fail.hovertext[0]  # escaped for HTML
    complete = fig.data[0]
    assert list(complete.x) == [4000.0, 2000.0, 1000.0]  # durations in ms
    assert list(complete.base)[0].startswith("2024-01-01T00:00:00")
    assert fig.layout.xaxis.type == "date"
    running = fig.data[-1]
    assert running.x[0] > 0 and "(so far)" in running.hovertext[0]


def test_matplotlib(recorded, png, pixels):
    fig = plot_timeline(recorded, backend="matplotlib")
    ax = fig.axes[0]
    assert [c.get_label() for c in ax.containers] == ["COMPLETE", "PRUNED", "FAIL", "RUNNING"]
    me = recorded.trials[-1].system_attrs["worker"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [me, "unknown", "h2:20:a", "h1:10:a"]
    fail_bars = ax.containers[2].patches
    assert len(fail_bars) == 1
    assert np.allclose(fail_bars[0].get_facecolor()[:3], [0xd6 / 255, 0x27 / 255, 0x28 / 255])
    assert fail_bars[0].get_width() == pytest.approx(1 / 86400)  # one second, in days
    assert pixels(png(fig), RED) > 0  # drawn (the legend patch at least)


def test_threads_are_separate_rows(png, pixels):
    s = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))

    def objective(t):
        time.sleep(0.02)
        x = t.suggest_float("x", 0, 1)
        if x > 0.8:
            raise ValueError("x too large")
        return x

    s.optimize(objective, n_trials=8, n_jobs=2, executor="thread", catch=(ValueError,))
    workers = {t.system_attrs["worker"] for t in s.trials}
    assert len(workers) == 2
    fig = plot_timeline(s)
    assert {y for tr in fig.data for y in tr.y} == workers
    assert sum(len(tr.y) for tr in fig.data) == 8
    failed = [t for t in s.trials if t.state == hs.TrialState.FAIL]
    if failed:
        fail = next(tr for tr in fig.data if tr.name == "FAIL")
        assert all("x too large" in h for h in fail.hovertext)
    mfig = plot_timeline(s, backend="matplotlib")
    assert len(mfig.axes[0].get_yticklabels()) == 2
    img = png(mfig)
    assert pixels(img, STATE_COLORS[hs.TrialState.COMPLETE]) > 100


def test_naive_and_missing_times(record_trial):
    s = hs.create_study()
    start = dt.datetime(2024, 1, 1, 12, 0, 0)  # naive: taken as UTC
    record_trial(s, hs.FrozenTrial(number=-1, state=hs.TrialState.COMPLETE, values=[1.0], params={},
                                   datetime_start=start, datetime_complete=start + dt.timedelta(seconds=2)))
    s.enqueue_trial({"x": 1.0})  # waiting: never started, no bar
    fig = plot_timeline(s)
    (bar,) = fig.data
    assert list(bar.x) == [2000.0] and list(bar.y) == ["unknown"]
    assert bar.base[0] == "2024-01-01T12:00:00"
