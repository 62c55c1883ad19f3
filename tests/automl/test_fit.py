"""automl.fit end to end on small bundled data sets (a few seconds each)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import hypersearch as hs  # noqa: E402
from hypersearch import automl  # noqa: E402
from hypersearch.automl import _families  # noqa: E402


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def wine_result(wine):
    X_tr, _, y_tr, _ = wine
    return automl.fit(X_tr, y_tr, n_trials=16, time_budget=None, seed=0)


@pytest.fixture(scope="module")
def cancer_small():
    X, y = load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(0).choice(len(y), 240, replace=False)
    return X[idx], y[idx]


def test_returns_a_fitted_pipeline_that_generalises(wine, wine_result):
    _, X_te, _, y_te = wine
    res = wine_result
    assert res.task == "classification" and res.metric == "accuracy"
    assert res.score(X_te, y_te) > 0.9
    assert (res.predict(X_te) == res.best_pipeline.predict(X_te)).all()
    assert res.best_score == pytest.approx(res.study.trials[res.best_trial].value)
    assert res.best_family in res.family_scores
    assert res.best_score == pytest.approx(max(res.family_scores.values()))
    assert "best:" in res.summary() and res.best_family in repr(res)


def test_leaderboard_covers_several_families_best_first(wine_result):
    board = wine_result.leaderboard
    assert len(board) == 16
    assert [r["rank"] for r in board] == list(range(1, 17))
    assert len({r["family"] for r in board}) >= 4
    assert len(wine_result.family_scores) >= 4
    complete = [r["score"] for r in board if r["state"] == "COMPLETE"]
    assert complete == sorted(complete, reverse=True)
    assert board[0]["trial"] == wine_result.best_trial
    defaults = [r for r in board if "default configuration" in r["note"]]
    assert {r["family"] for r in defaults} == set(automl.FAMILY_NAMES)
    frame = wine_result.leaderboard_frame()
    assert {"family", "state", "score", "fidelity", "params"} <= set(frame.columns)


def test_conditional_parameters_belong_to_the_chosen_family(wine_result):
    for t in wine_result.study.trials:
        fam = t.params["model"]
        others = [k for k in t.params if k != "model" and not k.startswith(fam + ".")]
        assert others == [], t.params
        if fam == "svm":
            assert ("svm.gamma" in t.params) == (t.params["svm.kernel"] == "rbf")
    assert all(
        k == "model" or k.startswith(wine_result.best_family + ".") for k in wine_result.best_params
    )


def test_multi_fidelity_prunes_poor_configurations(wine_result):
    study = wine_result.study
    assert wine_result.fidelities[-1] == 1.0 and len(wine_result.fidelities) >= 2
    pruned = study.get_trials(["PRUNED"])
    assert pruned, "ASHA should stop some configurations at a small data fraction"
    full_step = max(max(t.intermediate_values) for t in study.trials if t.intermediate_values)
    for t in pruned:
        assert t.user_attrs.get("automl_default") is None  # defaults always run to the end
        assert t.intermediate_values and max(t.intermediate_values) < full_step


def test_regression_on_diabetes_with_holdout():
    X, y = load_diabetes(return_X_y=True)
    res = automl.fit(
        X[:300],
        y[:300],
        task="regression",
        n_trials=8,
        time_budget=None,
        seed=1,
        holdout=0.25,
        families=["linear", "knn", "svm", "hgb"],
    )
    assert res.metric == "r2"
    assert res.best_score > 0.3
    assert res.holdout_score is not None and res.holdout_score > 0.2
    assert res.study.test_evaluations[0]["trial"] == res.best_trial
    assert res.predict(X[300:]).shape == (len(y) - 300,)
    assert set(res.family_scores) == {"linear", "knn", "svm", "hgb"}


def test_families_restricts_the_search(cancer_small):
    X, y = cancer_small
    res = automl.fit(X, y, families=["rf", "linear"], n_trials=4, time_budget=None, seed=0)
    assert {t.params["model"] for t in res.study.trials} <= {"rf", "linear"}
    assert set(res.family_scores) == {"rf", "linear"}


def test_same_seed_gives_the_same_configurations(cancer_small):
    X, y = cancer_small
    kw = dict(families=["linear", "knn", "svm"], n_trials=10, time_budget=None, seed=3)
    a = automl.fit(X, y, **kw)
    b = automl.fit(X, y, **kw)
    assert [t.params for t in a.study.trials] == [t.params for t in b.study.trials]
    assert a.best_params == b.best_params and a.best_score == b.best_score


def test_failing_configurations_are_recorded_not_raised(cancer_small, monkeypatch):
    def broken(params, ctx):
        raise ValueError("solver cannot handle this penalty")

    knn = _families.FAMILIES["knn"]
    monkeypatch.setitem(_families.FAMILIES, "knn", dataclasses.replace(knn, build=broken))
    X, y = cancer_small
    res = automl.fit(X, y, families=["linear", "knn"], n_trials=6, time_budget=None, seed=0)
    failed = [r for r in res.leaderboard if r["state"] == "FAIL"]
    assert failed and all(r["family"] == "knn" for r in failed)
    assert all("solver cannot handle this penalty" in r["note"] for r in failed)
    assert res.best_family == "linear"
    assert res.leaderboard[-1]["state"] == "FAIL"  # failures rank last

    with pytest.raises(RuntimeError, match="solver cannot handle"):
        automl.fit(X, y, families=["knn"], n_trials=2, time_budget=None)


def test_time_budget_is_respected(cancer_small):
    X, y = cancer_small
    budget = 2.0
    start = time.monotonic()
    res = automl.fit(X, y, time_budget=budget, seed=0)
    took = time.monotonic() - start
    assert took < 3 * budget + 15  # generous: the last fit and the refit come on top
    assert res.elapsed_s <= took
    assert res.leaderboard  # something was evaluated


def test_dataframe_with_categorical_and_missing_values():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 150
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(size=n)
    size[rng.random(n) < 0.1] = np.nan
    y = np.where(colour == "red", "yes", "no")
    X = pd.DataFrame({"colour": colour, "size": size, "noise": rng.normal(size=n)})
    X.loc[rng.random(n) < 0.05, "colour"] = None
    res = automl.fit(X, y, families=["linear", "hgb"], n_trials=4, time_budget=None, seed=0)
    assert res.best_score > 0.85
    new = pd.DataFrame({"colour": ["red", "purple"], "size": [np.nan, 0.1], "noise": [0.0, 0.0]})
    assert list(res.predict(new)) == ["yes", "no"]


def test_parallel_trials_in_threads(cancer_small):
    X, y = cancer_small
    res = automl.fit(
        X, y, families=["linear", "knn"], n_trials=6, time_budget=None, n_jobs=2, seed=0
    )
    assert len(res.study.trials) == 6
    assert all(t.state.is_finished() for t in res.study.trials)


def test_probabilities_follow_the_metric(cancer_small):
    X, y = cancer_small
    res = automl.fit(X, y, families=["svm"], n_trials=1, time_budget=None, seed=0)
    with pytest.raises(AttributeError, match="no class probabilities"):
        res.predict_proba(X)
    res = automl.fit(
        X, y, families=["svm"], n_trials=1, time_budget=None, seed=0, metric="neg_log_loss"
    )
    proba = res.predict_proba(X)
    assert proba.shape == (len(y), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert res.best_score < 0  # a negated loss


def test_study_in_storage_is_continued(cancer_small, tmp_path):
    X, y = cancer_small
    url = f"sqlite:///{tmp_path}/automl.db"
    kw = dict(families=["linear"], time_budget=None, seed=0, storage=url, study_name="bc")
    automl.fit(X, y, n_trials=2, **kw)
    res = automl.fit(X, y, n_trials=2, **kw)
    study = hs.load_study("bc", url)
    assert len(study.trials) == 4 and len(res.leaderboard) == 4
    assert study.user_attrs["automl"]["task"] == "classification"
    with pytest.raises(ValueError, match="study_name"):
        automl.fit(X, y.astype(float), task="regression", n_trials=1, **kw)


def test_out_of_time_trials_stop_unless_a_result_is_owed(cancer_small):
    from hypersearch.automl._data import check_data
    from hypersearch.automl._fidelity import CVEvaluator, make_folds, plan_rungs
    from hypersearch.automl._metrics import resolve_metric

    X, y = cancer_small
    data = check_data(X, y, "classification", 3)
    folds = make_folds(data, 3, 0)
    rungs = plan_rungs(len(folds[0].train))
    assert len(rungs) >= 2
    ev = CVEvaluator(
        data,
        folds,
        rungs,
        resolve_metric(None, "classification", data.codes),
        automl.TaskContext("classification", data.n_features, 2),
    )
    params = automl.default_configs(ev.ctx, ["linear"])[0]
    study = hs.create_study(direction="maximize")

    owed = study.ask()  # nothing evaluated on the full data yet: jump to the full data
    value = ev.run(owed, params, out_of_time=lambda: True, owed=lambda: True)
    assert owed.intermediate_values == {rungs.steps[-1]: value}
    assert owed.user_attrs["skipped_rungs"] is True
    study.tell(owed, value)

    late = study.ask()  # a result exists: stop at once
    with pytest.raises(hs.TrialPruned):
        ev.run(late, params, out_of_time=lambda: True, owed=lambda: False)
    assert late.user_attrs["stopped"] == "time budget" and not late.intermediate_values
