"""The Flask application of the dashboard (see the package docstring)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from hypersearch.exceptions import StudyNotFoundError
from hypersearch.reporting._figures import available_plots, make_plot
from hypersearch.reporting._html import escape_plotly_text, safe_json, study_summary, trial_row

if TYPE_CHECKING:
    from hypersearch.storage.base import BaseStorage
    from hypersearch.study._study import Study

__all__ = ["create_app", "serve"]

_log = logging.getLogger("hypersearch")

_TOKEN_COOKIE = "hypersearch_token"
# plotly.js's parallel-coordinates trace compiles WebGL code with ``new Function``
# (regl), hence 'unsafe-eval'; no inline script is ever allowed.
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'"
)


def _flask():
    try:
        import flask
    except ImportError:
        raise ImportError("the dashboard needs Flask: pip install 'hypersearch[dashboard]'") from None
    return flask


class _Studies:
    """One :class:`Study` per stored study, kept between requests so that each
    refresh reads only what changed (the study's incremental history)."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        self._lock = threading.Lock()
        self._studies: dict[int, Study] = {}
        self._names: dict[int, str] = {}
        self._names_at = 0.0

    def summaries(self) -> list[Any]:
        out = self.storage.list_studies()
        with self._lock:
            self._names = {s.study_id: s.name for s in out}
            self._names_at = time.monotonic()
        return out

    def get(self, study_id: int) -> Study | None:
        from hypersearch.samplers.base import ReadOnlySampler
        from hypersearch.study._study import Study

        with self._lock:
            st = self._studies.get(study_id)
        # one small read per request: a deleted study is not served from the cache
        if st is not None and self._still_there(st):
            return st
        with self._lock:
            stale = time.monotonic() - self._names_at > 2.0
        if stale or study_id not in self._names:
            self.summaries()
        name = self._names.get(study_id)
        if name is None:
            return None
        info = self.storage.get_study(name)
        # Read-only: attaching writes nothing (no seed recorded) and replays nothing.
        st = Study(self.storage, info, sampler=ReadOnlySampler())
        with self._lock:
            return self._studies.setdefault(study_id, st)

    def _still_there(self, st: Study) -> bool:
        """Whether the cached ``st`` is still stored under its id (not deleted, nor
        replaced by a new study of another name); forgets it when not."""
        try:
            there = self.storage.get_study(st.study_name).study_id == st._study_id
        except StudyNotFoundError:
            there = False
        if not there:
            with self._lock:
                self._studies.pop(st._study_id, None)
                self._names_at = 0.0
        return there


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(storage: BaseStorage | str, *, token: str | None = None, refresh_interval: float = 2.0):
    """The dashboard as a Flask application over ``storage`` (a storage object or
    URL).

    Args:
        storage: Where the studies are.
        token: When given, every request must carry it (``Authorization: Bearer
            TOKEN``, or ``?token=TOKEN`` once, which sets a cookie).
        refresh_interval: Seconds between the page's polls for new trials.
    """
    flask = _flask()
    from hypersearch.storage import get_storage

    if token is not None and (not isinstance(token, str) or len(token) < 8):
        raise ValueError("token must be a string of at least 8 characters")
    if not (isinstance(refresh_interval, (int, float)) and refresh_interval > 0):
        raise ValueError(f"refresh_interval must be a positive number of seconds, got {refresh_interval!r}")
    studies = _Studies(get_storage(storage))
    app = flask.Flask("hypersearch.dashboard")
    app.json.sort_keys = False

    @app.before_request
    def _check_token():
        if token is None:
            return None
        req = flask.request
        given = req.cookies.get(_TOKEN_COOKIE) or req.args.get("token") or ""
        auth = req.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given = auth[7:]
        if not hmac.compare_digest(given.encode(), token.encode()):
            return flask.Response("a valid access token is required\n", status=401, mimetype="text/plain")
        if "token" in req.args and req.method == "GET":
            # Move the token from the URL into a cookie, and the URL out of the history.
            resp = flask.redirect(req.path)
            resp.set_cookie(_TOKEN_COOKIE, token, httponly=True, samesite="Strict")
            return resp
        return None

    @app.after_request
    def _headers(resp):
        resp.headers["Content-Security-Policy"] = _CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        if flask.request.path.startswith("/api/"):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    def _study_or_404(study_id: int) -> Study:
        st = studies.get(study_id)
        if st is None:
            flask.abort(404, description=f"no study with id {study_id}")
        return st

    # -- pages ---------------------------------------------------------------------------
    @app.get("/")
    def index():
        return flask.render_template("index.html", studies=studies.summaries(), refresh=refresh_interval)

    @app.get("/study/<int:study_id>")
    def study_page(study_id: int):
        st = _study_or_404(study_id)
        return flask.render_template("study.html", study=st, study_id=study_id, refresh=refresh_interval)

    @app.get("/vendor/plotly.min.js")
    def plotly_js():
        try:
            from plotly.offline import get_plotlyjs
        except ImportError:
            return flask.Response("// plotly is not installed\n", mimetype="text/javascript")
        resp = flask.Response(get_plotlyjs(), mimetype="text/javascript")
        resp.headers["Cache-Control"] = "max-age=86400"
        return resp

    # -- the JSON API ------------------------------------------------------------------------
    @app.get("/api/studies")
    def api_studies():
        return flask.jsonify([_summary_row(s) for s in studies.summaries()])

    @app.get("/api/studies/<int:study_id>")
    def api_study(study_id: int):
        st = _study_or_404(study_id)
        data = study_summary(st)
        data["study_id"] = study_id
        data["plots"] = [{"key": p.key, "title": p.title} for p in available_plots(st)]
        return _json(data)

    @app.get("/api/studies/<int:study_id>/trials")
    def api_trials(study_id: int):
        """Trials numbered above ``after`` plus those listed in ``numbers`` (the
        unfinished ones the page holds): what changed since its last poll."""
        st = _study_or_404(study_id)
        req = flask.request
        try:
            after = int(req.args.get("after", "-1"))
            numbers = {int(x) for x in req.args.get("numbers", "").split(",") if x.strip()}
        except ValueError:
            flask.abort(400, description="after and numbers must be integers")
        trials = st.get_trials(deepcopy=False)
        rows = [trial_row(t) for t in trials if t.number > after or t.number in numbers]
        return _json({"trials": rows, "n_trials": len(trials)})

    @app.get("/api/studies/<int:study_id>/trials/<int:number>")
    def api_trial(study_id: int, number: int):
        st = _study_or_404(study_id)
        trials = st.get_trials(deepcopy=False)
        if not 0 <= number < len(trials):
            flask.abort(404, description=f"study has no trial number {number}")
        t = trials[number]
        row = trial_row(t)
        row["distributions"] = {n: repr(d) for n, d in t.distributions.items()}
        return _json(row)

    @app.get("/api/studies/<int:study_id>/plots/<key>")
    def api_plot(study_id: int, key: str):
        st = _study_or_404(study_id)
        try:
            fig = make_plot(st, key)
        except KeyError as e:
            flask.abort(404, description=str(e))
        except (ValueError, ImportError) as e:
            return _json({"error": f"{type(e).__name__}: {e}"}, status=422)
        return _json(escape_plotly_text(fig.to_plotly_json()))

    @app.errorhandler(404)
    @app.errorhandler(400)
    def _error(e):
        if flask.request.path.startswith("/api/"):
            return _json({"error": e.description}, status=e.code)
        return flask.Response(f"{e.code}: {e.description}\n", status=e.code, mimetype="text/plain")

    def _json(obj: Any, status: int = 200):
        return flask.Response(safe_json(obj), status=status, mimetype="application/json")

    return app


def _summary_row(s: Any) -> dict[str, Any]:
    return {
        "study_id": s.study_id,
        "name": s.name,
        "directions": [d.name.lower() for d in s.directions],
        "n_trials": s.n_trials,
        "state_counts": s.state_counts,
        "best_values": s.best_values,
        "datetime_start": s.datetime_start.isoformat() if s.datetime_start else None,
    }


def serve(
    storage: BaseStorage | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    token: str | None = None,
    refresh_interval: float = 2.0,
    ready: Any = None,
) -> None:
    """Serve the dashboard until interrupted.

    Binding to anything but a loopback address needs ``token`` (the studies, their
    parameters and failure messages would otherwise be open to the network).
    ``port=0`` takes a free port; the address served is printed on stdout (and
    passed to ``ready(url)`` if given).
    """
    if not _is_loopback(host) and token is None:
        raise ValueError(
            f"refusing to serve the dashboard on {host!r} without an access token; "
            "pass --token (or bind to 127.0.0.1)"
        )
    from werkzeug.serving import make_server

    app = create_app(storage, token=token, refresh_interval=refresh_interval)
    server = make_server(host, port, app, threaded=True)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{server.server_port}/"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"hypersearch dashboard: serving on {url}", flush=True)
    if ready is not None:
        ready(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()
