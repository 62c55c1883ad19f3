"""The GP's transfer prior from earlier studies (create_study(warm_start_from=...))."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

import hypersearch as hs
from hypersearch.samplers.gp._gp import GaussianProcess
from hypersearch.samplers.gp._kernel import ColumnGroups
from hypersearch.samplers.gp._sampler import TRANSFER_WEIGHTS_ATTR
from hypersearch.samplers.gp._transfer import (
    TRANSFER_ATTR,
    PriorMeanGP,
    TransferPrior,
    _PriorMean,
    kendall_tau,
)


def _bowl(center):
    def f(trial):
        x = trial.suggest_float("x", -5, 5)
        y = trial.suggest_float("y", -5, 5)
        return (x - center[0]) ** 2 + (y - center[1]) ** 2

    return f


def _source(center, n=30, seed=0, negate=False):
    s = hs.create_study(sampler=hs.samplers.RandomSampler(seed=seed))
    f = _bowl(center)
    s.optimize((lambda t: -f(t)) if negate else f, n_trials=n)
    return s


def test_kendall_tau():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert kendall_tau(a, a) == 1.0
    assert kendall_tau(a, -a) == -1.0
    assert kendall_tau(a, np.array([1.0, 1.0, 1.0, 1.0])) == 0.0  # every pair tied
    assert kendall_tau(a[:1], a[:1]) == 0.0


def test_sources_are_recorded_in_the_study_and_survive_a_reload(tmp_path):
    src = _source((1.0, -1.0), n=12)
    url = f"sqlite:///{tmp_path / 'hs.db'}"
    hs.create_study(study_name="target", storage=url, warm_start_from=[src])
    loaded = hs.load_study("target", url)
    rec = loaded.system_attrs[TRANSFER_ATTR]
    assert len(rec) == 1 and rec[0]["name"] == src.study_name
    assert len(rec[0]["params"]) == len(rec[0]["values"]) == 12
    # values are signed for minimisation, whatever the source's direction
    assert sorted(rec[0]["values"]) == sorted(t.value for t in src.trials)
    mx = hs.create_study(direction="maximize")
    mx.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4)
    rec2 = hs.create_study(warm_start_from=[mx]).system_attrs[TRANSFER_ATTR][0]
    assert sorted(rec2["values"]) == sorted(-t.value for t in mx.trials)


def test_prior_mean_gp_posterior_and_gradient():
    rng = np.random.default_rng(0)
    groups = ColumnGroups(np.array([0, 1]), np.array([1.0, 1.0]))
    theta = np.array([np.log(0.3), np.log(0.3), 0.0, np.log(1e-4)])
    src = GaussianProcess(rng.random((8, 2)), rng.standard_normal(8), theta, groups)
    prior = _PriorMean([src], np.array([0.7]), 0.25)
    Xt = rng.random((5, 2))
    yt = rng.standard_normal(5)
    resid = GaussianProcess(Xt, yt - prior(Xt), theta, groups)
    gp = PriorMeanGP(resid, prior)
    Xq = rng.random((3, 2))
    mu, var = gp.posterior(Xq)
    np.testing.assert_allclose(mu, resid.posterior(Xq)[0] + 0.25 + 0.7 * src.posterior(Xq)[0])
    np.testing.assert_allclose(var, resid.posterior(Xq)[1])
    _, _, dmu, _ = gp.posterior_grad(Xq)
    for i in range(3):
        num = approx_fprime(Xq[i], lambda x: gp.posterior(x[None])[0][0], 1e-6)
        np.testing.assert_allclose(dmu[i], num, rtol=1e-4, atol=1e-5)
    # fantasised points are conditioned on as residuals of the same prior
    cond = gp.condition_on(Xq[:1], np.array([3.0]))
    assert cond.posterior(Xq[:1])[0][0] == pytest.approx(3.0, abs=0.05)


def test_weights_follow_how_well_a_source_ranks_the_new_task():
    good = _source((1.0, -1.0), seed=1)
    bad = _source((1.0, -1.0), seed=2, negate=True)
    study = hs.create_study(sampler=hs.samplers.GPSampler(seed=0), warm_start_from=[good, bad], warm_start_top_k=3)
    study.optimize(_bowl((1.2, -0.8)), n_trials=14)
    weights = study.trials[-1].system_attrs[TRANSFER_WEIGHTS_ATTR]
    assert weights[good.study_name] > 0.5
    assert weights[bad.study_name] == 0.0


def test_a_source_that_does_not_cover_the_space_is_left_out():
    other = hs.create_study()
    other.optimize(lambda t: t.suggest_float("z", 0, 1), n_trials=6)
    study = hs.create_study(sampler=hs.samplers.GPSampler(seed=0), warm_start_from=[other])
    study.optimize(_bowl((0.0, 0.0)), n_trials=10)
    assert study.trials[-1].system_attrs[TRANSFER_WEIGHTS_ATTR] == {}
    assert TransferPrior.from_attr("garbage") is None
    assert TransferPrior.from_attr([{"name": "s", "params": [], "values": []}]) is None


def test_transfer_prior_finds_the_optimum_of_a_similar_task_sooner():
    """Same seeds, same queued configurations: the prior mean alone makes the
    difference between the two runs."""
    regrets = {True: [], False: []}
    for seed in range(3):
        srcs = [_source((1.5, -2.0), n=25, seed=10 + seed), _source((1.9, -1.6), n=25, seed=20 + seed)]
        for use in (True, False):
            st = hs.create_study(
                sampler=hs.samplers.GPSampler(seed=seed, transfer_prior=use),
                warm_start_from=srcs,
                warm_start_top_k=2,
            )
            st.optimize(_bowl((1.7, -1.8)), n_trials=9)
            regrets[use].append(st.best_value)
    assert np.mean(regrets[True]) < np.mean(regrets[False])


def test_transfer_prior_flag_is_validated():
    with pytest.raises(ValueError, match="transfer_prior"):
        hs.samplers.GPSampler(transfer_prior="yes")
