"""BOHBSampler: observations per budget, choice of the modelled budget, the
random share, and the BOHB scheduler's default sampler."""

from __future__ import annotations

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.samplers import BOHBSampler, RandomSampler
from hypersearch.schedulers import BOHB, Hyperband


def _add(study, x, curve):
    study.add_trial(
        {"x": x},
        curve[max(curve)],
        distributions={"x": hs.FloatDistribution(0.0, 1.0)},
        intermediate_values=curve,
    )


def test_models_the_largest_budget_with_enough_observations():
    study = hs.create_study(scheduler=Hyperband(max_t=9, min_t=1, reduction_factor=3),
                            sampler=BOHBSampler(min_points_in_model=4, seed=0))
    assert study.sampler.budgets is None
    for i in range(6):  # six trials stopped at budget 1
        _add(study, i / 10, {1: float(i)})
    t = study.ask()
    assert t.system_attrs["bohb:budget"] == 1.0
    study.tell(t, 0.0)
    for i in range(4):  # four that reached budget 3 (they have values at 1 and 3)
        _add(study, 0.5 + i / 10, {1: float(i), 3: float(i)})
    t = study.ask()
    assert t.system_attrs["bohb:budget"] == 3.0
    study.tell(t, 0.0)
    bs = study.sampler._budget_view(study)
    assert bs.budgets == [1.0, 3.0, 9.0]
    assert [s.n for s in bs.stores] == [10, 4, 0]


def test_running_trials_reports_are_observed():
    study = hs.create_study(scheduler=Hyperband(max_t=9, min_t=1, reduction_factor=3),
                            sampler=BOHBSampler(min_points_in_model=2, seed=0))
    for _ in range(3):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        t.report(1.0, 3)  # still running: its value at budgets 1 and 3 counts
    nxt = study.ask()
    assert nxt.system_attrs["bohb:budget"] == 3.0


OPT = np.array([0.3, 0.7, 0.5, 0.2])
SPACE4 = {k: hs.uniform(0, 1) for k in "abcd"}


def _train4(config):
    x = np.array([config[k] for k in "abcd"])
    for t in range(1, 28):
        hs.report(loss=float(np.sum((x - OPT) ** 2) + 0.5 / (1 + t)))


def _train(config):
    for t in range(1, 28):
        hs.report(loss=(config["x"] - 0.3) ** 2 + 0.5 / (1 + t))


def test_model_concentrates_near_the_optimum():
    """Model-based proposals sit much closer to the optimum than random ones in
    the same Hyperband brackets, and find a better final value."""
    dist, best = {}, {}
    for name, sampler in (("bohb", None), ("random", RandomSampler(seed=0))):
        res = hs.tune(_train4, config=SPACE4, num_samples=100,
                      scheduler=BOHB(metric="loss", mode="min", max_t=27, min_t=1),
                      sampler=sampler, seed=0)
        xs = np.array([[t.params[k] for k in "abcd"] for t in res.trials[-40:]])
        dist[name] = float(np.median(np.linalg.norm(xs - OPT, axis=1)))
        best[name] = min(t.value for t in res.trials if t.state == hs.TrialState.COMPLETE)
        if name == "bohb":
            assert type(res.study.sampler).__name__ == "BOHBSampler"
    assert dist["bohb"] < 0.6 * dist["random"], dist
    assert best["bohb"] < best["random"], best


def test_random_fraction_one_is_random_search():
    res = hs.tune(_train, config={"x": hs.uniform(0, 1)}, num_samples=40,
                  scheduler=BOHB(metric="loss", mode="min", max_t=27, min_t=1, random_fraction=1.0,
                                 min_points_in_model=3), seed=3)
    xs = np.array([t.params["x"] for t in res.trials])
    # uniform draws: spread over the whole range, not concentrated at 0.3
    assert np.abs(xs - 0.3).mean() > 0.15 and xs.max() - xs.min() > 0.8


def test_scheduler_default_sampler_and_errors():
    assert isinstance(hs.create_study(scheduler=BOHB()).sampler, BOHBSampler)
    explicit = RandomSampler(seed=0)
    assert hs.create_study(scheduler=BOHB(), sampler=explicit).sampler is explicit
    with pytest.raises(ValueError, match="budgets"):
        hs.create_study(sampler=BOHBSampler())  # no scheduler and no budgets
    with pytest.raises(ValueError, match="random_fraction"):
        BOHBSampler(random_fraction=2)
    with pytest.raises(ValueError, match="min_points_in_model"):
        BOHBSampler(min_points_in_model=0)
    with pytest.raises(ValueError, match="single-objective"):
        hs.create_study(directions=["minimize", "minimize"], sampler=BOHBSampler(budgets=[1, 3]))
