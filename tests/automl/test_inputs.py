"""Argument checks, the lazy scikit-learn import, the search space and the fidelity
plan: everything that needs no search (fast)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import hypersearch as hs
from hypersearch import automl
from hypersearch.automl import TaskContext
from hypersearch.automl._fidelity import _stratified_order

X = np.random.default_rng(0).normal(size=(60, 4))
Y = np.repeat([0, 1, 2], 20)


def test_import_does_not_load_sklearn():
    code = "import sys, hypersearch.automl; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_sklearn_gives_an_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r"pip install 'hypersearch\[sklearn\]'"):
        automl.fit(X, Y, n_trials=1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "clustering"}, "task"),
        ({"time_budget": -1}, "time_budget"),
        ({"time_budget": float("inf")}, "time_budget"),
        ({"time_budget": None, "n_trials": None}, "time_budget or n_trials"),
        ({"n_trials": 0}, "n_trials"),
        ({"cv": 1}, "cv"),
        ({"cv": 2.5}, "cv"),
        ({"families": ["rf", "xgboost"]}, r"families .*xgboost.*valid names"),
        ({"families": []}, "families is empty"),
        ({"seed": "a"}, "seed"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"metric": "no_such_metric"}, "metric"),
        ({"holdout": 1.5}, "holdout"),
        ({"multi_fidelity": "yes"}, "multi_fidelity"),
    ],
)
def test_invalid_arguments_name_the_parameter(kwargs, match):
    pytest.importorskip("sklearn")
    with pytest.raises(ValueError, match=match):
        automl.fit(X, Y, **{"n_trials": 1, **kwargs})


@pytest.mark.parametrize(
    ("x", "y", "task", "match"),
    [
        (X, Y[:-1], "classification", "different numbers of samples"),
        (X[:, 0], Y, "classification", "2-D"),
        (X, np.zeros(60), "classification", "single class"),
        (X, np.r_[Y[:-2], 7, 7], "classification", r"too few samples per class for cv=3.*7: 2"),
        (X, np.where(np.arange(60) < 5, np.nan, 1.0), "regression", "NaN"),
        (np.full((60, 2), np.inf), Y, "classification", "infinite"),
        (X, np.array(["a"] * 60, dtype=object), "regression", "numeric"),
        (X[:4], Y[:4], "regression", "too few samples"),
    ],
)
def test_invalid_data(x, y, task, match):
    pytest.importorskip("sklearn")
    with pytest.raises(ValueError, match=match):
        automl.fit(x, y, task=task, n_trials=1)


def test_rungs_follow_the_data_size():
    big = automl.plan_rungs(1200)
    assert big.fractions == pytest.approx((1 / 9, 1 / 3, 1.0)) and big.steps == (1, 3, 9)
    mid = automl.plan_rungs(100)
    assert mid.fractions == pytest.approx((1 / 3, 1.0)) and mid.steps == (3, 9)
    assert automl.plan_rungs(30).fractions == (1.0,)


def test_subsets_are_stratified_and_nested():
    codes = np.repeat([0, 1, 2], [100, 30, 5])
    order = _stratified_order(np.arange(len(codes)), codes, np.random.default_rng(0))
    assert sorted(order) == list(range(len(codes)))
    assert set(codes[order[:3]]) == {0, 1, 2}  # every class from the first rows on
    share = np.mean(codes[order[:45]] == 1)
    assert abs(share - 30 / 135) < 0.05


class _RecordingTrial:
    """Answers suggest_* with the lower bound / first choice and records the names."""

    def __init__(self, model):
        self.model = model
        self.names = []

    def suggest_categorical(self, name, choices):
        self.names.append(name)
        return self.model if name == "model" else choices[0]

    def suggest_float(self, name, low, high, *, step=None, log=False):
        self.names.append(name)
        return low

    def suggest_int(self, name, low, high, step=1, log=False):
        self.names.append(name)
        return low


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_space_is_conditional_and_defaults_are_inside_it(task):
    ctx = TaskContext(task, n_features=8, n_classes=3 if task == "classification" else 0)
    for fam in automl.FAMILY_NAMES:
        t = _RecordingTrial(fam)
        params = automl.suggest_config(t, ctx)
        assert all(n == "model" or n.startswith(fam + ".") for n in t.names)
        assert set(params) == set(t.names)
    study = hs.create_study(direction="maximize")
    for params in automl.default_configs(ctx):
        study.enqueue_trial(params)
    for params in automl.default_configs(ctx):
        trial = study.ask()
        assert automl.suggest_config(trial, ctx) == params  # every default lies in the space
        study.tell(trial, 0.0)


def test_every_default_pipeline_builds():
    pytest.importorskip("sklearn")
    for task in ("classification", "regression"):
        ctx = TaskContext(task, n_features=4, n_classes=3 if task == "classification" else 0)
        for params in automl.default_configs(ctx):
            pipe = automl.build_pipeline(params, ctx)
            assert list(pipe.named_steps)[-1] == "model"
            assert ("scale" in pipe.named_steps) == automl.FAMILIES[params["model"]].scale_sensitive


def test_the_space_works_with_an_optuna_trial():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ctx = TaskContext("classification", n_features=4, n_classes=2)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: len(automl.suggest_config(t, ctx, ["svm", "rf"])), n_trials=10)
    for t in study.trials:
        assert all(k == "model" or k.startswith(t.params["model"] + ".") for k in t.params)


def test_the_task_follows_the_target_unless_given():
    """Floats (other than a few whole numbers) and mostly distinct integers are
    regression targets; labels are classes (before, a regression target failed
    with 'too few samples per class')."""
    from hypersearch.automl._data import check_task

    rng = np.random.default_rng(0)
    assert check_task("auto", rng.random(60)) == "regression"
    assert check_task("auto", np.round(rng.random(60) * 300)) == "regression"  # whole-number floats, many values
    assert check_task("auto", np.arange(60)) == "regression"  # integers, all distinct
    assert check_task("auto", Y) == "classification"
    assert check_task("auto", Y.astype(float)) == "classification"  # labels stored as floats
    assert check_task("auto", np.array(["a", "b"] * 30)) == "classification"
    assert check_task("regression", Y) == "regression"
