"""Quasi-random (low-discrepancy) search with scrambled Sobol or Halton sequences."""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING, Any

from hypersearch.samplers.base import BaseSampler, draw_seed, trial_uniform
from hypersearch.space.distributions import BaseDistribution
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._trial import Trial


#: Study system attribute prefix: ``qmc:dim:<i>`` holds the name bound to coordinate i.
_DIM_ATTR = "qmc:dim:"


class QMCSampler(BaseSampler):
    """Quasi-Monte Carlo search: covers the space more evenly than random draws.

    Trial ``n`` receives point ``n`` of a scrambled Sobol (default) or Halton
    sequence in ``max_dims`` dimensions, mapped through each parameter's
    unit-interval encoding (log scales, steps and choices included).  Each
    parameter name is bound to one coordinate of the sequence in order of first
    draw, which lets conditional and dynamic parameters work like any other.
    The binding is stored in the study (system attributes ``qmc:dim:<i>``, one
    write per new name), so a resumed study and every worker sharing it keep the
    same coordinates.  Parameters beyond ``max_dims`` fall back to pseudo-random
    draws.

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
        with self._lock:
            self._dims = {}
        self._bound = False  # the stored binding is read on the first draw

    def _bind(self, study: Study) -> None:
        """Read the study's stored binding once, on the first draw (a model-based
        sampler that starts with QMC draws may never need it).  A study whose
        binding was never stored (written before it was) binds the parameters of
        its started trials in order of first appearance."""
        if self._bound:
            return
        with self._bind_lock:
            if self._bound:
                return
            attrs = study._storage.get_study_attrs(study._study_id)[1]
            stored = {int(k[len(_DIM_ATTR):]): v for k, v in attrs.items()
                      if k.startswith(_DIM_ATTR) and k[len(_DIM_ATTR):].isdigit()}
            with self._lock:
                for i in sorted(stored):
                    self._dims.setdefault(stored[i], i)
            if not stored:
                for t in study.history.all_trials():
                    if t.state != TrialState.WAITING:  # queued configurations are not drawn yet
                        for name in t.params:
                            self._dim(study, name)
            self._bound = True

    def _dim(self, study: Study, name: str) -> int:
        """The coordinate of ``name``; a new name claims the next coordinate free in
        the study (another process may have just bound it to another name)."""
        with self._lock:
            if name in self._dims:
                return self._dims[name]
        while True:
            with self._lock:
                if name in self._dims:
                    return self._dims[name]
                i = max(self._dims.values(), default=-1) + 1
            owner = study._setdefault_system_attr(f"{_DIM_ATTR}{i}", name)
            with self._lock:
                self._dims.setdefault(owner, i)
                if owner == name:
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
        d = self._dim(study, name)
        if d >= self.max_dims or trial.attempt > 0:
            # beyond the sequence's dimensions, and for constraint re-draws (jumping far
            # along a Sobol sequence costs seconds): seeded hashed uniforms
            return distribution.from_unit(trial_uniform(self.seed, trial.number, trial.attempt, name))
        return distribution.from_unit(float(self._point(trial.number)[d]))
