#!/usr/bin/env bash
# Main job: install hypersearch with scikit-learn, then tune a classifier into ./hypersearch.db.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e '.[sklearn]'
python examples/tune_sklearn.py "$@"
