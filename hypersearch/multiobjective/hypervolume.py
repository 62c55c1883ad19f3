"""Hypervolume: the volume of objective space a set of points dominates, up to a
reference point.  It is the standard single number for the quality of a Pareto
front (larger is better) and for comparing multi-objective optimisers.

Exact for two objectives (a sweep, ``O(n log n)``) and three (a sweep over the
third objective of exact two-dimensional fronts, ``O(n^2 log n)``); above that
a Monte-Carlo estimate inside the reference box (seeded, with its standard
error), since exact algorithms grow exponentially with the number of
objectives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study

__all__ = ["hypervolume", "hypervolume_history", "pareto_mask", "study_hypervolume"]


def pareto_mask(F: np.ndarray, *, keep_duplicates: bool = True) -> np.ndarray:
    """Rows of ``F`` (minimised, one column per objective) that no other row
    dominates.  Rows with equal values dominate neither: all are kept, as
    ``study.best_trials`` keeps them (``keep_duplicates=False``: only the first,
    which is what a hypervolume needs)."""
    F = np.asarray(F, dtype=float)
    n = len(F)
    keep = np.ones(n, dtype=bool)
    order = np.lexsort(F.T[::-1])
    front: list[int] = []
    for i in order:
        f = F[i]
        if front:
            P = F[front]
            weak = (P <= f).all(1)
            if (weak & (P < f).any(1)).any() or (not keep_duplicates and weak.any()):
                keep[i] = False
                continue
        front.append(i)
    return keep


def _hv2(P: np.ndarray, ref: np.ndarray) -> float:
    P = P[np.argsort(P[:, 0], kind="stable")]
    hv, best_y = 0.0, ref[1]
    for x, y in P:
        if y < best_y:
            hv += (ref[0] - x) * (best_y - y)
            best_y = y
    return hv


def _hv3(P: np.ndarray, ref: np.ndarray) -> float:
    P = P[np.argsort(P[:, 2], kind="stable")]
    hv = 0.0
    for i in range(len(P)):
        z_hi = P[i + 1, 2] if i + 1 < len(P) else ref[2]
        if z_hi <= P[i, 2]:
            continue
        front = P[: i + 1, :2]
        front = front[pareto_mask(front, keep_duplicates=False)]
        hv += _hv2(front, ref[:2]) * (z_hi - P[i, 2])
    return hv


def hypervolume(
    points: Sequence[Sequence[float]] | np.ndarray,
    reference: Sequence[float],
    *,
    directions: Sequence[Any] | None = None,
    n_samples: int = 200_000,
    seed: int = 0,
    return_error: bool = False,
) -> float | tuple[float, float]:
    """Hypervolume dominated by ``points`` up to ``reference``.

    Args:
        points: One row per solution, one column per objective.
        reference: A point worse than every solution of interest in each
            objective; points not strictly better in every objective add nothing.
        directions: Per objective ``"minimize"``/``"maximize"`` (default: all
            minimised); maximised objectives are negated, reference included.
        n_samples, seed: Monte-Carlo settings for more than three objectives.
        return_error: Also return the standard error (0 when exact).
    """
    from hypersearch.study._direction import StudyDirection

    P = np.asarray(points, dtype=float).reshape(-1, len(reference))
    ref = np.asarray(reference, dtype=float)
    if not np.all(np.isfinite(ref)):
        raise ValueError(f"reference must be finite, got {list(reference)}")
    if directions is not None:
        if len(directions) != len(ref):
            raise ValueError(f"{len(directions)} directions for {len(ref)} objectives")
        signs = np.array([StudyDirection.parse(d).sign() for d in directions])
        P, ref = P * signs, ref * signs
    P = P[np.all(np.isfinite(P), axis=1) & np.all(P < ref, axis=1)]
    if len(P) == 0:
        return (0.0, 0.0) if return_error else 0.0
    P = P[pareto_mask(P, keep_duplicates=False)]
    m = P.shape[1]
    err = 0.0
    if m == 1:
        hv = float(ref[0] - P[:, 0].min())
    elif m == 2:
        hv = _hv2(P, ref)
    elif m == 3:
        hv = _hv3(P, ref)
    else:
        lo = P.min(axis=0)
        box = float(np.prod(ref - lo))
        rng = np.random.default_rng(seed)
        hits = 0
        done = 0
        while done < n_samples:
            k = min(20_000, n_samples - done)
            U = lo + rng.random((k, m)) * (ref - lo)
            dominated = np.zeros(k, dtype=bool)
            for p in P:
                dominated |= (U >= p).all(1)
            hits += int(dominated.sum())
            done += k
        frac = hits / done
        hv = box * frac
        err = box * float(np.sqrt(frac * (1 - frac) / done))
    return (float(hv), err) if return_error else float(hv)


def _values(study: Study) -> tuple[list, np.ndarray]:
    from hypersearch.study._history import is_feasible
    from hypersearch.trial._state import TrialState

    # infeasible trials (constraint values > 0) are not on the front: they add no volume
    trials = [
        t for t in study.get_trials([TrialState.COMPLETE], deepcopy=False) if t.values is not None and is_feasible(t)
    ]
    return trials, np.array([t.values for t in trials], dtype=float).reshape(len(trials), len(study.directions))


def study_hypervolume(study: Study, reference: Sequence[float], **kwargs: Any) -> float:
    """Hypervolume of a study's feasible COMPLETE trials (its Pareto front) in the
    study's directions."""
    _, F = _values(study)
    return hypervolume(F, reference, directions=study.directions, **kwargs)  # type: ignore[return-value]


def hypervolume_history(study: Study, reference: Sequence[float], **kwargs: Any) -> list[tuple[int, float]]:
    """``(trial number, hypervolume of the feasible COMPLETE trials up to it)`` after
    each such trial, in trial-number order: how the front improved over time."""
    trials, F = _values(study)
    out = []
    for i, t in enumerate(trials):
        out.append((t.number, hypervolume(F[: i + 1], reference, directions=study.directions, **kwargs)))
    return out
