"""The dashboard's HTTP API and pages, through Flask's test client."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("flask")
pytest.importorskip("plotly")

import hypersearch as hs  # noqa: E402
from hypersearch.dashboard import create_app, serve  # noqa: E402
from hypersearch.trial import TrialState  # noqa: E402

from .conftest import XSS_ATTR, XSS_PARAM  # noqa: E402


@pytest.fixture
def client(dash_study):
    url, _ = dash_study
    return create_app(url).test_client()


def _id(client, study) -> int:
    rows = client.get("/api/studies").get_json()
    return next(r["study_id"] for r in rows if r["name"] == study.study_name)


def test_study_list_and_summary(client, dash_study):
    _, study = dash_study
    rows = client.get("/api/studies").get_json()
    row = next(r for r in rows if r["name"] == study.study_name)
    assert row["n_trials"] == 16
    s = client.get(f"/api/studies/{row['study_id']}").get_json()
    assert s["best"][0]["number"] == study.best_trial.number
    assert s["state_counts"] == {
        st.name: n for st in TrialState if (n := len(study.get_trials([st]))) > 0
    }
    keys = [p["key"] for p in s["plots"]]
    assert {"history", "intermediate", "slice", "timeline"} <= set(keys)


def test_trials_are_read_incrementally(client, dash_study):
    url, study = dash_study
    sid = _id(client, study)
    all_rows = client.get(f"/api/studies/{sid}/trials").get_json()["trials"]
    assert [r["number"] for r in all_rows] == list(range(16))
    assert client.get(f"/api/studies/{sid}/trials?after=15").get_json()["trials"] == []
    # a trial written by someone else appears in the next poll
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1, log=True), n_trials=1)
    new = client.get(f"/api/studies/{sid}/trials?after=15").get_json()["trials"]
    assert [r["number"] for r in new] == [16]
    # listed unfinished trials are sent again, with their current state
    again = client.get(f"/api/studies/{sid}/trials?after=16&numbers=3,7").get_json()["trials"]
    assert [r["number"] for r in again] == [3, 7]
    assert client.get(f"/api/studies/{sid}/trials?after=x").status_code == 400


def test_trial_detail_and_plots(client, dash_study):
    _, study = dash_study
    sid = _id(client, study)
    failed = study.get_trials([TrialState.FAIL])[0]
    d = client.get(f"/api/studies/{sid}/trials/{failed.number}").get_json()
    assert d["state"] == "FAIL" and "diverged" in d["fail_reason"]
    assert d["intermediate"] == {str(k): v for k, v in failed.intermediate_values.items()}
    assert d["user_attrs"]["note"] == XSS_ATTR and XSS_PARAM in d["params"]
    assert client.get(f"/api/studies/{sid}/trials/999").status_code == 404
    fig = client.get(f"/api/studies/{sid}/plots/history").get_json()
    n_points = sum(len(tr.get("x", [])) for tr in fig["data"] if tr.get("mode", "").startswith("markers"))
    assert n_points == len(study.get_trials([TrialState.COMPLETE]))
    assert client.get(f"/api/studies/{sid}/plots/nope").status_code == 404
    assert client.get("/api/studies/12345").status_code == 404


def test_stored_strings_never_reach_the_page_as_markup(client, dash_study):
    sid = _id(client, dash_study[1])
    page = client.get(f"/study/{sid}").get_data(as_text=True)
    raw = client.get(f"/api/studies/{sid}/trials").get_data(as_text=True)
    assert "<img" not in raw and "<script" not in raw  # JSON escapes < and >
    assert json.loads(raw)["trials"][0]["params"][XSS_PARAM] in ("a", "b")
    assert "<script>window" not in page
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_read_only(client, dash_study):
    from hypersearch.storage import get_storage

    url, study = dash_study
    st = get_storage(url)
    before = (st.get_study_attrs(study._study_id), [t.system_attrs for t in study.trials])
    sid = _id(client, study)
    for path in ("/", f"/study/{sid}", f"/api/studies/{sid}", f"/api/studies/{sid}/trials",
                 f"/api/studies/{sid}/trials/0", f"/api/studies/{sid}/plots/history"):
        assert client.get(path).status_code == 200, path
    after = (st.get_study_attrs(study._study_id), [t.system_attrs for t in hs.load_study(
        study.study_name, url, sampler=hs.samplers.ReadOnlySampler()).trials])
    assert after == before
    for path in ("/", f"/study/{sid}", f"/api/studies/{sid}/trials"):
        assert client.post(path).status_code == 405
        assert client.delete(path).status_code == 405


def test_token(dash_study):
    url, _ = dash_study
    c = create_app(url, token="s3cret-token").test_client()
    assert c.get("/api/studies").status_code == 401
    assert c.get("/api/studies", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert c.get("/api/studies", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    r = c.get("/?token=s3cret-token")
    assert r.status_code == 302 and "token" not in r.headers["Location"]
    assert c.get("/api/studies").status_code == 200  # the cookie now carries it
    with pytest.raises(ValueError, match="token"):
        create_app(url, token="short")


def test_refuses_non_local_binding_without_token(dash_study):
    url, _ = dash_study
    with pytest.raises(ValueError, match="without an access token"):
        serve(url, host="0.0.0.0", port=0)


def test_path_traversal_is_refused(client):
    for path in ("/static/../_app.py", "/static/..%2f_app.py", "/static/%2e%2e/%2e%2e/__init__.py",
                 "/static//etc/passwd", "/vendor/../static/dashboard.js"):
        r = client.get(path, follow_redirects=True)
        assert r.status_code in (404, 400), path
        assert b"create_app" not in r.data and b"root:" not in r.data
    assert client.get("/static/dashboard.js").status_code == 200


def test_odd_studies_deleted_and_replaced(tmp_path):
    """A diverged, all-infeasible study is served (NaN reports as null, a note in
    place of the best trial); a deleted study is gone at once, and a study created
    after it is shown as itself."""
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    study = hs.create_study(study_name="odd", storage=url)

    def f(t):
        t.report(float("nan"), 0)
        t.set_system_attr("constraints", [1.0])
        return t.suggest_float("x", 0, 1)

    study.optimize(f, n_trials=2)
    client = create_app(url).test_client()
    sid = _id(client, study)
    summary = client.get(f"/api/studies/{sid}")
    assert summary.status_code == 200
    assert summary.get_json()["best"] == [] and "No feasible trial" in summary.get_json()["best_note"]
    plot = client.get(f"/api/studies/{sid}/plots/intermediate")
    assert plot.status_code == 200 and plot.get_json()["data"][0]["y"] == [None]
    assert client.get("/api/studies").get_json()[0]["best_values"] is None

    hs.delete_study("odd", url)
    assert client.get(f"/api/studies/{sid}").status_code == 404
    new = hs.create_study(study_name="new", storage=url, directions=["maximize", "maximize"])
    new_id = _id(client, new)
    got = client.get(f"/api/studies/{new_id}").get_json()
    assert got["name"] == "new" and got["directions"] == ["maximize", "maximize"]
