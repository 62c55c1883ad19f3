"""Databases written by every earlier schema version open and read back exactly.

``data/schema_v<N>.db`` is checked in for each schema version ever released
(made by ``data/make_schema_db.py``); a new schema version must migrate each of
them.  Version 2 made report steps 64-bit; version 3 made SQLite ids never reused.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

import hypersearch as hs
from hypersearch.storage.sql import SCHEMA_VERSION

DATA = Path(__file__).with_name("data")
DBS = sorted(DATA.glob("schema_v*.db"))


def test_every_schema_version_up_to_the_current_one_is_checked_in():
    versions = sorted(int(p.stem.split("_v")[1]) for p in DBS)
    assert versions == list(range(1, SCHEMA_VERSION + 1))


@pytest.mark.parametrize("db", DBS, ids=[p.stem for p in DBS])
def test_an_earlier_database_reads_back_exactly_and_can_be_continued(db, tmp_path):
    copy = tmp_path / db.name  # the checked-in file is never written to
    shutil.copy(db, copy)
    url = f"sqlite:///{copy}"
    names = {s.name for s in hs.list_studies(url)}
    assert names == {"single", "multi"}
    s = hs.load_study("single", url)
    assert s.user_attrs == {"note": {"unicode": "h\u00e9llo \u2603", "list": [1, 2.5, None]}}
    got = [(t.number, t.state.name, t.values, t.params, t.user_attrs) for t in s.trials]
    assert got == [
        (0, "COMPLETE", [0.00012654459985232333], {"x": 1.2654459985232332e-05, "n": 7, "opt": 2.5}, {"i": 0}),
        (1, "COMPLETE", [0.010600444191057188], {"x": 0.0010600444191057189, "n": 31, "opt": 2.5}, {"i": 1}),
        (2, "FAIL", None, {"x": 2.0159434466220248e-05, "n": 1, "opt": True}, {"i": 2}),
        (3, "PRUNED", None, {"x": 0.5551768672370812, "n": 25, "opt": 2.5}, {"i": 3}),
        (4, "WAITING", None, {"x": 0.5}, {}),
    ]
    for t in s.trials[:4]:
        assert t.intermediate_values[0] == float(t.number) and math.isnan(t.intermediate_values[1])
    d = s.trials[0].distributions
    assert d["x"] == hs.FloatDistribution(1e-5, 1.0, log=True)
    assert d["n"] == hs.IntDistribution(1, 64, step=3)
    assert d["opt"] == hs.CategoricalDistribution(["adam", None, 3, 2.5, True])
    assert s.best_trial.number == 0
    m = hs.load_study("multi", url)
    assert [d.name for d in m.directions] == ["MINIMIZE", "MAXIMIZE"] and m.trials[0].values == [1.0, 2.0]
    # the queued trial is claimed first, and the study goes on
    s.optimize(lambda t: t.suggest_float("x", 1e-5, 1.0, log=True), n_trials=3)
    assert s.trials[4].state.name == "COMPLETE" and s.trials[4].params == {"x": 0.5}
    assert len(hs.load_study("single", url).trials) == 7
    # ids are never handed out again (schema 3), also in a migrated database
    last = m._study_id
    hs.delete_study("multi", url)
    assert hs.create_study("again", url)._study_id > last
