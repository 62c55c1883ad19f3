"""Fuzzing the declarative space: random (often wrong) space definitions either
give a working space or a clear ValueError/TypeError naming what is wrong, never a
crash from deep inside, and a failed definition leaves the study untouched."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import hypersearch as hs

any_number = st.integers(-(10**6), 10**6) | st.floats(allow_nan=True, allow_infinity=True) | st.booleans()
junk = st.none() | any_number | st.text(max_size=5) | st.lists(st.integers(), max_size=3)


@st.composite
def domains(draw):
    kind = draw(st.sampled_from(
        ["uniform", "loguniform", "quniform", "qloguniform", "randint", "qrandint", "lograndint",
         "choice", "grid", "const", "junk"]
    ))
    if kind == "const":
        return draw(st.integers() | st.text(max_size=5) | st.none())
    if kind == "junk":
        return draw(junk)
    if kind in ("choice", "grid"):
        opts = draw(st.lists(st.none() | st.integers(-5, 5) | st.text(max_size=3) | any_number,
                             min_size=1, max_size=4) | junk)
        return (kind, opts)
    sane = st.integers(-20, 20) | st.floats(-100, 100)
    args = draw(st.lists(sane, min_size=2, max_size=3) | st.lists(any_number | junk, min_size=2, max_size=3))
    if draw(st.booleans()) and all(isinstance(a, (int, float)) for a in args[:2]):
        args = sorted(args[:2]) + args[2:]  # low < high more often
    return (kind, args)


def _build(node):
    """Turn ``(kind, args)`` leaves into hs.<kind>(*args) calls, collecting the
    errors the constructors raise."""
    if isinstance(node, tuple):
        kind, args = node
        fn = getattr(hs, kind)
        return fn(args) if kind in ("choice", "grid") else fn(*args)
    if isinstance(node, dict):
        return {k: _build(v) for k, v in node.items()}
    return node


spaces = st.recursive(
    domains(),
    lambda inner: st.dictionaries(st.text(min_size=0, max_size=6) | st.integers(0, 3), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=spaces, seed=st.integers(0, 3))
def test_random_space_definitions_fail_clearly_or_work(space, seed):
    try:
        config = _build({"root": space})
        ss = hs.SearchSpace(config)
    except (ValueError, TypeError) as e:
        msg = str(e)
        assert msg and "Traceback" not in msg
        event("rejected at definition")
        return
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=seed))
    try:
        t = study.ask()
        cfg = ss.sample(t)
    except (ValueError, TypeError, hs.ConstraintError) as e:
        assert str(e)
        study.tell(t, state="fail")
        assert [x.state.name for x in study.trials] == ["FAIL"]
        event("rejected at sampling")
        return
    study.tell(t, 0.0)
    event("sampled")
    assert isinstance(cfg, dict) and "root" in cfg
    # every sampled number is finite and inside its declared domain
    for name, value in study.trials[0].params.items():
        d = study.trials[0].distributions[name]
        assert d.contains(value), (name, value, d)
        if isinstance(value, float):
            assert math.isfinite(value)
