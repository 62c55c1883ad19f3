#!/usr/bin/env bash
# The whole test suite: install test dependencies, lint, run every test.
# Needs the local PostgreSQL server (127.0.0.1:5432, user postgres); under CI a
# missing server fails the run instead of skipping its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e '.[dev]'
python -m ruff check .
python -m pytest -q "$@"
