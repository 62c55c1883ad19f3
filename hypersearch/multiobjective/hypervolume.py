"""Hypervolume: the volume of objective space a set of points dominates, up to a
reference point.  It is the standard single number for the quality of a Pareto
front (larger is better) and for comparing multi-objective optimisers.

Exact for two objectives (a sweep, ``O(n log n)``) and three (a sweep over the
third objective of a two-dimensional front kept up to date, ``O(n^2)``); above that
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
    """Sweep up the third objective, keeping the two-dimensional front of the points
    passed so far as a staircase (x ascending, y descending) that each point
    updates in place: ``O(n^2)`` in all, instead of a front rebuilt per slab."""
    from bisect import bisect_left

    P = P[np.lexsort((P[:, 1], P[:, 0], P[:, 2]))]
    xs: list[float] = []
    ys: list[float] = []
    area = 0.0
    hv = 0.0
    for i in range(len(P)):
        x, y, z = float(P[i, 0]), float(P[i, 1]), float(P[i, 2])
        k = bisect_left(xs, x)
        dominated = (k > 0 and ys[k - 1] <= y) or (k < len(xs) and xs[k] == x and ys[k] <= y)
        if not dominated:
            j = k
            while j < len(xs) and ys[j] >= y:  # points the new one dominates
                j += 1
            del xs[k:j], ys[k:j]
            xs.insert(k, x)
            ys.insert(k, y)
            area = _staircase_area(xs, ys, ref)
        z_hi = float(P[i + 1, 2]) if i + 1 < len(P) else float(ref[2])
        if z_hi > z:
            hv += area * (z_hi - z)
    return hv


def _staircase_area(xs: list[float], ys: list[float], ref: np.ndarray) -> float:
    """Area dominated by a 2-d staircase (x ascending, y descending) up to ``ref``."""
    area = 0.0
    for n in range(len(xs)):
        x_next = xs[n + 1] if n + 1 < len(xs) else float(ref[0])
        area += (x_next - xs[n]) * (float(ref[1]) - ys[n])
    return area


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

    ref = np.asarray(reference, dtype=float)
    if ref.ndim != 1 or len(ref) == 0:
        raise ValueError(f"reference must be one point (a list of numbers), got {reference!r}")
    P = np.asarray(points, dtype=float)
    if P.size == 0:
        P = P.reshape(0, len(ref))
    if P.ndim == 1:
        P = P.reshape(1, -1)
    if P.ndim != 2 or P.shape[1] != len(ref):
        raise ValueError(
            f"points have {P.shape[-1]} objective(s) each, the reference {len(ref)}: give one "
            "reference value per objective"
        )
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
    _check_reference(study, reference)
    _, F = _values(study)
    return hypervolume(F, reference, directions=study.directions, **kwargs)  # type: ignore[return-value]


def _check_reference(study: Study, reference: Sequence[float]) -> None:
    n = len(study.directions)
    if np.ndim(reference) != 1 or len(reference) != n:
        raise ValueError(f"study {study.study_name!r} has {n} objective(s); the reference must have {n} values, "
                         f"got {reference!r}")


def hypervolume_history(study: Study, reference: Sequence[float], **kwargs: Any) -> list[tuple[int, float]]:
    """``(trial number, hypervolume of the feasible COMPLETE trials up to it)`` after
    each such trial, in trial-number order: how the front improved over time."""
    _check_reference(study, reference)
    trials, F = _values(study)
    signs = np.array([d.sign() for d in study.directions])
    out: list[tuple[int, float]] = []
    front: list[np.ndarray] = []  # the non-dominated points so far (minimised)
    hv = 0.0
    for t, f in zip(trials, F):
        g = f * signs
        if not front or not any(bool(np.all(p <= g)) for p in front):
            # a point the front does not weakly dominate changes the volume; others
            # leave it as it was (most trials, once a front has formed)
            front = [p for p in front if not np.all(g <= p)] + [g]
            hv = hypervolume(np.array(front) * signs, reference, directions=study.directions, **kwargs)  # type: ignore[assignment]
        out.append((t.number, hv))
    return out
