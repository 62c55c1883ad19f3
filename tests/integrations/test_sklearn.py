"""HyperSearchCV: a scikit-learn search estimator backed by a hypersearch study."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
scipy_stats = pytest.importorskip("scipy.stats")

from sklearn.base import BaseEstimator, ClassifierMixin, clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.exceptions import FitFailedWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.model_selection import GroupKFold, KFold  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import hypersearch as hs  # noqa: E402
from hypersearch.integrations.sklearn import HyperSearchCV  # noqa: E402
from hypersearch.samplers import RandomSampler  # noqa: E402
from hypersearch.schedulers import ASHA, MedianStoppingRule  # noqa: E402

CANCER_X, CANCER_Y = load_breast_cancer(return_X_y=True)
DIGITS_X, DIGITS_Y = load_digits(return_X_y=True)
DIGITS_X, DIGITS_Y = DIGITS_X[:500] / 16.0, DIGITS_Y[:500]


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small fits are faster on one BLAS thread, the more so on a busy machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


def _logreg_pipeline() -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(solver="liblinear"))


def test_fit_logistic_regression_on_breast_cancer():
    search = HyperSearchCV(
        _logreg_pipeline(),
        {"logisticregression__C": hs.loguniform(1e-3, 1e2)},
        n_trials=5,
        cv=3,
        random_state=0,
    )
    assert search.fit(CANCER_X, CANCER_Y) is search
    C = search.best_params_["logisticregression__C"]
    assert set(search.best_params_) == {"logisticregression__C"} and 1e-3 <= C <= 1e2
    assert 0.9 < search.best_score_ <= 1.0
    assert search.best_estimator_.get_params()["logisticregression__C"] == C
    assert search.refit_time_ > 0 and search.n_splits_ == 3 and search.multimetric_ is False
    assert search.predict(CANCER_X[:7]).shape == (7,)
    assert search.predict_proba(CANCER_X[:7]).shape == (7, 2)
    assert search.decision_function(CANCER_X[:7]).shape == (7,)
    assert list(search.classes_) == [0, 1]
    assert search.n_features_in_ == 30
    assert search.score(CANCER_X, CANCER_Y) > 0.9
    assert isinstance(search.study_, hs.Study) and len(search.study_.trials) == 5
    assert search.best_trial_.params["logisticregression__C"] == C

    res = search.cv_results_
    for key in ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time",
                "mean_test_score", "std_test_score", "rank_test_score",
                "split0_test_score", "split2_test_score", "param_logisticregression__C"):
        assert res[key].shape == (5,), key
    assert len(res["params"]) == 5 and "split3_test_score" not in res
    assert isinstance(res["param_logisticregression__C"], np.ma.MaskedArray)
    assert res["params"][search.best_index_] == search.best_params_
    assert res["rank_test_score"][search.best_index_] == 1
    assert res["mean_test_score"][search.best_index_] == pytest.approx(search.best_score_)
    splits = np.column_stack([res[f"split{k}_test_score"] for k in range(3)])
    np.testing.assert_allclose(splits.mean(axis=1), res["mean_test_score"])
    assert list(res["state"]) == ["COMPLETE"] * 5


def test_svc_on_digits_with_categorical_list_and_named_scoring():
    search = HyperSearchCV(
        SVC(),
        {"C": hs.loguniform(1e-1, 1e2), "gamma": hs.loguniform(1e-3, 1e-1), "kernel": ["rbf", "poly"]},
        n_trials=4,
        cv=3,
        scoring="accuracy",
        sampler=RandomSampler(seed=1),
    )
    search.fit(DIGITS_X, DIGITS_Y)
    assert search.best_params_["kernel"] in ("rbf", "poly")
    assert set(search.cv_results_["param_kernel"]) <= {"rbf", "poly"}
    assert search.best_score_ > 0.5
    assert not hasattr(search, "predict_proba")  # SVC(probability=False) has none
    assert search.predict(DIGITS_X[:3]).shape == (3,)


def test_random_forest_with_train_scores_and_fixed_values():
    X, y = load_wine(return_X_y=True)
    search = HyperSearchCV(
        RandomForestClassifier(random_state=0),
        {"max_depth": hs.randint(1, 6), "min_samples_leaf": [1, 3], "n_estimators": 8},
        n_trials=3,
        cv=3,
        return_train_score=True,
        random_state=0,
    )
    search.fit(X, y)
    res = search.cv_results_
    assert {"split0_train_score", "mean_train_score", "std_train_score"} <= set(res)
    assert np.all(res["mean_train_score"] >= res["mean_test_score"] - 0.05)
    assert 1 <= search.best_params_["max_depth"] <= 5
    assert search.best_params_["n_estimators"] == 8  # constants are set on every candidate
    assert search.best_estimator_.n_estimators == 8


def test_regression_on_diabetes_and_estimators_as_choices():
    X, y = load_diabetes(return_X_y=True)
    search = HyperSearchCV(Ridge(), {"alpha": scipy_stats.loguniform(1e-3, 1e1)}, n_trials=3, cv=3,
                           scoring="r2", random_state=0)
    search.fit(X, y)
    assert search.best_score_ > 0.3 and not hasattr(search, "classes_")

    # an hs.SearchSpace brings constraints, enforced before a candidate is evaluated
    space = hs.SearchSpace({"alpha": hs.uniform(0.0, 10.0)}, constraints=[lambda c: c["alpha"] > 8])
    search = HyperSearchCV(Ridge(), space, n_trials=3, cv=2, sampler=RandomSampler(seed=0))
    search.fit(X, y)
    assert all(p["alpha"] > 8 for p in search.cv_results_["params"])

    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    space = {"clf": [LogisticRegression(solver="liblinear"), DecisionTreeClassifier(max_depth=3)]}
    search = HyperSearchCV(pipe, space, n_trials=4, cv=3, sampler=RandomSampler(seed=0))
    search.fit(CANCER_X, CANCER_Y)
    assert type(search.best_params_["clf"]) in (LogisticRegression, DecisionTreeClassifier)
    assert search.cv_results_["param_clf"].dtype == object
    # the search's candidates are clones: the objects in the space are never fitted
    assert not hasattr(space["clf"][0], "coef_")


def test_scipy_distributions_are_recorded_as_sampled():
    search = HyperSearchCV(Ridge(), {"alpha": scipy_stats.expon(scale=2.0)}, n_trials=3, cv=2,
                           random_state=0)
    search.fit(*load_diabetes(return_X_y=True))
    for params, t in zip(search.cv_results_["params"], search.study_.trials):
        # the value the objective used (stored by the space) is the one reported
        assert params == t.user_attrs["config"] and params["alpha"] > 0


def _median_pruning_search(**kw) -> HyperSearchCV:
    return HyperSearchCV(
        _logreg_pipeline(),
        # half of this range underfits badly (C < 1e-4 predicts the majority class)
        {"logisticregression__C": hs.loguniform(1e-7, 1e2)},
        n_trials=14,
        cv=KFold(5, shuffle=True, random_state=0),
        sampler=RandomSampler(seed=3),
        **kw,
    )


def test_a_scheduler_prunes_poor_configurations_between_folds():
    search = _median_pruning_search(scheduler=MedianStoppingRule(n_startup_trials=3))
    search.fit(CANCER_X, CANCER_Y)
    res = search.cv_results_
    pruned = res["state"] == "PRUNED"
    assert pruned.sum() > 0
    assert np.all(res["n_evaluated_folds"][pruned] < 5)
    assert np.all(np.isnan(res["split4_test_score"][pruned]))  # folds never evaluated
    assert not np.any(np.isnan(res["split0_test_score"]))
    # ranks: complete trials first, and the best one is fully cross-validated
    assert res["state"][search.best_index_] == "COMPLETE"
    assert res["rank_test_score"][pruned].min() > (~pruned).sum()
    pruned_trials = search.study_.get_trials(states=["PRUNED"])
    assert len(pruned_trials) == pruned.sum()
    assert all(len(t.intermediate_values) < 5 for t in pruned_trials)


def test_asha_over_folds():
    search = _median_pruning_search(scheduler=ASHA(max_t=4, grace_period=1, reduction_factor=2))
    search.fit(CANCER_X, CANCER_Y)
    assert (search.cv_results_["state"] == "PRUNED").sum() > 0
    assert search.best_score_ > 0.95


def test_clone_and_reproducibility():
    search = _median_pruning_search(scheduler=MedianStoppingRule(n_startup_trials=3))
    search.set_params(n_trials=6, sampler=None, random_state=7)
    twin = clone(search)
    assert twin is not search and twin.scheduler is not search.scheduler
    assert type(twin.scheduler) is MedianStoppingRule
    assert twin.get_params()["n_trials"] == 6 and not hasattr(twin, "cv_results_")
    search.fit(CANCER_X, CANCER_Y)
    twin.fit(CANCER_X, CANCER_Y)
    assert twin.cv_results_["params"] == search.cv_results_["params"]
    np.testing.assert_array_equal(twin.cv_results_["split0_test_score"],
                                  search.cv_results_["split0_test_score"])
    # fitting again gives the same search: nothing carried over from the first fit
    first = search.cv_results_["params"]
    assert search.fit(CANCER_X, CANCER_Y).cv_results_["params"] == first
    other = clone(search).set_params(random_state=8).fit(CANCER_X, CANCER_Y)
    assert other.cv_results_["params"] != first


def test_inside_a_pipeline_and_with_groups_and_sample_weight():
    pipe = make_pipeline(StandardScaler(), HyperSearchCV(LogisticRegression(solver="liblinear"),
                                                         {"C": hs.loguniform(1e-2, 1e2)},
                                                         n_trials=2, cv=2, random_state=0))
    pipe.fit(CANCER_X, CANCER_Y)
    assert pipe.score(CANCER_X, CANCER_Y) > 0.9

    groups = np.arange(len(CANCER_Y)) % 4
    search = HyperSearchCV(_logreg_pipeline(), {"logisticregression__C": [0.1, 1.0]}, n_trials=2,
                           cv=GroupKFold(n_splits=4), random_state=0)
    weights = np.ones(len(CANCER_Y))
    search.fit(CANCER_X, CANCER_Y, groups=groups, logisticregression__sample_weight=weights)
    assert search.n_splits_ == 4


class _Flaky(ClassifierMixin, BaseEstimator):
    """Fails to fit when ``fail`` is true (tests of error_score)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def fit(self, X, y):
        if self.fail:
            raise ValueError("deliberate failure")
        self.classes_ = np.unique(y)
        self.majority_ = np.bincount(y).argmax()
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def test_error_score():
    X, y = CANCER_X, CANCER_Y
    search = HyperSearchCV(_Flaky(), {"fail": [False, True]}, n_trials=6, cv=2,
                           sampler=RandomSampler(seed=0))
    with pytest.warns(FitFailedWarning, match="deliberate failure"):
        search.fit(X, y)
    res = search.cv_results_
    failed = res["state"] == "FAIL"
    assert failed.any() and (~failed).any()
    assert np.all(np.isnan(res["mean_test_score"][failed]))
    assert search.best_params_ == {"fail": False}
    assert "deliberate failure" in search.study_.get_trials(states=["FAIL"])[0].fail_reason

    search.set_params(error_score=0.0)
    with pytest.warns(FitFailedWarning):
        search.fit(X, y)
    assert not (search.cv_results_["state"] == "FAIL").any()
    assert np.nanmin(search.cv_results_["mean_test_score"]) == 0.0

    search.set_params(error_score="raise")
    with pytest.raises(ValueError, match="deliberate failure"):
        search.fit(X, y)

    search = HyperSearchCV(_Flaky(), {"fail": [True]}, n_trials=2, cv=2)
    with pytest.warns(FitFailedWarning), pytest.raises(ValueError, match="no trial was fully"):
        search.fit(X, y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_trials": 0}, "n_trials must be a positive integer"),
        ({"param_distributions": {"nope": [1, 2]}}, "'nope', which is not a parameter of LogisticRegression"),
        ({"param_distributions": {}}, "param_distributions is empty"),
        ({"param_distributions": {"C": []}}, r"param_distributions\['C'\] is an empty list"),
        ({"param_distributions": [{"C": [1.0]}]}, "param_distributions must be a dict"),
        ({"scoring": ["accuracy", "f1"]}, "multi-metric scoring is not supported"),
        ({"refit": "accuracy"}, "refit must be True or False"),
        ({"error_score": "ignore"}, "error_score must be a number or 'raise'"),
        ({"n_jobs": 0}, "n_jobs must be a positive integer or -1"),
        ({"timeout": -1}, "timeout must be a positive number"),
        ({"sampler": "tpe"}, "sampler must be a hypersearch sampler"),
        ({"study": {"direction": "minimize"}}, "study: direction='minimize' is not allowed"),
    ],
)
def test_invalid_parameters_are_clear_errors(params, match):
    kw = {"param_distributions": {"C": hs.loguniform(0.1, 1.0)}, "n_trials": 2, "cv": 2}
    kw.update(params)
    search = HyperSearchCV(LogisticRegression(), **kw)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        search.fit(CANCER_X, CANCER_Y)


def test_study_object_and_persistent_study(tmp_path):
    study = hs.create_study(direction="maximize", sampler=RandomSampler(seed=0))
    with pytest.raises(ValueError, match="brings its own sampler"):
        HyperSearchCV(LogisticRegression(), {"C": [1.0]}, study=study,
                      sampler=RandomSampler()).fit(CANCER_X, CANCER_Y)
    with pytest.raises(ValueError, match="must maximise"):
        HyperSearchCV(LogisticRegression(), {"C": [1.0]},
                      study=hs.create_study()).fit(CANCER_X, CANCER_Y)

    spec = {"storage": f"sqlite:///{tmp_path}/hs.db", "study_name": "cv", "load_if_exists": True}
    search = HyperSearchCV(_logreg_pipeline(), {"logisticregression__C": hs.loguniform(1e-2, 1e1)},
                           n_trials=3, cv=2, study=spec, random_state=0)
    search.fit(CANCER_X, CANCER_Y)
    clone(search).fit(CANCER_X, CANCER_Y)  # the same persistent study, continued
    assert len(hs.load_study("cv", spec["storage"]).trials) == 6
    assert len(search.cv_results_["params"]) == 3  # only the trials of its own fit
    assert search.study_name_ == "cv"


def test_pickle_a_fitted_search_with_domains_and_a_scheduler():
    search = HyperSearchCV(_logreg_pipeline(), {"logisticregression__C": hs.loguniform(1e-2, 1e1)},
                           n_trials=2, cv=2, scheduler=MedianStoppingRule(), random_state=0)
    search.fit(CANCER_X, CANCER_Y)
    back = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(back.predict(CANCER_X), search.predict(CANCER_X))
    assert back.study_ is None and back.best_params_ == search.best_params_
    assert isinstance(back.scheduler, MedianStoppingRule)
    assert back.fit(CANCER_X, CANCER_Y).best_params_ == search.best_params_


def test_refit_false_and_verbose(capsys):
    search = HyperSearchCV(_logreg_pipeline(), {"logisticregression__C": [0.1, 1.0]}, n_trials=2,
                           cv=2, refit=False, verbose=1, random_state=0)
    search.fit(CANCER_X, CANCER_Y)
    assert "[HyperSearchCV] trial 1 COMPLETE" in capsys.readouterr().out
    assert not hasattr(search, "best_estimator_") and not hasattr(search, "predict")
    with pytest.raises(AttributeError, match="refit=False"):
        search.score(CANCER_X, CANCER_Y)
    assert search.best_params_["logisticregression__C"] in (0.1, 1.0)


def test_import_error_message_names_the_extra(monkeypatch):
    import builtins
    import importlib
    import sys

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "hypersearch.integrations.sklearn")
    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r"pip install 'hypersearch\[sklearn\]'"):
        importlib.import_module("hypersearch.integrations.sklearn")


# The scikit-learn estimator checks.  Every check applicable to a classifier passes;
# none has to be skipped (scikit-learn's own searches xfail check_supervised_y_2d and
# check_requires_y_none, which HyperSearchCV passes: it delegates its tags to the
# wrapped estimator and fails gracefully when a required y is missing).  A scipy
# distribution is used in the space because the checks hash parameters with joblib,
# which cannot hash hs domains (see the note in the test below).
@parametrize_with_checks(
    [
        HyperSearchCV(LogisticRegression(), {"C": scipy_stats.loguniform(0.1, 10.0)}, n_trials=2,
                      cv=2, error_score="raise", random_state=0)
    ],
    expected_failed_checks=lambda est: {},
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_sample_weights_weigh_the_fold_scores_as_in_grid_search_cv():
    from sklearn.model_selection import GridSearchCV

    X, y = load_wine(return_X_y=True)
    sw = np.random.RandomState(0).rand(len(y))
    grid = GridSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [2, 3]}, cv=3).fit(X, y, sample_weight=sw)
    ours = HyperSearchCV(DecisionTreeClassifier(random_state=0), {"max_depth": [2, 3]}, n_trials=2, cv=3,
                         random_state=0).fit(X, y, sample_weight=sw)

    def scores(search):
        return {p["max_depth"]: s for p, s in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"],
                                                   strict=True)}

    assert scores(ours) == pytest.approx(scores(grid))
    assert ours.best_params_ == grid.best_params_
    # a score that cannot weigh (an estimator's score(X, y), a metric without
    # sample_weight) is computed unweighted, as scikit-learn does, not an error
    from sklearn.metrics import make_scorer

    class Plain(Ridge):
        def score(self, X, y):  # no sample_weight
            return -float(np.mean((self.predict(X) - y) ** 2))

    def metric(y_true, y_pred):  # no sample_weight
        return -float(np.mean((y_true - y_pred) ** 2))

    Xr, yr = load_diabetes(return_X_y=True)
    wr = np.random.RandomState(1).rand(len(yr))
    for est, scoring in ((Plain(), None), (Ridge(), make_scorer(metric))):
        with _no_warning_check():
            grid = GridSearchCV(est, {"alpha": [0.1, 1.0]}, scoring=scoring, cv=3).fit(Xr, yr, sample_weight=wr)
        ours = HyperSearchCV(est, {"alpha": [0.1, 1.0]}, n_trials=2, scoring=scoring, cv=3, error_score="raise",
                             random_state=0).fit(Xr, yr, sample_weight=wr)
        assert ours.best_score_ == pytest.approx(grid.best_score_)


def test_a_train_score_that_fails_keeps_the_test_score():
    """return_train_score only adds train scores: a scorer failing on a training fold
    costs that train score (error_score), never the valid test score."""
    X, y = load_breast_cancer(return_X_y=True)
    n_test = len(y) // 3 + 1

    def picky(est, X_, y_):
        if len(y_) > n_test:  # a training fold
            raise RuntimeError("train scoring broke")
        return est.score(X_, y_)

    kw = dict(n_trials=1, cv=3, scoring=picky, error_score=-1.0, random_state=0)
    plain = HyperSearchCV(LogisticRegression(max_iter=5000), {"C": [1.0]}, **kw).fit(X, y)
    with_train = HyperSearchCV(LogisticRegression(max_iter=5000), {"C": [1.0]}, return_train_score=True, **kw).fit(X, y)
    assert with_train.cv_results_["mean_test_score"] == pytest.approx(plain.cv_results_["mean_test_score"])
    assert with_train.cv_results_["mean_train_score"][0] == -1.0


def _no_warning_check():
    """scikit-learn may warn that it leaves the weights out of such a score."""
    import contextlib
    import warnings

    @contextlib.contextmanager
    def quiet():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield

    return quiet()
