"""A live web dashboard over a storage: ``hypersearch dashboard --storage URL``.

The study list, and per study: a summary, a trial table that updates itself
while other processes write to the storage (sortable, filterable by state and
by parameter), every plot that applies (the figures of the HTML report), and
the detail of a trial (parameters, intermediate values, user attributes,
failure reason).

It is a small Flask application (``create_app``) that only reads: every route
is a GET, stored strings reach the page only as JSON rendered with
``textContent`` or as autoescaped template text, and a Content-Security-Policy
keeps the page from loading anything but its own scripts.  It binds to
127.0.0.1 by default; serving on another address requires an access token.
Needs the ``dashboard`` extra (Flask, plotly).
"""

from hypersearch.dashboard._app import create_app, serve

__all__ = ["create_app", "serve"]
