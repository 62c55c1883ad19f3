"""schedule_from_config: schedules whose parameters come from a search space."""

from __future__ import annotations

import pytest

import hypersearch as hs
from hypersearch import training as tr


def test_cosine_with_warmup_steps_fits_the_horizon():
    s = tr.schedule_from_config(
        {"schedule": "cosine", "lr": 1e-3, "warmup_steps": 100, "min_lr_ratio": 0.1, "batch": 32},
        total_steps=1000,
    )
    assert s == tr.linear_warmup(tr.cosine_annealing(1e-3, 900, 1e-4), 100)
    assert s(100) == pytest.approx(1e-3) and s(1000) == pytest.approx(1e-4)


def test_warmup_ratio_and_linear_decay():
    s = tr.schedule_from_config(
        {"schedule": "linear", "learning_rate": 2e-5, "warmup_ratio": 0.1, "total_steps": 500}
    )
    assert s == tr.linear_warmup(tr.polynomial_decay(2e-5, 450, 0.0, 1.0), 50)


def test_epochs_with_steps_per_epoch():
    cfg = {"optimizer": {"name": "sgd", "lr": 0.1}, "schedule": "cosine", "epochs": 10,
           "warmup_epochs": 2}
    s = tr.schedule_from_config(cfg, steps_per_epoch=50)
    assert s == tr.linear_warmup(tr.cosine_annealing(0.1, 400), 100)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        tr.schedule_from_config(cfg)


def test_other_schedules():
    assert tr.schedule_from_config({"lr": 0.1}) == tr.constant(0.1)
    step = {"schedule": "step", "lr": 0.1, "step_size": 30, "gamma": 0.2}
    assert tr.schedule_from_config(step) == tr.step_decay(0.1, 30, 0.2)
    assert tr.schedule_from_config({"schedule": "exponential", "lr": 0.1, "gamma": 0.99}) == (
        tr.exponential(0.1, 0.99)
    )
    assert tr.schedule_from_config(
        {"schedule": "polynomial", "lr": 0.1, "power": 2, "min_lr": 0.01}, total_steps=10
    ) == tr.polynomial_decay(0.1, 10, 0.01, 2)
    assert tr.schedule_from_config(
        {"schedule": "cosine", "lr": 0.1, "restarts": 2, "cycle_mult": 2}, total_steps=70
    ) == tr.cosine_annealing(0.1, 70, restarts=2, cycle_mult=2)
    # one_cycle's warm-up is pct_start; a warmup setting maps onto it
    oc = tr.schedule_from_config({"schedule": "one_cycle", "lr": 0.1, "warmup_ratio": 0.2},
                                 total_steps=100)
    assert oc == tr.one_cycle(0.1, 100, pct_start=0.2)
    # a short warm-up stays short: the ratio itself, at least one step (before, one
    # that rounded to no step became PyTorch's default of 30 %)
    for ratio, pct in ((0.004, 0.01), (0.006, 0.01), (0.015, 0.015)):
        assert tr.schedule_from_config({"schedule": "one_cycle", "lr": 0.1, "warmup_ratio": ratio},
                                       total_steps=100) == tr.one_cycle(0.1, 100, pct_start=pct)
    assert tr.schedule_from_config({"schedule": "one_cycle", "lr": 0.1}, total_steps=100) == tr.one_cycle(
        0.1, 100, pct_start=0.3)
    # warmup_steps wins over warmup_ratio, as for the other schedules
    assert tr.schedule_from_config({"schedule": "one_cycle", "lr": 0.1, "warmup_steps": 10, "warmup_ratio": 0.5},
                                   total_steps=100) == tr.one_cycle(0.1, 100, pct_start=0.1)


def test_nested_schedule_choice():
    s = tr.schedule_from_config(
        {"lr": 0.01, "schedule": {"name": "cosine", "min_lr": 0.001, "warmup_steps": 5}},
        total_steps=50,
    )
    assert s == tr.linear_warmup(tr.cosine_annealing(0.01, 45, 0.001), 5)


@pytest.mark.parametrize(
    "cfg, kwargs, match",
    [
        ({"schedule": "cosine"}, {"total_steps": 10}, "learning rate"),
        ({"schedule": "cosine", "lr": 0.1}, {}, "total_steps"),
        ({"schedule": "sawtooth", "lr": 0.1}, {}, "sawtooth"),
        ({"schedule": "cosine", "lr": 0.1, "warmup_steps": 10}, {"total_steps": 10}, "warmup"),
        ({"schedule": "step", "lr": 0.1}, {}, "step_size"),
        ({"schedule": "cosine", "lr": -1}, {"total_steps": 10}, "lr"),
        ({"lr": 0.1, "learning_rate": 0.2}, {}, "both"),
        ({"schedule": "cosine", "lr": 0.1, "min_lr_ratio": 2}, {"total_steps": 10}, "min_lr_ratio"),
        ({"schedule": {"min_lr": 0.0}, "lr": 0.1}, {}, "name"),
    ],
)
def test_errors_name_the_key(cfg, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tr.schedule_from_config(cfg, **kwargs)


def test_schedule_parameters_in_a_search_space():
    space = {
        "lr": hs.loguniform(1e-4, 1e-2),
        "schedule": hs.choice(["cosine", "linear", "one_cycle", "constant"]),
        "warmup_ratio": hs.uniform(0.0, 0.2),
        "min_lr_ratio": hs.choice([0.0, 0.1]),
    }
    seen = set()

    def objective(config):
        s = tr.schedule_from_config(config, total_steps=200)
        seen.add(config["schedule"])
        return sum(s.values(200))

    study = hs.create_study(seed=1)
    study.optimize(hs.SearchSpace(space).objective(objective), n_trials=12)
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    assert len(seen) >= 3
