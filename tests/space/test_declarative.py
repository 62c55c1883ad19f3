"""Declarative spaces: domains, nesting, conditional branches, constraints, scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

import hypersearch as hs
from hypersearch.exceptions import ConstraintError
from hypersearch.space.distributions import FloatDistribution, IntDistribution


def _sample_many(space, n=60, sampler=None, seed=0):
    study = hs.create_study(sampler=sampler or hs.samplers.RandomSampler(seed=seed))
    configs = []
    study.optimize(space.objective(lambda c: configs.append(c) or 0.0), n_trials=n)
    return study, configs


def test_domains_and_constants():
    space = hs.SearchSpace(
        {
            "lr": hs.loguniform(1e-5, 1e-3),
            "batch_size": hs.choice([4, 8, 16]),
            "epochs": hs.randint(1, 4),
            "drop": hs.quniform(0.0, 0.5, 0.1),
            "units": hs.lograndint(8, 513),
            "k": hs.qrandint(2, 10, 2),
            "name": "fixed",
            "model": {"depth": hs.randint(2, 5), "act": hs.choice(["relu", "gelu"])},
        }
    )
    study, configs = _sample_many(space)
    for c in configs:
        assert 1e-5 <= c["lr"] <= 1e-3
        assert c["batch_size"] in (4, 8, 16)
        assert c["epochs"] in (1, 2, 3)  # randint's upper bound is exclusive (Ray Tune semantics)
        assert round(c["drop"] / 0.1, 6).is_integer() and 0 <= c["drop"] <= 0.5
        assert 8 <= c["units"] <= 512
        assert c["k"] in (2, 4, 6, 8, 10)
        assert c["name"] == "fixed"
        assert 2 <= c["model"]["depth"] <= 4
    t = study.trials[0]
    assert set(t.params) == {"lr", "batch_size", "epochs", "drop", "units", "k", "model.depth", "model.act"}
    assert t.distributions["lr"] == FloatDistribution(1e-5, 1e-3, log=True)
    assert t.user_attrs["config"]["name"] == "fixed"
    assert {c["epochs"] for c in configs} == {1, 2, 3}


def test_conditional_branches_only_suggest_active_parameters():
    space = hs.SearchSpace(
        {
            "opt": hs.choice(
                [
                    {"name": "sgd", "momentum": hs.uniform(0.0, 0.99)},
                    {"name": "adam", "beta1": hs.uniform(0.8, 0.999), "beta2": hs.uniform(0.9, 0.9999)},
                ]
            )
        }
    )
    study, configs = _sample_many(space, n=40)
    names = {c["opt"]["name"] for c in configs}
    assert names == {"sgd", "adam"}
    for t, c in zip(study.trials, configs):
        if c["opt"]["name"] == "sgd":
            assert set(t.params) == {"opt", "opt.momentum"} and t.params["opt"] == 0
        else:
            assert set(t.params) == {"opt", "opt.beta1", "opt.beta2"} and t.params["opt"] == 1


def test_constraints_are_enforced_at_sampling_time():
    def divisible(c):
        return c["d_model"] % c["n_heads"] == 0

    space = hs.SearchSpace(
        {"d_model": hs.choice([96, 128, 256]), "n_heads": hs.choice([3, 8, 16])},
        constraints=[divisible],
    )
    _, configs = _sample_many(space, n=80)
    assert all(divisible(c) for c in configs)
    assert {(96, 3), (128, 8), (256, 16)} <= {(c["d_model"], c["n_heads"]) for c in configs}


def test_unsatisfiable_constraint_names_the_constraint():
    def never(c):
        return False

    space = hs.SearchSpace({"x": hs.uniform(0, 1)}, constraints=[never], max_attempts=20)
    study = hs.create_study()
    with pytest.raises(ConstraintError, match="never rejected 20"):
        study.optimize(space.objective(lambda c: 0.0), n_trials=1)
    (t,) = study.trials
    assert t.state == hs.TrialState.FAIL and "never rejected" in t.fail_reason


def test_constraint_that_raises_is_reported():
    space = hs.SearchSpace({"x": hs.uniform(0, 1)}, constraints=[lambda c: c["missing"] > 0])
    study = hs.create_study()
    with pytest.raises(ConstraintError, match="KeyError"):
        study.optimize(space.objective(lambda c: 0.0), n_trials=1)


def test_scipy_frozen_distributions():
    space = hs.SearchSpace(
        {
            "C": scipy.stats.loguniform(1e-4, 1.0),
            "u": scipy.stats.uniform(2, 3),
            "n": scipy.stats.randint(1, 5),
            "g": scipy.stats.norm(10, 2),
        }
    )
    study, configs = _sample_many(space, n=50)
    t = study.trials[0]
    assert t.distributions["C"] == FloatDistribution(1e-4, 1.0, log=True)
    assert t.distributions["u"] == FloatDistribution(2.0, 5.0)
    assert t.distributions["n"] == IntDistribution(1, 4)
    assert t.distributions["g"] == FloatDistribution(0.0, 1.0)  # searched by quantile
    gs = [c["g"] for c in configs]
    assert 8.0 < sum(gs) / len(gs) < 12.0
    assert all(1 <= c["n"] <= 4 for c in configs)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: hs.uniform(1, 0), "greater than high"),
        (lambda: hs.loguniform(0, 1), "log=True needs low > 0"),
        (lambda: hs.randint(3, 3), "exclusive"),
        (lambda: hs.choice([]), "at least one option"),
        (lambda: hs.choice(["a", "a"]), "duplicate"),
        (lambda: hs.quniform(0.1, 0.2, 1.0), "no multiple of q"),
    ],
)
def test_bad_domains_fail_at_definition(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_space_types():
    with pytest.raises(TypeError, match="must be a dict"):
        hs.SearchSpace([hs.uniform(0, 1)])
    with pytest.raises(ValueError, match="keys must be non-empty strings"):
        hs.SearchSpace({1: hs.uniform(0, 1)})
    with pytest.raises(TypeError, match="callables"):
        hs.SearchSpace({"x": hs.uniform(0, 1)}, constraints=[3])


def test_grid_axes_and_grid_search_over_declarative_space():
    space = hs.SearchSpace({"a": hs.grid([1, 2, 3]), "b": hs.grid(["x", "y"]), "c": hs.uniform(0, 1)})
    assert space.grid_axes() == {"a": [1, 2, 3], "b": ["x", "y"]}
    study = hs.create_study(sampler=hs.samplers.GridSampler(space.grid_axes(), seed=0))
    seen = []
    study.optimize(space.objective(lambda c: seen.append((c["a"], c["b"])) or c["c"]), n_trials=100)
    assert sorted(seen) == sorted((a, b) for a in (1, 2, 3) for b in ("x", "y"))


def test_enqueued_configuration_violating_constraint():
    space = hs.SearchSpace({"x": hs.randint(0, 10)}, constraints=[lambda c: c["x"] % 2 == 0])
    study = hs.create_study()
    study.enqueue_trial({"x": 3})
    study.optimize(space.objective(lambda c: float(c["x"])), n_trials=3)
    first, *rest = study.trials
    assert first.state == hs.TrialState.FAIL
    assert "enqueued configuration" in first.fail_reason
    assert [t.state for t in rest] == [hs.TrialState.COMPLETE] * 2
    assert all(t.params["x"] % 2 == 0 for t in rest)


@pytest.mark.parametrize(
    "sampler",
    [lambda: hs.samplers.RandomSampler(seed=0), lambda: hs.samplers.QMCSampler(seed=0)],
)
def test_conditional_space_with_constraint_under_each_sampler(sampler):
    space = hs.SearchSpace(
        {
            "d_model": hs.choice([128, 256, 512]),
            "n_heads": hs.choice([3, 4, 8, 16]),
            "opt": hs.choice([{"m": hs.uniform(0, 1)}, {"b": hs.loguniform(1e-3, 1)}]),
        },
        constraints=[lambda c: c["d_model"] % c["n_heads"] == 0],
    )
    study, configs = _sample_many(space, n=40, sampler=sampler())
    assert all(c["d_model"] % c["n_heads"] == 0 for c in configs)
    assert {tuple(c["opt"]) for c in configs} == {("m",), ("b",)}


def test_spaces_can_be_pickled_and_copied():
    import copy
    import pickle

    space = hs.SearchSpace({
        "a": hs.uniform(0, 1), "b": hs.loguniform(1e-3, 1), "c": hs.randint(1, 5), "d": hs.qrandint(1, 9, 2),
        "e": hs.quniform(0, 1, 0.1), "f": hs.lograndint(1, 100), "g": hs.choice([1, {"x": hs.uniform(0, 1)}]),
    })
    for clone in (pickle.loads(pickle.dumps(space)), copy.deepcopy(space)):
        s1 = hs.create_study(sampler=hs.samplers.RandomSampler(seed=3))
        s2 = hs.create_study(sampler=hs.samplers.RandomSampler(seed=3))
        assert space.sample(s1.ask()) == clone.sample(s2.ask())


def test_sample_from_resolves_chains_in_any_order_and_reports_cycles_and_errors():
    study = hs.create_study(seed=0)
    chain = hs.SearchSpace({
        "c": hs.sample_from(lambda s: s.config.b + 1),  # needs b, which needs a
        "b": hs.sample_from(lambda s: s.config.a * 2),
        "a": hs.randint(1, 5),
        "pair": (hs.sample_from(lambda s: -s.config.a), 0),
    })
    cfg = chain.sample(study.ask())
    assert cfg["b"] == 2 * cfg["a"] and cfg["c"] == cfg["b"] + 1
    assert cfg["pair"] == (-cfg["a"], 0)
    assert chain.check(cfg) == [] and chain.to_params(cfg) == {"a": cfg["a"]}

    cycle = hs.SearchSpace({"x": hs.sample_from(lambda s: s.config.y), "y": hs.sample_from(lambda s: s.config.x)})
    with pytest.raises(ValueError, match="cycle"):
        cycle.sample(study.ask())
    broken = hs.SearchSpace({"a": hs.uniform(0, 1), "z": hs.sample_from(lambda s: s.config.missing)})
    with pytest.raises(ValueError, match="'z' raised AttributeError"):
        broken.sample(study.ask())
    with pytest.raises(TypeError, match="callable"):
        hs.sample_from(3)


def test_sample_from_sees_the_tuples_of_the_space_as_tuples():
    study = hs.create_study(seed=0)
    space = hs.SearchSpace({
        "k": (1, 2),
        "a": hs.randint(1, 3),
        "same": hs.sample_from(lambda s: s.config.k == (1, 2)),
        "key": hs.sample_from(lambda s: {s.config.k: s.config.a}[(1, 2)]),
    })
    cfg = space.sample(study.ask())
    assert cfg["same"] is True and cfg["key"] == cfg["a"] and cfg["k"] == (1, 2)


def test_quantized_domains_follow_ray_tune():
    """qrandint draws multiples of q inside [low, high] (low need not be one);
    qloguniform is log-uniform, rounded to multiples of q."""
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    space = hs.SearchSpace({"n": hs.qrandint(5, 105, 10), "m": hs.qrandint(1, 100, 10),
                            "lr": hs.qloguniform(1e-4, 1e-1, 1e-4)})
    cfgs = []
    for _ in range(2000):
        t = study.ask()
        cfgs.append(space.sample(t))
        study.tell(t, 0.0)
    assert {c["n"] for c in cfgs} == set(range(10, 101, 10))
    assert {c["m"] for c in cfgs} == set(range(10, 101, 10))
    lrs = np.array([c["lr"] for c in cfgs])
    assert np.all(np.isclose(lrs / 1e-4, np.round(lrs / 1e-4))) and lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    # log-uniform: a third of the draws per decade (uniform would put 90 % in the top one)
    assert 0.6 < np.mean(lrs < 1e-2) < 0.73
    assert space.to_params({"n": 20, "m": 30, "lr": 0.0123})["lr"] == 0.0123
    with pytest.raises(ValueError, match="multiples of 0.0001"):
        space.to_params({"n": 20, "m": 30, "lr": 0.01234567})
    with pytest.raises(ValueError, match="no multiple of q=10"):
        hs.qrandint(11, 19, 10)
    with pytest.raises(ValueError, match="positive"):
        hs.qloguniform(0, 1, 0.5).distribution  # noqa: B018


def test_pbt_perturbs_qloguniform_values_on_their_grid():
    from hypersearch.schedulers import PopulationBasedTraining

    pbt = PopulationBasedTraining(metric="s", mode="max", hyperparam_mutations={"lr": hs.qloguniform(1e-4, 1e-1, 1e-4)},
                                  resample_probability=0.0, seed=0)
    rng = np.random.default_rng(0)
    seen = {pbt.explore({"lr": 1e-4}, rng)["lr"] for _ in range(20)}
    assert seen == {2e-4, 1e-4}  # up one multiple (x 1.2 rounds back), or clipped at the bottom
    assert pbt.explore({"lr": 0.05}, np.random.default_rng(1))["lr"] in (0.04, 0.06)


class _Act:
    pass


def _gelu(x):
    return x


def test_choices_and_grids_of_lists_dicts_and_objects_as_in_ray_tune():
    """hs.choice([[64, 64], [128]]) and hs.choice([nn.ReLU, nn.GELU]) are common Ray
    Tune spaces: such options are searched by index and the config gets the option."""
    space = hs.SearchSpace({"layers": hs.choice([[64, 64], [128]]), "act": hs.choice([_Act, _gelu]),
                            "opt": hs.choice([{"name": "sgd"}, {"name": "adam", "betas": [0.9, 0.99]}]),
                            "g": hs.grid_search([[1, 2], [3]])})
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    seen = []
    for _ in range(40):
        t = study.ask()
        seen.append(space.sample(t))
        study.tell(t, 0.0)
    assert {tuple(c["layers"]) for c in seen} == {(64, 64), (128,)}
    assert {c["act"] for c in seen} == {_Act, _gelu}
    assert {c["opt"]["name"] for c in seen} == {"sgd", "adam"}
    assert space.grid_axes() == {"g": [0, 1]}
    assert space.to_params({"layers": [128], "act": _gelu, "opt": {"name": "sgd"}, "g": [3]}) == {
        "layers": 1, "act": 1, "opt": 0, "g": 1}
    with pytest.raises(ValueError, match="matches none"):
        space.to_params({"layers": [32], "act": _gelu, "opt": {"name": "sgd"}, "g": [3]})
    # each trial gets its own copy of a list option; True is not 1; arrays compare element-wise
    seen[0]["layers"].append(0)
    assert space.config["layers"].options == [[64, 64], [128]]
    mixed = hs.SearchSpace({"a": hs.choice([1, True, [2]]), "w": hs.choice([np.zeros(2), np.ones(2)])})
    assert mixed.to_params({"a": True, "w": np.ones(2)}) == {"a": 1, "w": 1}
    assert mixed.to_params({"a": 1, "w": np.zeros(2)}) == {"a": 0, "w": 0}

    def train(config):
        assert isinstance(config["layers"], list)
        hs.report(loss=float(len(config["g"])))

    res = hs.tune(train, space, metric="loss", mode="min", num_samples=1)
    assert len(res.trials) == 2  # each grid point once
    assert res.best_config["g"] == [3] and res.best_config["act"] in (_Act, _gelu)
