"""What every plot shares: lazy imports, backends, targets, empty studies, SVG output."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hypersearch as hs
from hypersearch import visualization as vis
from hypersearch.visualization._common import log_ticks, param_axis, resolve_target

SINGLE = [
    vis.plot_optimization_history,
    vis.plot_intermediate_values,
    vis.plot_parallel_coordinate,
    vis.plot_slice,
    vis.plot_contour,
    vis.plot_edf,
    vis.plot_timeline,
    vis.plot_pbt_schedule,
]


def test_import_does_not_import_the_plotting_libraries():
    code = (
        "import sys, hypersearch.visualization as v; "
        "assert 'plotly' not in sys.modules and 'matplotlib' not in sys.modules, "
        "[m for m in sys.modules if m.startswith(('plotly', 'matplotlib'))]; "
        "assert callable(v.plot_slice)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_public_names():
    assert sorted(vis.__all__) == sorted([
        "plot_contour", "plot_edf", "plot_hypervolume_history", "plot_intermediate_values",
        "plot_optimization_history", "plot_parallel_coordinate", "plot_param_importances",
        "plot_pareto_front", "plot_pbt_schedule", "plot_slice", "plot_timeline",
    ])


@pytest.mark.parametrize(("missing", "backend"), [("plotly", "plotly"), ("matplotlib", "matplotlib")])
def test_missing_library_names_the_extra(study, monkeypatch, missing, backend):
    for mod in [m for m in sys.modules if m == missing or m.startswith(missing + ".")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import missing...` fail
    with pytest.raises(ImportError, match=rf"plot_slice needs {missing}: pip install 'hypersearch\[viz\]'"):
        vis.plot_slice(study, backend=backend)


@pytest.mark.parametrize("fn", SINGLE, ids=lambda f: f.__name__)
def test_bad_backend(study, fn):
    with pytest.raises(ValueError, match="backend must be 'plotly' or 'matplotlib'"):
        fn(study, backend="bokeh")


@pytest.mark.parametrize("fn", SINGLE, ids=lambda f: f.__name__)
def test_empty_study_gives_a_figure_without_data(empty_study, fn):
    import plotly.graph_objects as go
    from matplotlib.figure import Figure

    fig = fn(empty_study)
    assert isinstance(fig, go.Figure) and len(fig.data) == 0
    assert "(" in fig.layout.title.text and "yet" in fig.layout.title.text
    mfig = fn(empty_study, backend="matplotlib")
    assert isinstance(mfig, Figure)
    (ax,) = mfig.axes
    assert not ax.lines and not ax.collections and not ax.patches
    assert "yet" in ax.get_title()


def test_multi_objective_studies_need_a_target(mo_study):
    for fn in (vis.plot_optimization_history, vis.plot_slice, vis.plot_parallel_coordinate,
               vis.plot_contour, vis.plot_edf, vis.plot_param_importances):
        with pytest.raises(ValueError, match="2 objectives; pass target="):
            fn(mo_study)
    with pytest.raises(ValueError, match="target=2 is out of range"):
        vis.plot_slice(mo_study, target=2)
    with pytest.raises(TypeError, match="target"):
        vis.plot_slice(mo_study, target="values")
    spec = resolve_target(mo_study, 1, "f")
    assert spec.direction == hs.StudyDirection.MAXIMIZE
    assert resolve_target(mo_study, lambda t: t.values[0], "f").direction is None


@pytest.mark.parametrize("fn", [vis.plot_slice, vis.plot_parallel_coordinate, vis.plot_contour],
                         ids=lambda f: f.__name__)
def test_unknown_params_are_named(study, fn):
    with pytest.raises(ValueError, match=r"unknown parameter 'nope'.*\['lr', 'n', 'opt', 'x'\]"):
        fn(study, params=["x", "nope"])
    with pytest.raises(ValueError, match="params must be a list"):
        fn(study, params="x")


def test_param_axes(study):
    trials = study.trials
    assert param_axis("lr", trials).kind == "log"
    assert param_axis("x", trials).kind == "linear"
    assert param_axis("n", trials).kind == "linear"
    cat = param_axis("opt", trials)
    assert cat.kind == "categorical" and cat.labels == ["sgd", "adam"]
    assert cat.coord("adam") == 1.0
    assert log_ticks(-3.2, -0.5) == ([-3.0, -2.0, -1.0], ["0.001", "0.01", "0.1"])


@pytest.mark.parametrize("fn", SINGLE[:-1] + [vis.plot_param_importances], ids=lambda f: f.__name__)
def test_svg_output(study, svg, fn):
    kwargs = {"method": "ped-anova"} if fn is vis.plot_param_importances else {}
    text = svg(fn(study, backend="matplotlib", **kwargs))
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "</svg>" in text
    assert text.count("<path") > 5
