"""Quasi-random (low-discrepancy) search with scrambled Sobol or Halton sequences."""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING, Any

from hypersearch.samplers.base import BaseSampler, draw_seed, trial_uniform
from hypersearch.space.distributions import BaseDistribution

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._trial import Trial


class QMCSampler(BaseSampler):
    """Quasi-Monte Carlo search: covers the space more evenly than random draws.

    Trial ``n`` receives point ``n`` of a scrambled Sobol (default) or Halton
    sequence in ``max_dims`` dimensions, mapped through each parameter's
    unit-interval encoding (log scales, steps and choices included).  Each
    parameter name is bound to one coordinate of the sequence in order of first
    appearance (taken from the study's history at the first draw, so a resumed
    study keeps the binding), which lets conditional and dynamic
    parameters work like any other.  Parameters beyond ``max_dims`` fall back to
    pseudo-random draws.

    Args:
        qmc_type: ``"sobol"`` or ``"halton"``.
        scramble: Randomise the sequence (recommended; needed for unbiased
            estimates and to differ between seeds).
        seed: Seed of the scrambling.
        max_dims: Dimension of the sequence.
    """

    needs_finished_trials = False  # reads nothing back from the history

    def __init__(
        self,
        *,
        qmc_type: str = "sobol",
        scramble: bool = True,
        seed: int | None = None,
        max_dims: int = 64,
    ) -> None:
        if qmc_type not in ("sobol", "halton"):
            raise ValueError(f"qmc_type must be 'sobol' or 'halton', got {qmc_type!r}")
        if not isinstance(max_dims, int) or max_dims < 1:
            raise ValueError(f"max_dims must be a positive integer, got {max_dims!r}")
        self.qmc_type = qmc_type
        self.scramble = scramble
        self.seed = draw_seed() if seed is None else int(seed)
        self._explicit_seed = seed is not None
        self.max_dims = max_dims
        self._dims: dict[str, int] = {}
        self._lock = threading.Lock()
        self._cache: tuple[int, Any] | None = None
        self._bind_lock = threading.Lock()
        self._bound = True  # nothing to read until attached to a study

    def attach(self, study: Study) -> None:
        super().attach(study)
        self._bound = False  # the history's bindings are read on the first draw

    def _bind(self, study: Study) -> None:
        """Bind the parameters of the study's trials to coordinates, in order of
        first appearance, once (on the first draw, so that opening a large study
        reads nothing; a model-based sampler that starts with QMC draws may never
        need them)."""
        if self._bound:
            return
        with self._bind_lock:
            if self._bound:
                return
            for t in study.history.all_trials():
                for name in t.params:
                    self._dim(name)
            self._bound = True

    def _dim(self, name: str) -> int:
        with self._lock:
            if name not in self._dims:
                self._dims[name] = len(self._dims)
            return self._dims[name]

    def _point(self, index: int):
        with self._lock:
            if self._cache is not None and self._cache[0] == index:
                return self._cache[1]
        from scipy.stats import qmc

        if self.qmc_type == "sobol":
            engine = qmc.Sobol(d=self.max_dims, scramble=self.scramble, seed=self.seed)
        else:
            engine = qmc.Halton(d=self.max_dims, scramble=self.scramble, seed=self.seed)
        if index:
            engine.fast_forward(index)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pt = engine.random(1)[0]
        with self._lock:
            self._cache = (index, pt)
        return pt

    def sample_independent(
        self, study: Study, trial: Trial, name: str, distribution: BaseDistribution
    ) -> Any:
        self._bind(study)
        d = self._dim(name)
        if d >= self.max_dims or trial.attempt > 0:
            # beyond the sequence's dimensions, and for constraint re-draws (jumping far
            # along a Sobol sequence costs seconds): seeded hashed uniforms
            return distribution.from_unit(trial_uniform(self.seed, trial.number, trial.attempt, name))
        return distribution.from_unit(float(self._point(trial.number)[d]))
