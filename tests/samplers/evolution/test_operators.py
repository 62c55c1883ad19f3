"""Unit tests of the shared evolutionary operators: bounds and types of children,
non-dominated sorting, crowding distances, constraint domination, tournaments,
DE and PSO steps."""

from __future__ import annotations

import numpy as np
import pytest

from hypersearch.samplers.evolution._operators import (
    CAT,
    CONT,
    DISC,
    binomial_crossover,
    blend_crossover,
    bounce_back,
    breed,
    column_kinds,
    constrained_non_dominated_sort,
    crowding_distance,
    de_mutant,
    mixed_crossover,
    mutate,
    non_dominated_sort,
    polynomial_mutation,
    pso_step,
    sbx_crossover,
    snap,
    tournament,
    uniform_crossover,
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
    "layers": IntDistribution(1, 6),
    "width": IntDistribution(16, 1024, log=True),
    "drop": FloatDistribution(0.0, 0.5, step=0.1),
    "act": CategoricalDistribution(["relu", "tanh", None, 7]),
}


def _parents(rng, n=200, d=6):
    """Random parents, a third of their coordinates on a bound."""
    p = rng.random((n, 2, d))
    p[rng.random(p.shape) < 0.15] = 0.0
    p[rng.random(p.shape) < 0.15] = 1.0
    return p


def test_column_kinds_and_levels():
    enc = UnitCubeEncoder(SPACE)
    kinds, levels = column_kinds(enc)
    assert dict(zip(SPACE, kinds.tolist())) == {
        "lr": CONT, "x": CONT, "layers": DISC, "width": CONT, "drop": DISC, "act": CAT,
    }
    assert dict(zip(SPACE, levels.tolist()))["layers"] == 6
    assert dict(zip(SPACE, levels.tolist()))["drop"] == 6
    assert dict(zip(SPACE, levels.tolist()))["act"] == 4
    with pytest.raises(ValueError, match="onehot"):
        column_kinds(UnitCubeEncoder(SPACE, onehot=True))


@pytest.mark.parametrize("eta", [0.5, 2.0, 15.0, 100.0])
def test_sbx_children_stay_within_bounds(eta):
    rng = np.random.default_rng(0)
    moved = 0
    for p1, p2 in _parents(rng):
        c1, c2 = sbx_crossover(p1, p2, rng, eta=eta)
        for c in (c1, c2):
            assert np.all((c >= 0.0) & (c <= 1.0))
        moved += int(np.any(~np.isclose(c1, p1) & ~np.isclose(c1, p2)))
    assert moved > 100  # children are new points, not copies


def test_sbx_spread_shrinks_with_eta():
    rng = np.random.default_rng(1)
    p1, p2 = np.full(1, 0.4), np.full(1, 0.6)

    def spread(eta):  # mean distance of the lower child from the lower parent
        kids = [sbx_crossover(p1, p2, rng, eta=eta, prob_var=1.0) for _ in range(2000)]
        return np.mean([abs(min(a[0], b[0]) - 0.4) for a, b in kids])

    assert spread(1.0) > 2 * spread(50.0)


def test_blend_and_uniform_crossover_bounds():
    rng = np.random.default_rng(2)
    for p1, p2 in _parents(rng):
        c = blend_crossover(p1, p2, rng, alpha=0.5)
        assert np.all((c >= 0.0) & (c <= 1.0))
        lo, hi = np.minimum(p1, p2), np.maximum(p1, p2)
        d = hi - lo
        assert np.all(c >= lo - 0.5 * d - 1e-12) and np.all(c <= hi + 0.5 * d + 1e-12)
        u = uniform_crossover(p1, p2, rng)
        assert np.all((u == p1) | (u == p2))


@pytest.mark.parametrize("method", ["sbx", "blend", "uniform"])
def test_mixed_crossover_inherits_discrete_levels_whole(method):
    enc = UnitCubeEncoder(SPACE)
    kinds, levels = column_kinds(enc)
    rng = np.random.default_rng(3)
    grid = kinds != CONT
    for _ in range(300):
        p1 = snap(rng.random(enc.dim), kinds, levels)
        p2 = snap(rng.random(enc.dim), kinds, levels)
        c = mixed_crossover(p1, p2, kinds, rng, method=method)
        assert np.all((c >= 0) & (c <= 1))
        assert np.all((c[grid] == p1[grid]) | (c[grid] == p2[grid]))
        config = enc.decode(c)
        for name, d in SPACE.items():
            assert d.contains(config[name]), (name, config[name])
    with pytest.raises(ValueError, match="crossover"):
        mixed_crossover(p1, p2, kinds, rng, method="two-point")


def test_polynomial_mutation_stays_within_bounds():
    rng = np.random.default_rng(4)
    for eta in (1.0, 20.0):
        x = rng.random((500, 5))
        x[:, 0], x[:, 1] = 0.0, 1.0
        y = np.array([polynomial_mutation(r, rng, eta=eta, prob=1.0) for r in x])
        assert np.all((y >= 0) & (y <= 1))
        assert np.mean(np.abs(y - x)) > 0.0


def test_mutation_keeps_types_and_bounds():
    enc = UnitCubeEncoder(SPACE)
    kinds, levels = column_kinds(enc)
    rng = np.random.default_rng(5)
    cat = list(SPACE).index("act")
    for _ in range(300):
        x = snap(rng.random(enc.dim), kinds, levels)
        y = mutate(x, kinds, levels, rng, prob=1.0)
        assert np.all((y >= 0) & (y <= 1))
        # grid columns stay on cell centres; a mutated grid column always changes
        grid = kinds != CONT
        k = y[grid] * levels[grid] - 0.5
        assert np.allclose(k, np.round(k))
        assert np.all(y[grid] != x[grid])
        assert y[cat] != x[cat]
        config = enc.decode(y)
        assert isinstance(config["layers"], int) and 1 <= config["layers"] <= 6
        assert isinstance(config["width"], int) and 16 <= config["width"] <= 1024
        assert config["act"] in ("relu", "tanh", None, 7)
        assert SPACE["drop"].contains(config["drop"])
        assert 1e-5 <= config["lr"] <= 1e-1 and -2.0 <= config["x"] <= 3.0
    # prob 0 changes nothing (beyond snapping to the grid)
    x = snap(rng.random(enc.dim), kinds, levels)
    assert np.array_equal(mutate(x, kinds, levels, rng, prob=0.0), x)


def test_breed_never_returns_a_parent():
    space = {"a": IntDistribution(0, 2), "b": CategoricalDistribution(["u", "v"])}
    enc = UnitCubeEncoder(space)
    kinds, levels = column_kinds(enc)
    rng = np.random.default_rng(6)
    for _ in range(200):
        p1 = snap(rng.random(2), kinds, levels)
        p2 = snap(rng.random(2), kinds, levels)
        c = breed(
            p1, p2, kinds, levels, rng, crossover_prob=0.5, method="sbx", eta_crossover=15,
            alpha=0.5, mutation_prob=0.1, eta_mutation=20,
        )
        assert not np.array_equal(c, p1) and not np.array_equal(c, p2)


def test_non_dominated_sort_on_hand_made_fronts():
    F = np.array([
        [1.0, 5.0],  # 0: front 0
        [2.0, 3.0],  # 1: front 0
        [4.0, 1.0],  # 2: front 0
        [2.0, 5.0],  # 3: dominated by 0 and 1 -> front 1
        [3.0, 4.0],  # 4: dominated by 1 -> front 1
        [5.0, 2.0],  # 5: dominated by 2 -> front 1
        [5.0, 5.0],  # 6: dominated by 3, 4, 5 -> front 2
        [2.0, 3.0],  # 7: duplicate of 1: neither dominates -> front 0
        [6.0, 6.0],  # 8: front 3
    ])
    assert non_dominated_sort(F).tolist() == [0, 0, 0, 1, 1, 1, 2, 0, 3]
    # one objective: ranks are the sorted order with ties sharing a front
    assert non_dominated_sort(np.array([[3.0], [1.0], [2.0], [1.0]])).tolist() == [2, 0, 1, 0]
    # three objectives: no point dominates another
    F3 = np.array([[1, 2, 3], [2, 3, 1], [3, 1, 2]], dtype=float)
    assert non_dominated_sort(F3).tolist() == [0, 0, 0]
    assert non_dominated_sort(np.zeros((0, 2))).tolist() == []


def test_crowding_distance_values():
    F = np.array([[0.0, 4.0], [1.0, 3.0], [2.0, 1.0], [4.0, 0.0]])
    d = crowding_distance(F)
    assert np.isinf(d[0]) and np.isinf(d[3])
    # point 1: (2 - 0) / 4 + (4 - 1) / 4 ; point 2: (4 - 1) / 4 + (3 - 0) / 4
    assert d[1] == pytest.approx(0.5 + 0.75)
    assert d[2] == pytest.approx(0.75 + 0.75)
    assert np.isinf(crowding_distance(np.array([[1.0, 2.0], [2.0, 1.0]]))).all()
    # a constant objective adds nothing
    d = crowding_distance(np.array([[0.0, 1.0], [1.0, 1.0], [3.0, 1.0]]))
    assert d[1] == pytest.approx(3.0 / 3.0) or np.isinf(d[1])


def test_constraint_domination_order():
    F = np.array([
        [5.0, 5.0],  # 0: feasible, dominated by 1
        [1.0, 1.0],  # 1: feasible, best
        [0.0, 0.0],  # 2: infeasible (violation 2) despite dominating everything
        [0.0, 0.0],  # 3: infeasible (violation 0.5)
        [9.0, 9.0],  # 4: infeasible (violation 0.5): same level as 3
        [3.0, 0.5],  # 5: feasible, non-dominated
    ])
    violation = np.array([0.0, 0.0, 2.0, 0.5, 0.5, 0.0])
    ranks = constrained_non_dominated_sort(F, violation)
    assert ranks.tolist() == [1, 0, 3, 2, 2, 0]
    # every feasible point before every infeasible one; smaller violations first
    assert ranks[violation == 0].max() < ranks[violation > 0].min()
    assert constrained_non_dominated_sort(F, None).tolist() == non_dominated_sort(F).tolist()
    only_infeasible = constrained_non_dominated_sort(F[:2], np.array([1.0, 3.0]))
    assert only_infeasible.tolist() == [0, 1]


def test_tournament_picks_the_best_drawn():
    rng = np.random.default_rng(7)
    keys = np.array([5, 3, 9, 0, 7])
    assert tournament(keys, 5, rng) == 3  # everyone drawn: the global best
    wins = np.bincount([tournament(keys, 2, rng) for _ in range(4000)], minlength=5)
    assert wins[2] == 0  # the worst never wins a binary tournament
    assert wins[3] > wins[1] > wins[0] > wins[4] > 0
    assert tournament(np.array([1.0]), 3, rng) == 0
    with pytest.raises(ValueError):
        tournament(np.array([]), 2, rng)


def test_de_mutant_crossover_and_bounce_back():
    t, b = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    r = [np.array([0.2, 0.8]), np.array([0.6, 0.6]), np.array([0.4, 0.2])]
    assert np.allclose(de_mutant("rand/1", t, b, r, 0.5), [0.3, 1.0])
    assert np.allclose(de_mutant("current-to-best/1", t, b, r, 0.5), [0.5 + 0.2 - 0.2, 0.5 - 0.2 + 0.1])
    with pytest.raises(ValueError):
        de_mutant("best/2", t, b, r, 0.5)
    rng = np.random.default_rng(8)
    groups = [slice(0, 1), slice(1, 4), slice(4, 5)]  # a one-hot block stays whole
    target, mutant = np.zeros(5), np.ones(5)
    for _ in range(100):
        c = binomial_crossover(target, mutant, 0.0, groups, rng)
        assert sum(bool(c[g].all()) for g in groups) == 1  # exactly one parameter from the mutant
        assert all(c[g].all() or not c[g].any() for g in groups)
        assert np.array_equal(binomial_crossover(target, mutant, 1.0, groups, rng), mutant)
    v = bounce_back(np.array([-0.4, 1.6, 0.3]), np.array([0.2, 0.6, 0.9]))
    assert np.allclose(v, [0.1, 0.8, 0.3])


def test_pso_step_clamps_velocity_and_position():
    rng = np.random.default_rng(9)
    for _ in range(200):
        x, pb, gb = rng.random(4), rng.random(4), rng.random(4)
        v = rng.uniform(-1, 1, 4)
        x2, moved = pso_step(x, v, pb, gb, rng, inertia=0.9, cognitive=2.0, social=2.0, v_max=0.1)
        assert np.all((x2 >= 0) & (x2 <= 1))
        assert np.all(np.abs(x2 - x) <= 0.1 + 1e-12)
        assert np.allclose(moved, x2 - x)
    # at rest on its best, pulled toward the global best
    x = np.array([0.2, 0.2])
    x2, _ = pso_step(x, np.zeros(2), x, np.array([0.8, 0.8]), rng, inertia=0.5, cognitive=1, social=1, v_max=1)
    assert np.all(x2 >= x)
