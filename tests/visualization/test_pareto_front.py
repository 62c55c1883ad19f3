"""Pareto front: front, dominated and infeasible points apart; 2-D or 3-D."""

from __future__ import annotations

import pytest

import hypersearch as hs
from hypersearch.visualization import plot_pareto_front
from hypersearch.visualization._common import BEST_COLOR, INFEASIBLE_COLOR


def test_front_and_dominated(mo_study):
    front = {t.number for t in mo_study.best_trials}
    fig = plot_pareto_front(mo_study)
    pareto, dominated = fig.data
    assert (pareto.name, dominated.name) == ("Pareto front", "Dominated")
    assert len(pareto.x) == len(front) and len(pareto.x) + len(dominated.x) == 20
    numbers = {int(h.split("<br>")[0].split()[1]) for h in pareto.hovertext}
    assert numbers == front
    by_number = {t.number: t for t in mo_study.trials}
    assert sorted(pareto.x) == sorted(by_number[n].values[0] for n in front)
    assert fig.layout.xaxis.title.text == "Objective 0"
    only = plot_pareto_front(mo_study, include_dominated=False, target_names=["cost", "accuracy"])
    assert [tr.name for tr in only.data] == ["Pareto front"]
    assert only.layout.yaxis.title.text == "accuracy"


def test_infeasible_trace(make_trial):
    s = hs.create_study(directions=["minimize", "minimize"])
    s.add_trial(make_trial([0.0, 0.0], {"x": 0.0}, constraints=[1.0]))  # would dominate everything
    s.add_trial(make_trial([1.0, 2.0], {"x": 1.0}))
    s.add_trial(make_trial([2.0, 1.0], {"x": 2.0}))
    s.add_trial(make_trial([3.0, 3.0], {"x": 3.0}))
    fig = plot_pareto_front(s)
    assert [tr.name for tr in fig.data] == ["Pareto front", "Dominated", "Infeasible"]
    assert sorted(fig.data[0].x) == [1.0, 2.0]
    assert list(fig.data[1].x) == [3.0] and list(fig.data[2].x) == [0.0]
    assert fig.data[2].marker.color == INFEASIBLE_COLOR


def test_three_and_four_objectives(make_trial):
    s = hs.create_study(directions=["minimize"] * 4)
    for i in range(5):
        s.add_trial(make_trial([i, 4 - i, (i * 3) % 5, 1.0], {"x": float(i)}))
    with pytest.raises(ValueError, match="4 objectives; pass targets="):
        plot_pareto_front(s)
    fig = plot_pareto_front(s, targets=lambda t: t.values[:3])
    assert fig.data[0].type == "scatter3d"
    assert sum(len(tr.x) for tr in fig.data) == 5
    mfig = plot_pareto_front(s, targets=lambda t: t.values[:3], backend="matplotlib")
    assert mfig.axes[0].name == "3d"
    with pytest.raises(ValueError, match="two or three values"):
        plot_pareto_front(s, targets=lambda t: t.values[:1])
    with pytest.raises(ValueError, match="target_names must hold 2 names"):
        plot_pareto_front(s, targets=lambda t: t.values[:2], target_names=["a"])


def test_single_objective_is_refused(study):
    with pytest.raises(ValueError, match="single objective"):
        plot_pareto_front(study)


def test_matplotlib(mo_study, png, pixels, regions):
    fig = plot_pareto_front(mo_study, backend="matplotlib")
    ax = fig.axes[0]
    pareto, dominated = ax.collections
    n_front = len(mo_study.best_trials)
    assert len(pareto.get_offsets()) == n_front and len(dominated.get_offsets()) == 20 - n_front
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Pareto front", "Dominated"]
    img = png(fig)
    assert regions(img, BEST_COLOR) >= min(n_front, 3)
