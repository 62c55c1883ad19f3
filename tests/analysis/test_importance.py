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
