"""Exhaustive grid search."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.exceptions import SearchSpaceExhausted
from hypersearch.samplers.base import BaseSampler, draw_seed
from hypersearch.samplers.random import RandomSampler
from hypersearch.space.distributions import BaseDistribution, CategoricalDistribution

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._trial import Trial

GRID_ID_ATTR = "grid_id"


class GridSampler(BaseSampler):
    """Evaluate every combination of the given values, each exactly once.

    The grid is written to the study as enqueued (WAITING) trials the first time
    the sampler is attached, atomically and once across all processes; workers
    then claim grid points through the storage, so several workers (threads,
    processes or machines) never evaluate a point twice, and a resumed study
    continues with the points not yet evaluated.  A study resumed with another
    grid or another ``repeats`` gets only the evaluations still missing (points
    it already holds count).  When no point is left, ``study.optimize`` stops
    cleanly.

    Args:
        search_space: ``{name: [values...]}``.  Parameters the objective suggests
            that are not in the grid are drawn at random.
        shuffle: Visit the points in a seeded random order (useful when the grid
            may not be finished) instead of lexicographic order.
        repeats: Evaluate every point this many times (e.g. to average over seeds,
            or Ray Tune's ``num_samples`` with grid axes).
        seed: Seed for the shuffle and for parameters outside the grid.
    """

    needs_finished_trials = False  # reads nothing back from the history

    #: The study should not create new trials once the grid is used up.
    waiting_only = True

    def __init__(
        self,
        search_space: Mapping[str, Sequence[Any]],
        *,
        shuffle: bool = False,
        repeats: int = 1,
        seed: int | None = None,
    ) -> None:
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f"GridSampler: repeats must be a positive integer, got {repeats!r}")
        self._repeats = repeats
        if not isinstance(search_space, Mapping) or not search_space:
            raise ValueError("GridSampler: search_space must be a non-empty dict {name: values}")
        axes: dict[str, list[Any]] = {}
        for name, values in search_space.items():
            if isinstance(values, BaseDistribution):
                values = _grid_values(name, values)
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise ValueError(
                    f"GridSampler: parameter {name!r} needs a list of values, got {values!r}"
                )
            # reuse categorical validation: non-empty, no duplicates, JSON scalars
            CategoricalDistribution(list(values), name=name)
            axes[name] = list(values)
        self._axes = axes
        self._names = list(axes)
        self.seed = draw_seed() if seed is None else int(seed)
        self._explicit_seed = seed is not None
        self._shuffle = shuffle
        self._fallback = RandomSampler(seed=self.seed)

    @property
    def grid_size(self) -> int:
        return math.prod(len(v) for v in self._axes.values()) * self._repeats

    def _points(self) -> list[dict[str, Any]]:
        pts = [
            dict(zip(self._names, combo))
            for combo in itertools.product(*self._axes.values())
            for _ in range(self._repeats)
        ]
        if self._shuffle:
            order = np.random.default_rng(self.seed).permutation(len(pts))
            pts = [pts[i] for i in order]
        return pts

    def attach(self, study: Study) -> None:
        super().attach(study)
        self._fallback.seed = self.seed
        key = "grid:" + _fingerprint({"axes": self._axes, "repeats": self._repeats})
        points = list(enumerate(self._points()))
        if key not in study.system_attrs and study._storage.count_trials(study._study_id):
            points = self._short(study, points)  # (a grid queued before is not read again)
        study._storage.enqueue_trials(
            study._study_id,
            [(p, {GRID_ID_ATTR: i}) for i, p in points],
            once_key=key,
        )

    def _short(self, study: Study, points: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
        """The points of a study that holds trials already (a resumed run whose grid or
        ``repeats`` changed) that still lack evaluations: each point is queued
        ``repeats`` times less the trials that have (or are queued with) its values.
        A failed trial that was queued again counts through its retry."""
        have: dict[tuple, int] = {}
        for t in study._storage.get_trials(study._study_id):
            if "requeued_as" in t.system_attrs or not all(n in t.params for n in self._names):
                continue
            k = tuple(_same(t.params[n]) for n in self._names)
            have[k] = have.get(k, 0) + 1
        out = []
        for i, p in points:
            k = tuple(_same(p[n]) for n in self._names)
            if have.get(k, 0) > 0:
                have[k] -= 1
            else:
                out.append((i, p))
        return out

    def before_trial(self, study: Study, trial: Trial) -> None:
        if GRID_ID_ATTR not in trial.system_attrs and not trial._fixed:
            raise SearchSpaceExhausted("GridSampler: every grid point has been claimed")

    def sample_independent(
        self, study: Study, trial: Trial, name: str, distribution: BaseDistribution
    ) -> Any:
        return self._fallback.sample_independent(study, trial, name, distribution)


def _grid_values(name: str, d: BaseDistribution) -> list[Any]:
    from hypersearch.space.distributions import FloatDistribution, IntDistribution

    if isinstance(d, CategoricalDistribution):
        return list(d.choices)
    if isinstance(d, IntDistribution):
        return list(range(d.low, d.high + 1, d.step))
    if isinstance(d, FloatDistribution) and d.step is not None:
        return [d.from_unit((k + 0.5) / d._n) for k in range(d._n)]
    raise ValueError(
        f"GridSampler: parameter {name!r} is continuous ({d!r}); give explicit values or a step"
    )


def _same(v: Any) -> tuple:
    """Comparison key of a parameter value: a grid value ``1`` and the ``1.0`` a float
    parameter stores are the same point (booleans stay apart from numbers)."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (int, float)):
        # 12 significant digits: 0.1 * 3 (0.30000000000000004, e.g. from np.arange) and
        # the 0.3 a stepped float stores are the same point
        return ("num", float(f"{float(v):.12g}"))
    from hypersearch.storage._common import dumps

    return ("json", dumps(v))


def _fingerprint(axes: dict[str, list[Any]]) -> str:
    import hashlib

    from hypersearch.storage._common import dumps

    return hashlib.sha1(dumps(axes).encode("utf-8")).hexdigest()[:16]
