"""A study with every kind of trial, stored in SQLite, for the dashboard tests."""

from __future__ import annotations

import pytest

import hypersearch as hs

XSS_PARAM = "<img src=x onerror=alert(1)>"
XSS_ATTR = "<script>window.__xss = 1</script>"


def fill_study(url: str, name: str = "dash") -> hs.Study:
    study = hs.create_study(study_name=name, storage=url, sampler=hs.samplers.RandomSampler(seed=0))

    def objective(trial):
        x = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        y = trial.suggest_int("layers", 1, 4)
        trial.suggest_categorical(XSS_PARAM, ["a", "b"])
        trial.set_user_attr("note", XSS_ATTR)
        for step in range(3):
            trial.report(x * y + 1.0 / (step + 1), step)
        if y == 4:
            raise ValueError("diverged: <b>loss is nan</b>")
        if trial.number % 5 == 4:
            raise hs.TrialPruned()
        return x * y

    study.optimize(objective, n_trials=16, catch=(ValueError,))
    return study


@pytest.fixture(params=["sqlite", "postgres"])
def dash_study(request, tmp_path):
    """The filled study in SQLite and in PostgreSQL (the dashboard reads both while
    workers write)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'dash.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        name = f"dash_{abs(hash(request.node.name)) % 10**8}"
        return url, fill_study(url, name=name)
    return url, fill_study(url)
