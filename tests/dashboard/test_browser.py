"""End to end: the dashboard served by the CLI, opened in headless Chromium.

Needs Debian's ``chromium`` package and the ``playwright`` Python package
(which drives the installed browser; no browser download).  Outside CI a
missing browser skips these tests with the reason; under CI it fails them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import XSS_ATTR, XSS_PARAM, fill_study

CHROMIUM = os.environ.get("HYPERSEARCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    try:
        import flask  # noqa: F401
        import plotly  # noqa: F401
    except ImportError as e:
        return f"the dashboard extra is not installed: {e}"
    return None


@pytest.fixture(scope="module")
def browser():
    problem = _missing()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests are required in CI: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def server(request, tmp_path):
    """``hypersearch dashboard`` on a free port, over a filled study (SQLite unless the
    test asks for ``postgres`` through indirect parametrisation)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgres":
        url = request.getfixturevalue("pg_url")
        name = f"dash_live_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    else:
        url, name = f"sqlite:///{tmp_path / 'dash.db'}", "dash"
    study = fill_study(url, name=name)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hypersearch", "dashboard", "--storage", url, "--port", "0", "--refresh", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    line = proc.stdout.readline()
    m = re.search(r"http://\S+", line)
    if not m:
        proc.kill()
        pytest.fail(f"dashboard did not start: {line}{proc.stdout.read()}")
    yield m.group(0), url, study
    proc.terminate()
    proc.wait(10)


def _add_trials_elsewhere(url: str, n: int, name: str = "dash") -> None:
    """Another process writes to the study while the page is open."""
    code = (
        "import hypersearch as hs\n"
        f"s = hs.load_study({name!r}, {url!r}, sampler=hs.samplers.RandomSampler(seed=5))\n"
        "s.optimize(lambda t: t.suggest_float('lr', 1e-4, 1e-1, log=True) * 1000, n_trials=%d)\n" % n
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_dashboard_in_chromium(browser, server, tmp_path):
    base, url, study = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # the study list
    page.goto(base)
    link = page.locator("#studies a", has_text="dash")
    assert link.count() == 1
    link.click()
    page.wait_for_url(re.compile(r"/study/\d+$"))

    # the trial table holds every trial, with the right values
    rows = page.locator("#trials-body tr")
    rows.first.wait_for()
    page.wait_for_function("document.querySelectorAll('#trials-body tr').length === 16")
    done = {t.number: t.value for t in study.get_trials(["COMPLETE"])}
    first_done = min(done)
    row = page.locator(f'#trials-body tr[data-number="{first_done}"]')
    assert row.locator("td").nth(1).inner_text() == "COMPLETE"
    assert float(row.locator("td").nth(2).inner_text()) == pytest.approx(done[first_done], rel=1e-5)

    # a plot renders with the study's data: one marker per completed trial
    page.wait_for_selector("#plot-history .main-svg")
    n_points = page.evaluate(
        "() => document.getElementById('plot-history').data"
        ".filter(t => (t.mode || '').startsWith('markers')).reduce((n, t) => n + t.x.length, 0)"
    )
    assert n_points == len(done)
    assert page.locator("#plot-history .scatterlayer .point").count() >= len(done)
    page.wait_for_selector("#plot-timeline .main-svg")

    # stored strings are shown as text, never run
    header = page.locator("#trials-head th", has_text=XSS_PARAM)
    assert header.count() == 1
    assert page.evaluate("() => window.__xss") is None

    # filtering by state and by parameter
    n_fail = len(study.get_trials(["FAIL"]))
    page.select_option("#filter-state", "FAIL")
    page.wait_for_function(f"document.querySelectorAll('#trials-body tr').length === {n_fail}")
    page.select_option("#filter-state", "")
    page.select_option("#filter-param", "layers")
    page.fill("#filter-value", ">=4")
    page.wait_for_function(f"document.querySelectorAll('#trials-body tr').length === {n_fail}")
    page.fill("#filter-value", "")

    # sorting by value puts the best trial first
    page.locator("#trials-head th", has_text="Value").click()
    page.wait_for_function(
        f"document.querySelector('#trials-body tr').dataset.number === '{study.best_trial.number}'"
    )

    # trial detail: parameters, failure reason, user attributes (as text)
    failed = study.get_trials(["FAIL"])[0]
    page.locator(f'#trials-body tr[data-number="{failed.number}"]').click()
    page.wait_for_selector("#detail:not([hidden])")
    detail = page.locator("#detail").inner_text()
    assert "diverged: <b>loss is nan</b>" in detail
    assert XSS_ATTR in detail
    page.wait_for_selector("#detail-curve .main-svg")

    # trials written by another process appear without a reload
    _add_trials_elsewhere(url, 3)
    page.wait_for_function("document.querySelectorAll('#trials-body tr').length === 19", timeout=20_000)
    assert page.locator('#trials-body tr[data-number="18"] td').nth(1).inner_text() == "COMPLETE"

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    out = os.environ.get("HYPERSEARCH_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(out) / "dashboard.png")
    assert dialogs == [] and errors == []
    page.close()


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_live_while_another_process_writes(browser, server):
    """The page keeps up with a worker that writes continuously, and the worker is
    not slowed into failure by the dashboard's reads (SQLite in WAL mode, PostgreSQL)."""
    base, url, study = server
    page = browser.new_page()
    page.goto(base)
    page.get_by_role("link", name=study.study_name, exact=True).click()
    page.wait_for_function("document.querySelectorAll('#trials-body tr').length === 16")
    code = (
        "import time, hypersearch as hs\n"
        f"s = hs.load_study({study.study_name!r}, {url!r}, sampler=hs.samplers.RandomSampler(seed=7))\n"
        "def f(t):\n"
        "    time.sleep(0.05)\n"
        "    return t.suggest_float('lr', 1e-4, 1e-1, log=True)\n"
        "s.optimize(f, n_trials=30)\n"
    )
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    page.wait_for_function("document.querySelectorAll('#trials-body tr').length === 46", timeout=20_000)
    assert time.monotonic() - t0 < 120
    page.close()


def test_report_opens_offline(browser, tmp_path):
    """The HTML report renders its plots from the file alone (no server, no network)."""
    from hypersearch.reporting import write_report

    url = f"sqlite:///{tmp_path / 'r.db'}"
    study = fill_study(url)
    path = write_report(study, tmp_path / "report.html")
    ctx = browser.new_context(offline=True)
    page = ctx.new_page()
    page.goto(path.as_uri())
    page.wait_for_selector("#plot-history .main-svg")
    assert page.locator("#trials tr").count() == 17  # header + 16 trials
    assert page.evaluate("() => window.__xss") is None
    ctx.close()
