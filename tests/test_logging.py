"""hs.logging: the library's verbosity, as Optuna users set it."""

from __future__ import annotations

import logging

import pytest

import hypersearch as hs


@pytest.fixture(autouse=True)
def _restore():
    logger = logging.getLogger("hypersearch")
    level, propagate = logger.level, logger.propagate
    yield
    hs.logging.disable_default_handler()
    logger.setLevel(level)
    logger.propagate = propagate


def test_info_shows_each_finished_trial_with_the_best_so_far(capsys):
    hs.logging.set_verbosity(hs.logging.INFO)
    assert hs.logging.get_verbosity() == hs.logging.INFO
    study = hs.create_study(seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    err = capsys.readouterr().err.splitlines()
    best = study.best_trial
    assert len(err) == 2 and err[0].startswith("[hypersearch INFO ")
    assert f"trial 1 finished with value {study.trials[1].value!r}" in err[1]
    assert err[1].endswith(f"best is trial {best.number} with value {best.value!r}")
    hs.logging.set_verbosity(hs.logging.INFO)  # a second call adds no second handler
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_error_silences_warnings_and_the_default_is_quiet(caplog):
    study = hs.create_study()
    with caplog.at_level(logging.INFO, logger="hypersearch"):
        hs.logging.set_verbosity(hs.logging.ERROR)
        study.optimize(lambda t: 1 / 0, n_trials=1, catch=(ZeroDivisionError,))
    assert [r for r in caplog.records if r.name == "hypersearch"] == []
    with pytest.raises(TypeError, match="logging level"):
        hs.logging.set_verbosity("info")


def test_pruners_point_to_schedulers():
    with pytest.raises(AttributeError, match="create_study\\(scheduler=...\\)"):
        hs.pruners  # noqa: B018
