"""Hypervolume against hand computations and brute force, Pareto fronts with
constraints."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.multiobjective import (
    hypervolume,
    hypervolume_history,
    pareto_mask,
    study_hypervolume,
)


def _grid_hv(P, ref, n=60):
    """Brute force on a grid of cell centres (for checking the exact algorithms)."""
    lo = P.min(axis=0)
    axes = [lo[j] + (np.arange(n) + 0.5) * (ref[j] - lo[j]) / n for j in range(len(ref))]
    G = np.array(list(itertools.product(*axes)))
    dom = np.zeros(len(G), dtype=bool)
    for p in P:
        dom |= (G >= p).all(1)
    return dom.mean() * np.prod(ref - lo)


def test_two_objectives_by_hand():
    P = [[1, 3], [2, 2], [3, 1], [2.5, 2.5]]  # the last is dominated
    assert hypervolume(P, [4, 4]) == pytest.approx(3 + 2 + 1)
    assert hypervolume([[5, 5]], [4, 4]) == 0.0  # beyond the reference
    assert hypervolume([[1, 1], [1, 1]], [2, 2]) == pytest.approx(1.0)
    # maximised objectives are negated
    assert hypervolume([[-1, 3]], [0, 0], directions=["minimize", "maximize"]) == pytest.approx(3.0)


def test_three_objectives_exact_and_more_by_monte_carlo():
    rng = np.random.default_rng(0)
    P = rng.random((12, 3))
    ref = np.ones(3) * 1.1
    assert hypervolume(P, ref) == pytest.approx(_grid_hv(P, ref, 80), rel=0.02)
    one = hypervolume([[0.5, 0.5, 0.5]], [1, 1, 1])
    assert one == pytest.approx(0.125)
    P4 = rng.random((8, 4))
    hv, err = hypervolume(P4, np.ones(4), return_error=True, n_samples=200_000)
    assert hv == pytest.approx(_grid_hv(P4, np.ones(4), 24), abs=4 * err + 0.01)
    assert err > 0


def _cell_hv(P, ref):
    """Exact brute force for integer points: count the unit cells they dominate."""
    cells = itertools.product(*[range(int(P[:, j].min()), int(ref[j])) for j in range(P.shape[1])])
    return float(sum(bool((P <= np.array(c)).all(1).any()) for c in cells))


def test_three_objectives_match_brute_force_with_ties_and_duplicates():
    rng = np.random.default_rng(1)
    for _ in range(150):
        P = rng.integers(0, 6, (int(rng.integers(1, 14)), 3)).astype(float)
        assert hypervolume(P, [6.0, 6.0, 6.0]) == _cell_hv(P, np.array([6, 6, 6]))


def test_history_equals_the_volume_of_each_prefix():
    """The history updates only when a trial changes the front; its values are the
    prefixes' volumes, for three objectives with mixed directions."""
    study = hs.create_study(directions=["minimize", "maximize", "minimize"],
                            sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1), t.suggest_float("c", 0, 1)),
                   n_trials=60)
    ref = [1.1, -0.1, 1.1]
    hist = hypervolume_history(study, ref)
    F = np.array([t.values for t in study.trials])
    for i, (number, hv) in enumerate(hist):
        assert number == i
        assert hv == pytest.approx(hypervolume(F[: i + 1], ref, directions=study.directions), rel=1e-12)


def test_pareto_mask_and_study_helpers():
    F = np.array([[1, 2], [2, 1], [2, 2], [1, 2], [0, 5]])
    assert pareto_mask(F).tolist() == [True, True, False, True, True]  # equal rows dominate neither
    assert pareto_mask(F, keep_duplicates=False).tolist() == [True, True, False, False, True]
    study = hs.create_study(directions=["minimize", "minimize"], sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1) ** 0.5), n_trials=30)
    hist = hypervolume_history(study, [1.1, 1.1])
    assert len(hist) == 30 and all(b[1] >= a[1] for a, b in zip(hist, hist[1:]))
    assert hist[-1][1] == pytest.approx(study_hypervolume(study, [1.1, 1.1]))


def test_infeasible_trials_are_never_best():
    study = hs.create_study(directions=["minimize", "minimize"])
    study.add_trial({"x": 0.0}, [0.0, 0.0], user_attrs={})
    study.add_trial({"x": 1.0}, [1.0, 1.0])
    front = study.best_trials
    assert [t.params["x"] for t in front] == [0.0]
    s2 = hs.create_study(directions=["minimize", "minimize"])
    bad = hs.FrozenTrial(number=-1, state=hs.TrialState.COMPLETE, values=[0.0, 0.0], params={"x": 0.0},
                         system_attrs={"constraints": [0.5]})
    s2.add_trial(bad)
    s2.add_trial({"x": 1.0}, [1.0, 1.0])
    assert [t.params["x"] for t in s2.best_trials] == [1.0]  # the dominating point violates a constraint
    single = hs.create_study()
    single.add_trial(hs.FrozenTrial(number=-1, state=hs.TrialState.COMPLETE, values=[-5.0], params={"x": 0.0},
                                    system_attrs={"constraints": [1.0, -1.0]}))
    none_feasible = hs.create_study()
    none_feasible.add_trial(hs.FrozenTrial(number=-1, state=hs.TrialState.COMPLETE, values=[-5.0],
                                           params={"x": 0.0}, system_attrs={"constraints": [1.0]}))
    with pytest.raises(ValueError, match="no feasible completed trial: all 1 completed trials violate"):
        none_feasible.best_trial  # noqa: B018
    single.add_trial({"x": 1.0}, 3.0)
    assert single.best_value == 3.0
    # an infeasible trial adds no hypervolume
    s2.add_trial(hs.FrozenTrial(number=-1, state=hs.TrialState.COMPLETE, values=[-5.0, -5.0], params={"x": 2.0},
                                system_attrs={"constraints": [5.0]}))
    assert study_hypervolume(s2, [2.0, 2.0]) == pytest.approx(1.0)
    assert [h for _, h in hypervolume_history(s2, [2.0, 2.0])] == [pytest.approx(1.0)]


def test_ties_are_all_on_the_front_and_the_best_is_the_same_in_every_process(tmp_path):
    """Trials with equal values: both are on the Pareto front (neither dominates
    the other), and a single-objective tie goes to the lower number whatever order
    the trials finished in, in the optimizing process and after load_study alike."""
    url = f"sqlite:///{tmp_path}/ties.db"
    mo = hs.create_study("mo", url, directions=["minimize", "maximize"])
    for x, v in ((0.0, [1.0, 0.9]), (1.0, [1.0, 0.9]), (2.0, [2.0, 0.95]), (3.0, [3.0, 0.5])):
        mo.add_trial({"x": x}, v)
    assert [t.number for t in mo.best_trials] == [0, 1, 2]
    assert [t.number for t in hs.load_study("mo", url).best_trials] == [0, 1, 2]
    so = hs.create_study("so", url, direction="maximize")
    first, second = so.ask(), so.ask()
    first.suggest_float("x", 0, 1)
    second.suggest_float("x", 0, 1)
    so.tell(second, 0.9)  # the later trial finishes first
    so.tell(first, 0.9)
    assert so.best_trial.number == 0 == hs.load_study("so", url).best_trial.number


def test_points_and_reference_must_agree_on_the_number_of_objectives():
    with pytest.raises(ValueError, match="points have 2 objective\\(s\\) each, the reference 4"):
        hypervolume([[1, 2], [3, 4]], [5, 5, 5, 5])
    with pytest.raises(ValueError, match="points have 4 objective"):
        hypervolume([[1, 2, 3, 4]], [5, 5])
    assert hypervolume([1, 2], [3, 3]) == 2.0  # one point as a flat list
    assert hypervolume([], [1, 1]) == 0.0
    study = hs.create_study(directions=["minimize", "minimize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)
    with pytest.raises(ValueError, match="has 2 objective\\(s\\); the reference must have 2 values"):
        study_hypervolume(study, [1.1, 1.1, 1.1])
    with pytest.raises(ValueError, match="must have 2 values"):
        hypervolume_history(study, [1.1])


def test_bad_reference():
    with pytest.raises(ValueError, match="finite"):
        hypervolume([[1, 2]], [float("inf"), 1])
    with pytest.raises(ValueError, match="directions"):
        hypervolume([[1, 2]], [3, 3], directions=["minimize"])


def test_constraint_values_may_be_one_number_and_must_be_numbers():
    """A single number is a list of one (before, a satisfied scalar constraint made
    the trial infeasible); anything else is refused when it is set."""
    study = hs.create_study(directions=["minimize", "minimize"])

    def objective(t):
        x = t.suggest_float("x", 0, 1)
        t.set_system_attr("constraints", -1.0 if t.number == 0 else np.float64(0.5))
        return x, 1 - x

    study.optimize(objective, n_trials=2)
    assert [t.number for t in study.best_trials] == [0]
    assert study.trials[0].system_attrs["constraints"] == [-1.0]
    trial = study.ask()
    with pytest.raises(ValueError, match="constraints must be a number or a list of numbers"):
        trial.set_system_attr("constraints", "oops")
    with pytest.raises(ValueError, match="constraint values must be numbers"):
        trial.set_system_attr("constraints", [0.0, "a"])
