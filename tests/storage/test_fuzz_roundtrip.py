"""Property-based round trips: every value a user can suggest or attach is stored
and read back exactly, on every backend (a fresh connection reads it back)."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hypersearch as hs
from hypersearch.space.distributions import _choice_key
from hypersearch.storage import InMemoryStorage
from hypersearch.storage.sql import SQLStorage

_SETTINGS = settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)

# Names: any unicode text without lone surrogates (not encodable), NUL included, up
# to 300 characters.
names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300)
finite = st.floats(allow_nan=False, allow_infinity=False)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite | names
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
    max_leaves=12,
)


def _same(a, b) -> bool:
    """Exact equality, floats bit for bit (so -0.0 != 0.0 and 5e-324 survives)."""
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _same_value(a: float, b: float) -> bool:
    """Objective and intermediate values sit in SQL REAL columns, which keep every
    finite double exactly except the sign of zero (SQLite stores -0.0 as 0.0)."""
    return (math.isnan(a) and math.isnan(b)) or (a == b and (a != 0.0 or _same(abs(a), abs(b))))


def _reopen(storage):
    """The same storage through a new connection (memory: the same object)."""
    if isinstance(storage, InMemoryStorage):
        return storage
    return SQLStorage(str(storage.engine.url.render_as_string(hide_password=False)))


@pytest.fixture
def fresh(storage):
    return storage


def _study(storage):
    import uuid

    return hs.create_study(study_name=f"fz-{uuid.uuid4().hex}", storage=storage,
                           sampler=hs.samplers.RandomSampler(seed=0))


@_SETTINGS
@given(data=st.data())
def test_float_params_round_trip(fresh, data):
    lo = data.draw(finite, label="low")
    hi = data.draw(st.floats(min_value=lo, allow_nan=False, allow_infinity=False), label="high")
    log = data.draw(st.booleans()) and lo > 0
    value = data.draw(st.floats(min_value=lo, max_value=hi), label="value")
    name = data.draw(names, label="name")
    study = _study(fresh)
    study.enqueue_trial({name: value})
    t = study.ask()
    got = t.suggest_float(name, lo, hi, log=log)
    assert _same(got, value) or (value == 0.0 and got == 0.0)
    objective = data.draw(finite, label="objective")
    study.tell(t, objective)
    back = hs.load_study(study.study_name, _reopen(fresh)).trials[0]
    assert _same(back.params[name], got)
    assert _same_value(back.value, float(objective))
    assert back.distributions[name] == hs.FloatDistribution(lo, hi, log=log)


@_SETTINGS
@given(data=st.data())
def test_int_params_round_trip(fresh, data):
    lo = data.draw(st.integers(-(2**53), 2**53), label="low")
    hi = data.draw(st.integers(lo, 2**53), label="high")
    value = data.draw(st.integers(lo, hi), label="value")
    name = data.draw(names, label="name")
    study = _study(fresh)
    study.enqueue_trial({name: value})
    t = study.ask()
    assert t.suggest_int(name, lo, hi) == value
    study.tell(t, 1.0)
    back = hs.load_study(study.study_name, _reopen(fresh)).trials[0]
    assert back.params[name] == value and type(back.params[name]) is int


@_SETTINGS
@given(
    choices=st.lists(st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite | names,
                     # distinct as the distribution sees them (0.0 and -0.0 are one choice)
                     min_size=1, max_size=6, unique_by=lambda v: _choice_key(v)),
    name=names,
    pick=st.integers(0, 5),
)
def test_categorical_params_round_trip(fresh, choices, name, pick):
    value = choices[pick % len(choices)]
    study = _study(fresh)
    t = study.ask()
    t.suggest_categorical(name, choices)  # the sampler's pick
    study.tell(t, 0.0)
    study.enqueue_trial({name: value})
    t = study.ask()
    got = t.suggest_categorical(name, choices)
    assert _same(got, value)
    study.tell(t, 0.0)
    back = hs.load_study(study.study_name, _reopen(fresh)).trials
    assert _same(back[1].params[name], value)
    assert all(any(_same(p.params[name], c) for c in choices) for p in back)


@_SETTINGS
@given(key=names, value=json_values)
def test_user_attributes_round_trip(fresh, key, value):
    study = _study(fresh)
    t = study.ask()
    t.set_user_attr(key, value)
    study.tell(t, 0.0)
    if "\x00" in key:  # study attribute keys live in a text column: NUL is refused
        with pytest.raises(ValueError, match="NUL"):
            study.set_user_attr(key, value)
        key = key.replace("\x00", "")
        if not key:
            return
    study.set_user_attr(key, value)
    again = hs.load_study(study.study_name, _reopen(fresh))
    assert _same(again.user_attrs[key], value)
    assert any(_same(v, value) for v in again.trials[0].user_attrs.values())


@_SETTINGS
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=8))
def test_intermediate_values_round_trip(fresh, values):
    study = _study(fresh)
    t = study.ask()
    for step, v in enumerate(values):
        t.report(v, step)
    study.tell(t, 1.0)
    back = hs.load_study(study.study_name, _reopen(fresh)).trials[0].intermediate_values
    assert list(back) == list(range(len(values)))
    for step, v in enumerate(values):
        assert _same_value(back[step], v)


def test_bad_values_get_clear_errors_and_corrupt_nothing(storage):
    study = _study(storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    before = [(t.number, t.state, t.params, t.values) for t in study.trials]
    t = study.ask()
    with pytest.raises(ValueError, match="not JSON"):
        t.set_user_attr("obj", object())
    with pytest.raises(ValueError, match="x"):
        t.suggest_float("x", 1.0, 0.0)
    with pytest.raises(ValueError, match="name"):
        t.suggest_float("", 0.0, 1.0)
    with pytest.raises(ValueError, match="NUL"):
        hs.create_study(study_name="a\x00b", storage=storage)
    study.tell(t, 0.5)
    again = hs.load_study(study.study_name, _reopen(storage)).trials
    assert [(x.number, x.state, x.params, x.values) for x in again[:2]] == before
    assert again[2].value == 0.5
