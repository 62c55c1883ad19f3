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


def test_observations_are_ranked_in_the_schedulers_direction():
    """A study that minimises a loss while the scheduler prunes on reported accuracy
    (mode="max"): the model must prefer high reported values, as the scheduler does."""
    def run(direction):
        study = hs.create_study(direction=direction, seed=0, scheduler=BOHB(
            mode="max", max_t=9, min_t=1, reduction_factor=3, min_points_in_model=5, random_fraction=0.0))

        def objective(trial):
            x = trial.suggest_float("x", 0, 1)
            acc = 1 - (x - 0.8) ** 2
            for epoch in range(1, 10):
                trial.report(acc, epoch)
                if trial.should_prune():
                    raise hs.TrialPruned()
            return acc if direction == "maximize" else 1 - acc

        study.optimize(objective, n_trials=60)
        assert study.sampler._budget_view(study).stores[0].signs == [-1.0]
        return np.median([abs(t.params["x"] - 0.8) for t in study.trials[-30:]])

    assert run("minimize") == pytest.approx(run("maximize"))
    assert run("minimize") < 0.2


def test_each_trial_keeps_its_own_budget_and_random_draw_when_asks_interleave():
    from hypersearch.samplers.base import trial_uniform

    def fresh():
        sampler = BOHBSampler(budgets=[1, 3, 9], min_points_in_model=3, random_fraction=0.5, seed=0)
        study = hs.create_study(sampler=sampler)
        for i in range(12):
            x = (i + 0.5) / 12
            _add(study, x, {9: (x - 0.3) ** 2})
        return study

    def is_random(n):
        return trial_uniform(0, n, 0, "bohb:random") < 0.5

    n = 12
    while not (is_random(n) and not is_random(n + 1)):
        n += 1
    alone, both = fresh(), fresh()
    for study in (alone, both):
        while len(study.trials) < n:
            t = study.ask()
            t.suggest_float("x", 0, 1)
            study.tell(t, 1.0)
    a = alone.ask()
    xa = a.suggest_float("x", 0, 1)
    b1, _ = both.ask(), both.ask()  # the second is model-based, b1 random: b1 keeps its own draw
    assert b1.suggest_float("x", 0, 1) == xa
    assert xa == hs.FloatDistribution(0.0, 1.0).from_unit(trial_uniform(0, a.number, 0, "x"))


def test_trials_that_train_to_the_end_count_at_the_full_budget_with_steps_from_zero():
    study = hs.create_study(scheduler=BOHB(max_t=9, min_t=1, reduction_factor=3, min_points_in_model=3), seed=0)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for epoch in range(9):  # steps 0..8: no report at step 9
            trial.report((x - 0.3) ** 2 + 1 / (epoch + 1), epoch)
            if trial.should_prune():
                raise hs.TrialPruned()
        return (x - 0.3) ** 2

    study.optimize(objective, n_trials=30)
    complete = sum(t.state == hs.TrialState.COMPLETE for t in study.trials)
    assert study.sampler._budget_view(study).stores[-1].n == complete > 0


def test_reports_of_paused_trials_are_read_once_not_on_every_ask():
    from hypersearch.samplers import bohb

    calls = []
    orig = bohb._BudgetStores.add

    def counting(self, t):
        calls.append(t.number)
        return orig(self, t)

    bohb._BudgetStores.add = counting
    try:
        def train(config):
            ckpt = hs.get_checkpoint()
            for epoch in range((ckpt or 0) + 1, 10):
                hs.report(loss=config["x"] + 1 / epoch, checkpoint=epoch)

        hs.tune(train, {"x": hs.uniform(0, 1)}, num_samples=150, seed=0,
                scheduler=hs.schedulers.ASHA(metric="loss", mode="min", max_t=9, grace_period=1,
                                             reduction_factor=3, variant="promotion"))
    finally:
        bohb._BudgetStores.add = orig
    # most trials stay paused; each trial is handed to the model a few times, not once per ask
    assert len(calls) < 8 * 150


def test_bohb_scheduler_in_a_multi_objective_study_uses_the_default_sampler():
    study = hs.create_study(directions=["minimize", "minimize"], scheduler=BOHB(mode="min"))
    assert not isinstance(study.sampler, BOHBSampler)
