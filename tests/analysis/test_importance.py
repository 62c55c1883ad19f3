"""Importance on functions whose variance decomposition is known analytically."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

import hypersearch as hs  # noqa: E402


def _study(fn, n=300, seed=0, names=("a", "b", "c")):
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=seed))
    study.optimize(lambda t: fn(*[t.suggest_float(k, 0, 1) for k in names]), n_trials=n)
    return study


def test_fanova_recovers_an_additive_decomposition():
    """f = 4a + 2b + 0c on the unit cube: Var = 16/12 + 4/12, so the shares are
    0.8 (a), 0.2 (b), 0 (c), and no interactions."""
    imp = hs.analysis.importance(_study(lambda a, b, c: 4 * a + 2 * b), n_trees=32)
    assert list(imp)[:2] == ["a", "b"]
    assert imp["a"] == pytest.approx(0.8, abs=0.08)
    assert imp["b"] == pytest.approx(0.2, abs=0.06)
    assert imp["c"] < 0.02
    assert max(imp.interactions.values()) < 0.05
    assert set(imp.std) == {"a", "b", "c"}


def test_fanova_sees_a_pure_interaction():
    """f = (a - 0.5)(b - 0.5): no main effects, all variance in the a x b interaction."""
    imp = hs.analysis.importance(_study(lambda a, b, c: (a - 0.5) * (b - 0.5), n=400), n_trees=32)
    assert max(imp.values.values()) < 0.15
    top = next(iter(imp.interactions))
    assert top == "a x b" and imp.interactions[top] > 0.6


@pytest.mark.parametrize("method", ["permutation", "ped-anova"])
def test_other_methods_rank_the_important_parameter_first(method):
    imp = hs.analysis.importance(_study(lambda a, b, c: (a - 0.3) ** 2 * 10 + 0.1 * b), method=method)
    assert next(iter(imp)) == "a"
    assert imp["a"] > imp["c"]


def test_conditional_parameters_and_errors():
    def objective(t):
        opt = t.suggest_categorical("opt", ["sgd", "adam"])
        lr = t.suggest_float("lr", 1e-4, 1e-1, log=True)
        if opt == "adam":
            return abs(np.log10(lr) + 3) + t.suggest_float("beta", 0.8, 0.99)
        return abs(np.log10(lr) + 2) + 1.0

    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=150)
    imp = hs.analysis.importance(study)
    assert set(imp) == {"opt", "lr", "beta"} and next(iter(imp)) == "lr"
    with pytest.raises(ValueError, match="unknown parameter"):
        hs.analysis.importance(study, params=["nope"])
    with pytest.raises(ValueError, match="method"):
        hs.analysis.importance(study, method="shap")
    mo = hs.create_study(directions=["minimize", "minimize"])
    mo.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=5)
    with pytest.raises(ValueError, match="target"):
        hs.analysis.importance(mo)
    assert "x" in hs.analysis.importance(mo, target=lambda t: t.values[0])
    with pytest.raises(ValueError, match="at least 2"):
        hs.analysis.importance(hs.create_study())


def test_categorical_importance_ignores_choice_order_and_handles_dynamic_choices():
    """A categorical's codes give every category an equal share, whatever its place
    in the list (before, the end categories had half the width, and the share
    moved from 0.87 to 0.91 with the order); choices that depend on another
    parameter are encoded over all of them (before, those outside the first list
    seen were taken for 'not suggested')."""
    rng = np.random.default_rng(0)
    rows = [(int(rng.integers(4)), float(rng.random())) for _ in range(300)]
    names = ["sgd", "adam", "rmsprop", "adagrad"]

    def share(order):
        st = hs.create_study()
        dists = {"opt": hs.CategoricalDistribution(order), "x": hs.FloatDistribution(0, 1)}
        for i, x in rows:
            st.add_trial({"opt": names[i], "x": x}, (1.0 if names[i] == "adam" else 0.0) + 0.5 * x,
                         distributions=dists)
        return hs.analysis.importance(st, "fanova", interactions=False).values["opt"]

    shares = [share(o) for o in (["adam", "sgd", "rmsprop", "adagrad"], ["sgd", "adam", "rmsprop", "adagrad"],
                                 ["sgd", "rmsprop", "adagrad", "adam"])]
    assert max(shares) - min(shares) < 0.01 and abs(shares[0] - 0.90) < 0.03

    dynamic, static = hs.create_study(), hs.create_study()
    for _ in range(200):
        family = ["a", "b"][int(rng.integers(2))]
        acts = ["relu", "tanh"] if family == "a" else ["gelu", "silu"]
        act = acts[int(rng.integers(2))]
        noise = float(rng.random())
        value = (1.0 if act == "silu" else 0.0) + 0.01 * noise
        dynamic.add_trial({"family": family, "act": act, "noise": noise}, value, distributions={
            "family": hs.CategoricalDistribution(["a", "b"]), "act": hs.CategoricalDistribution(acts),
            "noise": hs.FloatDistribution(0, 1)})
        static.add_trial({"family": family, "act": act, "noise": noise}, value, distributions={
            "family": hs.CategoricalDistribution(["a", "b"]),
            "act": hs.CategoricalDistribution(["relu", "tanh", "gelu", "silu"]), "noise": hs.FloatDistribution(0, 1)})
    dyn = hs.analysis.importance(dynamic, "fanova").values
    assert max(dyn, key=dyn.get) == "act" and dyn["noise"] < 0.05
    assert dyn["act"] == pytest.approx(hs.analysis.importance(static, "fanova").values["act"], abs=0.02)


def test_ped_anova_target_direction():
    """PED-ANOVA looks at the good end of the target: an objective index takes its
    own direction; a function is minimised unless target_direction says otherwise."""
    study = hs.create_study(directions=["minimize", "maximize"], sampler=hs.samplers.RandomSampler(seed=0))

    def objective(t):
        a, b = t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1)
        return b, (a if a > 0.8 else 0.0)  # accuracy is high only for a > 0.8

    study.optimize(objective, n_trials=200)
    by_index = hs.analysis.importance(study, "ped-anova", target=1).values
    assert max(by_index, key=by_index.get) == "a"
    by_fn = hs.analysis.importance(study, "ped-anova", target=lambda t: t.values[1], target_direction="maximize")
    assert by_fn.values == pytest.approx(by_index)
    with pytest.raises(ValueError, match="target_direction must be"):
        hs.analysis.importance(study, "ped-anova", target=1, target_direction="up")
    with pytest.raises(ValueError, match="target=5 is no objective index"):
        hs.analysis.importance(study, "ped-anova", target=5)


def test_a_categorical_whose_first_trial_had_one_choice_is_still_assessed():
    study = hs.create_study()
    rng = np.random.default_rng(0)
    study.add_trial({"c": "a", "x": 0.5}, 0.0, distributions={
        "c": hs.CategoricalDistribution(["a"]), "x": hs.FloatDistribution(0, 1)})
    for _ in range(60):
        c, x = ["a", "b", "c"][int(rng.integers(3))], float(rng.random())
        study.add_trial({"c": c, "x": x}, (1.0 if c == "c" else 0.0) + 1e-3 * x, distributions={
            "c": hs.CategoricalDistribution(["a", "b", "c"]), "x": hs.FloatDistribution(0, 1)})
    values = hs.analysis.importance(study, "fanova").values
    assert max(values, key=values.get) == "c"


@pytest.mark.parametrize("method", ["fanova", "permutation", "ped-anova"])
def test_known_points_added_without_distributions_use_the_searched_scale(method):
    """Earlier results added with ``add_trial`` (one-value categoricals) are encoded
    on the searched parameters' scale; before, one such trial made every parameter
    look single-valued, and two made ``a`` and ``b`` equally important."""
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.add_trial({"a": 0.5, "b": 0.5}, 5.05)
    study.add_trial({"a": 0.2, "b": 0.9}, 2.09)
    study.optimize(lambda t: 10 * t.suggest_float("a", 0, 1) + 0.1 * t.suggest_float("b", 0, 1), n_trials=80)
    imp = hs.analysis.importance(study, method=method)
    assert imp["a"] > 10 * imp["b"]
