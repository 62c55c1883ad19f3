"""Acquisition optimisation over mixed spaces: layout, snapping, pool, local search."""

from __future__ import annotations

import numpy as np

from hypersearch.samplers.gp._optimize import (
    SpaceLayout,
    local_search,
    maximize,
    perturb,
    sample_pool,
)
from hypersearch.space.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hypersearch.space.encoding import UnitCubeEncoder

SPACE = {
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "x": FloatDistribution(-2.0, 3.0),
    "q": FloatDistribution(0.0, 1.0, step=0.25),
    "k": IntDistribution(1, 9),
    "units": IntDistribution(1, 1024, log=True),
    "big": IntDistribution(0, 10**6),
    "opt": CategoricalDistribution(["adam", "sgd", None, 3]),
}


def _layout():
    enc = UnitCubeEncoder(SPACE, onehot=True)
    return enc, SpaceLayout.from_encoder(enc)


def test_layout_kinds_levels_and_groups():
    enc, lay = _layout()
    kinds = {p.name: p.kind for p in lay.params}
    assert kinds == {"lr": "cont", "x": "cont", "q": "disc", "k": "disc", "units": "disc",
                     "big": "cont", "opt": "cat"}
    levels = {p.name: p.levels for p in lay.params if p.kind == "disc"}
    assert len(levels["q"]) == 5 and len(levels["k"]) == 9 and len(levels["units"]) == 1024
    for name, lv in levels.items():  # every level decodes to a value that encodes back to it
        d = SPACE[name]
        for u in lv:
            assert abs(d.to_unit(d.from_unit(u)) - u) < 1e-12
    assert lay.groups.n_groups == len(SPACE)
    s = enc.slices["opt"]
    np.testing.assert_array_equal(lay.groups.group[s], [6, 6, 6, 6])
    np.testing.assert_array_equal(lay.groups.weight[s], [0.5] * 4)
    assert set(lay.free_cols) == {enc.slices[n].start for n in ("lr", "x", "q", "k", "units", "big")}


def test_snapped_points_decode_and_re_encode_exactly():
    enc, lay = _layout()
    rng = np.random.default_rng(0)
    X = rng.random((200, enc.dim))
    lay.snap(X)
    for x in X:
        cfg = enc.decode(x)
        assert all(SPACE[n].contains(v) for n, v in cfg.items())
        x2 = enc.encode(cfg)
        for p in lay.params:
            if p.kind != "cont":
                np.testing.assert_allclose(x2[p.start:p.stop], x[p.start:p.stop], atol=1e-12)


def test_pool_and_perturbations_are_valid_and_cover_every_choice():
    enc, lay = _layout()
    rng = np.random.default_rng(1)
    pool = sample_pool(lay, 256, rng)
    s = enc.slices["opt"]
    assert np.all(pool[:, s].sum(1) == 1.0)
    assert set(np.argmax(pool[:, s], 1)) == {0, 1, 2, 3}
    assert len({enc.decode(x)["k"] for x in pool}) == 9
    assert np.all((pool >= 0) & (pool <= 1))
    P = perturb(lay, pool[:3], 50, rng)
    assert P.shape == (150, enc.dim)
    assert np.all(P[:, s].sum(1) == 1.0)
    # perturbations stay near their centre on the continuous columns
    c = enc.slices["x"].start
    assert np.mean(np.abs(P[:50, c] - pool[0, c])) < 0.15


def _target(enc):
    """A separable function with a known maximum at x=0.8 (unit), k=7, opt=None."""
    cx, ck, co = enc.slices["x"].start, enc.slices["k"].start, enc.slices["opt"].start
    k7 = SPACE["k"].to_unit(7)

    def f(X):
        return -((X[:, cx] - 0.8) ** 2) - 3 * (X[:, ck] - k7) ** 2 + 0.5 * X[:, co + 2]

    def fg(X):
        g = np.zeros_like(X)
        g[:, cx] = -2 * (X[:, cx] - 0.8)
        g[:, ck] = -6 * (X[:, ck] - k7)
        g[:, co + 2] = 0.5
        return f(X), g

    return f, fg


def test_local_search_climbs_discrete_and_categorical_parameters():
    enc, lay = _layout()
    f, _ = _target(enc)
    x = enc.encode({"lr": 1e-3, "x": 0.0, "q": 0.5, "k": 1, "units": 8, "big": 5, "opt": "adam"})
    x2, v2 = local_search(lay, x, float(f(x[None])[0]), f)
    cfg = enc.decode(x2)
    assert cfg["k"] == 7 and cfg["opt"] is None
    assert v2 > f(x[None])[0]


def test_maximize_finds_the_known_optimum_of_a_mixed_function():
    enc, lay = _layout()
    f, fg = _target(enc)
    rng = np.random.default_rng(2)
    pool = sample_pool(lay, 128, rng)
    X, vals = maximize(lay, f, fg, pool, f(pool), n_starts=4)
    assert vals[0] >= f(pool).max()
    np.testing.assert_allclose(vals, f(X))
    cfg = enc.decode(X[0])
    assert cfg["k"] == 7 and cfg["opt"] is None
    assert abs(cfg["x"] - (-2.0 + 0.8 * 5.0)) < 1e-3
