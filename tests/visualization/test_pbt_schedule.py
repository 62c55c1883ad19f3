"""PBT schedule: each trial's effective hyperparameters over training steps."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.schedulers import PopulationBasedTraining, pbt_schedule
from hypersearch.visualization import plot_pbt_schedule


@pytest.fixture(scope="module")
def lineage(make_trial):
    """Trial 0 trains 8 steps with lr=0.1 / relu; trial 1 starts with lr=0.5 /
    gelu and at step 4 copies trial 0 and explores to lr=0.12 / tanh."""
    s = hs.create_study(study_name="viz-pbt", direction="maximize")
    curve = {k: float(k) for k in range(1, 9)}
    s.add_trial(make_trial([8.0], {"x": 0.0}, intermediate=curve,
                           user_attrs={"config": {"lr": 0.1, "act": "relu", "opt": {"wd": 0.0}}}))
    s.add_trial(make_trial([8.0], {"x": 1.0}, intermediate=curve,
                           user_attrs={"config": {"lr": 0.5, "act": "gelu", "opt": {"wd": 0.0}}},
                           system_attrs={"pbt:schedule": [{"step": 4, "source": 0, "source_step": 4,
                                                           "config": {"lr": 0.12, "act": "tanh",
                                                                      "opt": {"wd": 0.0}}}]}))
    return s


def test_plotly_step_lines_follow_pbt_schedule(lineage):
    fig = plot_pbt_schedule(lineage)
    # default keys: those that vary (opt/wd is constant everywhere)
    assert [a.text for a in fig.layout.annotations] == ["act", "lr"]
    assert len(fig.data) == 4  # 2 keys x 2 trials
    act0, act1, lr0, lr1 = fig.data
    assert lr0.name == "Trial 0" and lr1.name == "Trial 1" and lr1.line.shape == "hv"
    assert list(lr0.x) == [0.0, 8.0] and list(lr0.y) == [0.1, 0.1]
    # trial 1's final model: trial 0's history (lr=0.1) up to step 4, then lr=0.12
    assert [s["config"]["lr"] for s in pbt_schedule(lineage, 1)] == [0.1, 0.12]
    assert list(lr1.x) == [0.0, 4.0, 8.0] and list(lr1.y) == [0.1, 0.12, 0.12]
    # act is categorical; trial 1's own start (gelu) is not in its final model's lineage
    assert list(fig.layout.yaxis.ticktext) == ["relu", "tanh"]
    assert list(act0.y) == [0.0, 0.0] and list(act1.y) == [0.0, 1.0, 1.0]
    assert act0.showlegend and not lr0.showlegend  # one legend entry per trial
    assert fig.layout.xaxis2.title.text == "Step"


def test_params_selection_and_errors(lineage, study):
    fig = plot_pbt_schedule(lineage, params=["opt/wd"])
    assert [a.text for a in fig.layout.annotations] == ["opt/wd"] and len(fig.data) == 2
    with pytest.raises(ValueError, match=r"unknown key 'momentum'.*\['act', 'lr', 'opt/wd'\]"):
        plot_pbt_schedule(lineage, params=["momentum"])
    fig = plot_pbt_schedule(study)  # not a tune study: nothing recorded
    assert len(fig.data) == 0 and "no PBT configurations" in fig.layout.title.text


def test_matplotlib(lineage, png, pixels):
    fig = plot_pbt_schedule(lineage, backend="matplotlib")
    act_ax, lr_ax = fig.axes
    assert act_ax.get_ylabel() == "act" and lr_ax.get_ylabel() == "lr"
    lines = {ln.get_gid(): ln for ln in lr_ax.lines}
    assert list(lines["trial-1"].get_xdata()) == [0.0, 4.0, 8.0]
    assert list(lines["trial-1"].get_ydata()) == [0.1, 0.12, 0.12]
    assert [t.get_text() for t in act_ax.get_yticklabels()] == ["relu", "tanh"]
    img = png(fig)
    assert pixels(img, "#1f77b4", tol=0.2) > 30 and pixels(img, "#ff7f0e", tol=0.2) > 30


def test_a_real_population():
    barrier = threading.Barrier(4)

    def train(config):
        ckpt = hs.get_checkpoint()
        if ckpt is None:
            barrier.wait(timeout=30)  # the population trains side by side
        theta = 0.0 if ckpt is None else ckpt["theta"]
        step = 0 if ckpt is None else ckpt["step"]
        while step < 8:
            step += 1
            theta += 1.0 - abs(config["lr"] - 0.5)
            time.sleep(0.02)  # peers stay in step even on a loaded machine
            hs.report(score=theta, checkpoint={"theta": theta, "step": step})

    pbt = PopulationBasedTraining(metric="score", mode="max", perturbation_interval=2,
                                  hyperparam_mutations={"lr": hs.uniform(0.0, 1.0)}, quantile_fraction=0.25,
                                  seed=0)
    res = hs.tune(train, {"lr": hs.grid([0.05, 0.5, 0.55, 0.95])}, scheduler=pbt, max_concurrent=4,
                  seed=0, executor="thread")
    fig = plot_pbt_schedule(res.study)
    assert [a.text for a in fig.layout.annotations] == ["lr"]
    assert len(fig.data) == 4
    assert any(len(tr.x) > 2 for tr in fig.data), "the worst member must have exploited a better one"
    for tr, t in zip(fig.data, res.trials):
        sched = pbt_schedule(res.study, t.number)
        assert list(tr.y[:-1]) == [s["config"]["lr"] for s in sched]
        assert tr.x[0] == 0.0 and tr.x[-1] == 8.0
        assert np.all(np.diff(tr.x) >= 0)
