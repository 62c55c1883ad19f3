#!/usr/bin/env bash
# The whole test suite: install test dependencies, lint, run every test.
# Needs the local PostgreSQL server (127.0.0.1:5432, user postgres); under CI a
# missing server fails the run instead of skipping its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# PyTorch first, from its CPU build (the hypergradient and integration tests use it;
# installing it alone keeps another package from pulling a CUDA build).
python -m pip install -q 'torch==2.13.0' || python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
python -m pip install -q -e '.[dev]'
python -m ruff check .
python -m pytest -q "$@"
