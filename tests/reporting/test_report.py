"""The HTML report: content, escaping, and the CLI command."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import hypersearch as hs
from hypersearch.reporting import (
    available_plots,
    make_plot,
    reference_point,
    render_report,
    write_report,
)

pytest.importorskip("plotly")
pytest.importorskip("jinja2")

EVIL = "<script>alert('x')</script>"


def _study(storage=None, name="rep"):
    study = hs.create_study(study_name=name, storage=storage, sampler=hs.samplers.RandomSampler(seed=1))

    def f(t):
        x = t.suggest_float("x", -3, 3)
        t.suggest_categorical(EVIL, ["a", "b"])
        t.set_user_attr("why", EVIL)
        t.report(x * x + 1, 0)
        if x > 2.5:
            raise RuntimeError(EVIL)
        return x * x

    study.optimize(f, n_trials=12, catch=(RuntimeError,))
    return study


def test_report_has_summary_best_plots_and_every_trial():
    study = _study()
    text = render_report(study)
    assert f"<h1>hypersearch report: {study.study_name}</h1>" in text
    best = study.best_trial
    table = text.split('<table id="best">')[1].split("</table>")[0]
    assert f">{best.number}<" in table and repr(best.value)[:8] in table
    for spec in available_plots(study):
        assert f'id="fig-{spec.key}"' in text
    trials = text.split('<table id="trials">')[1].split("</table>")[0]
    assert trials.count("<tr>") == 1 + len(study.trials)
    # self-contained: plotly.js is inlined, nothing is loaded from elsewhere
    assert "Plotly.newPlot" in text and not re.search(r'<script[^>]+src=', text)


def test_stored_strings_are_escaped():
    text = render_report(_study())
    assert EVIL not in text
    assert "&lt;script&gt;alert(" in text  # shown as text: parameter name, failure reason
    # figure JSON cannot close its script element
    for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', text, re.S):
        assert "<" not in block


def test_plot_catalogue_follows_the_study():
    single = _study()
    keys = {p.key for p in available_plots(single)}
    assert {"history", "intermediate", "slice", "edf", "timeline"} <= keys
    assert "pareto" not in keys
    mo = hs.create_study(directions=["minimize", "maximize"], sampler=hs.samplers.RandomSampler(seed=0))
    mo.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1)), n_trials=8)
    keys = {p.key for p in available_plots(mo)}
    assert {"pareto", "hypervolume", "timeline"} <= keys and "history" not in keys
    ref = reference_point(mo)
    vals = [t.values for t in mo.trials]
    assert ref[0] > max(v[0] for v in vals) and ref[1] < min(v[1] for v in vals)
    assert len(make_plot(mo, "hypervolume").data) >= 1
    with pytest.raises(KeyError, match="unknown plot"):
        make_plot(mo, "nope")
    assert available_plots(hs.create_study()) == []


def test_write_report_and_cli(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = _study(url, name="clirep")
    out = tmp_path / "report.html"
    r = subprocess.run(
        [sys.executable, "-m", "hypersearch", "report", "--storage", url, "--study", "clirep", "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "written to" in r.stderr
    assert out.read_text().count("<tr>") > len(study.trials)
    with pytest.raises(ValueError, match="is a directory"):
        write_report(study, tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "hypersearch", "report", "--storage", url, "--study", "nope", "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode != 0 and "nope" in r.stderr and "Traceback" not in r.stderr


def test_test_evaluations_are_reported():
    study = _study()
    study.evaluate_best(lambda params: 0.123456)
    text = render_report(study)
    assert 'id="test-evaluations"' in text and "0.123456" in text


def test_plot_text_is_escaped_for_plotly():
    from hypersearch.reporting._html import escape_plotly_text

    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("<b>x</b>", 0, 1) + len(t.suggest_categorical("c", ["<i>a", "b"])),
                   n_trials=6)
    fig = escape_plotly_text(make_plot(study, "slice").to_plotly_json())
    text = repr(fig)
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text
    assert "&lt;i&gt;a" in text and "'<i>a'" not in text
    # numbers and plotly's own theme are untouched
    assert fig["layout"]["template"] == make_plot(study, "slice").to_plotly_json()["layout"]["template"]


def _diverged_and_infeasible(storage=None):
    """A study whose only completed trials violate their constraints, one of which
    reported NaN and infinity on the way."""
    study = hs.create_study(study_name="odd", storage=storage, sampler=hs.samplers.RandomSampler(seed=0))

    def f(t):
        x = t.suggest_float("x", 0, 1)
        t.report(1.0, 0)
        t.report(float("nan"), 1)
        t.report(float("inf"), 2)
        t.set_system_attr("constraints", [1.0])
        return x

    study.optimize(f, n_trials=2)
    return study


def test_reports_of_diverged_runs_and_infeasible_studies():
    """NaN and infinite reports are gaps in the learning-curve plot (before, one of
    them failed the whole report); a study with no feasible trial says so."""
    import json

    study = _diverged_and_infeasible()
    text = render_report(study)
    assert "This plot failed" not in text
    assert "No feasible trial: all 2 completed trials violate their constraints." in text
    fig = json.loads(text.split('id="fig-intermediate"')[1].split(">", 1)[1].split("</script>")[0])
    assert fig["data"][0]["y"] == [1.0, None, None]
