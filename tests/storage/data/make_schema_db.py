"""Write ``schema_v<N>.db``: a SQLite database of the current schema version holding
every kind of stored value, checked in so that later versions are tested against
it (``test_schema_versions.py``).  Run once per new schema version::

    python tests/storage/data/make_schema_db.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import hypersearch as hs
from hypersearch.storage.sql import SCHEMA_VERSION


def build(path: Path) -> None:
    url = f"sqlite:///{path}"
    s = hs.create_study(study_name="single", storage=url, sampler=hs.samplers.RandomSampler(seed=0))
    s.set_user_attr("note", {"unicode": "h\u00e9llo \u2603", "list": [1, 2.5, None]})
    for i in range(4):
        t = s.ask()
        x = t.suggest_float("x", 1e-5, 1.0, log=True)
        t.suggest_int("n", 1, 64, step=3)
        t.suggest_categorical("opt", ["adam", None, 3, 2.5, True])
        t.report(float(i), 0)
        t.report(float("nan"), 1)
        t.set_user_attr("i", i)
        if i == 2:
            s.tell(t, state="fail")
        elif i == 3:
            s.tell(t, state="pruned")
        else:
            s.tell(t, x * 10)
    s.enqueue_trial({"x": 0.5})
    m = hs.create_study(study_name="multi", storage=url, directions=["minimize", "maximize"])
    m.add_trial({"a": 1.0}, [1.0, 2.0], distributions={"a": hs.FloatDistribution(0, 2)})


if __name__ == "__main__":
    out = Path(__file__).with_name(f"schema_v{SCHEMA_VERSION}.db")
    if out.exists():
        sys.exit(f"{out} exists; a checked-in schema database is never rewritten")
    build(out)
    # one self-contained file: the write-ahead log folded in
    import sqlite3

    from hypersearch.storage.sql import _engines

    for engine in list(_engines):
        engine.dispose()
    with sqlite3.connect(out) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    print(f"wrote {out}")
