"""Benchmarks comparing hypersearch with Optuna (see README.md); not part of the package."""
