"""Stored data never runs code: no pickle/eval of database contents anywhere, and a
crafted database is read as data (or refused with a clear error)."""

from __future__ import annotations

import ast
import base64
import json
import pickle
from pathlib import Path

import pytest
import sqlalchemy as sa

import hypersearch as hs
from hypersearch.tune._checkpoint import CheckpointStore

PKG = Path(hs.__file__).resolve().parent

# Every place that may deserialise with pickle, and why it is not stored data:
ALLOWED = {
    # the trial's own checkpoint file, written by CheckpointStore.save; the path read
    # from the storage must have the exact form save() gives (tested below)
    ("tune/_checkpoint.py", "load"),
    # objectives and results between this process and its own worker processes (pipes)
    ("execution/process.py", "*"),
    ("execution/_worker.py", "*"),
    ("execution/ray.py", "*"),
    ("execution/_remote.py", "*"),
    # HyperSearchCV's own copies of its constructor arguments (clone/pickle of the estimator)
    ("integrations/sklearn.py", "*"),
}
_DANGEROUS = {
    ("pickle", "load"), ("pickle", "loads"), ("cloudpickle", "load"), ("cloudpickle", "loads"),
    ("marshal", "loads"), ("marshal", "load"), ("yaml", "load"), ("dill", "loads"), ("dill", "load"),
}


def _calls(node: ast.AST, fn: str = "<module>"):
    """Every call with the name of the innermost function around it."""
    for child in ast.iter_child_nodes(node):
        inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else fn
        if isinstance(child, ast.Call):
            yield fn, child
        yield from _calls(child, inner)


def test_no_pickle_or_eval_outside_the_allowed_places():
    found = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn, call in _calls(tree):
            f = call.func
            name = None
            if isinstance(f, ast.Name) and f.id in ("eval", "exec"):
                name = f.id
            elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                if (f.value.id, f.attr) in _DANGEROUS:
                    name = f"{f.value.id}.{f.attr}"
            if name and (rel, fn) not in ALLOWED and (rel, "*") not in ALLOWED:
                found.append(f"{rel}:{call.lineno} {fn}: {name}")
    assert found == []


def _crafted_db(tmp_path: Path) -> tuple[str, hs.Study]:
    url = f"sqlite:///{tmp_path / 'crafted.db'}"
    study = hs.create_study(study_name="crafted", storage=url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    return url, study


class _Boom:
    def __reduce__(self):
        import os

        return (os.system, (f"touch {_Boom.marker}",))


def test_a_crafted_database_is_read_as_data(tmp_path):
    url, study = _crafted_db(tmp_path)
    marker = tmp_path / "pwned"
    _Boom.marker = marker
    payload = base64.b64encode(pickle.dumps(_Boom())).decode()
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        tables = sa.inspect(conn).get_table_names()
        assert "hs_trials" in tables
        # the attribute columns get a pickle payload and Python-looking code as strings
        evil = json.dumps({"__reduce__": payload, "code": "__import__('os').system('touch x')", "p": payload})
        for col in ("user_attrs_json", "system_attrs_json"):
            conn.execute(sa.text(f"UPDATE hs_trials SET {col} = :v"), {"v": evil})
        conn.execute(sa.text("UPDATE hs_study_attrs SET value = :v"), {"v": json.dumps(payload)})
    with pytest.raises(ValueError, match="sampler seed"):  # a seed that is not an integer
        hs.load_study("crafted", url)
    loaded = hs.load_study("crafted", url, sampler=hs.samplers.RandomSampler(seed=1))
    trials = loaded.trials
    assert len(trials) == 2
    for t in trials:
        attrs = {**t.user_attrs, **t.system_attrs}
        assert attrs.get("p") == payload  # kept as the string it is
    hs.list_studies(url)
    assert not marker.exists()


def test_a_crafted_checkpoint_path_is_refused(tmp_path):
    store = CheckpointStore(tmp_path / "artifacts")
    rel = store.save(3, 7, {"w": 1})
    assert store.load(rel) == {"w": 1}
    evil = tmp_path / "evil.pkl"
    _Boom.marker = tmp_path / "pwned"
    evil.write_bytes(pickle.dumps(_Boom()))
    (tmp_path / "artifacts" / "trial_000003" / "notes.pkl").write_bytes(pickle.dumps(_Boom()))
    for bad in ("../evil.pkl", str(evil), "trial_000003/../../evil.pkl", "trial_000003/notes.pkl",
                "trial_000003/checkpoint_000007.pkl/../../../evil.pkl", 42):
        with pytest.raises(ValueError, match="not one hypersearch writes"):
            store.load(bad)
    assert not (tmp_path / "pwned").exists()


def test_a_future_schema_is_refused_clearly(tmp_path):
    url, _ = _crafted_db(tmp_path)
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE hs_version_info SET schema_version = 99"))
    from hypersearch.storage import _cache

    _cache.clear()
    with pytest.raises(hs.SchemaVersionError, match="99"):
        hs.load_study("crafted", url)
