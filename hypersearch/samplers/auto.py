"""The default sampler: Gaussian-process BO while it pays off, TPE otherwise."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from hypersearch.samplers.base import BaseSampler, draw_seed
from hypersearch.space.distributions import BaseDistribution, CategoricalDistribution
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.trial._trial import Trial


class AutoSampler(BaseSampler):
    """What :func:`~hypersearch.create_study` uses when no sampler is given.

    For every trial it picks, from the history so far:

    * :class:`~hypersearch.samplers.gp.GPSampler` when the study is
      single-objective, the space is flat (every completed trial has the same
      parameters with the same distributions), it has at most ``gp_max_dims``
      dimensions (one per number, one per categorical choice) and fewer than
      ``gp_max_trials`` trials completed: the regime where a Gaussian process is
      the most sample-efficient model and its cubic cost is still small;
    * :class:`~hypersearch.samplers.tpe.TPESampler` otherwise: conditional or
      dynamic spaces, many dimensions, long studies, several objectives.

    Both start with their own space-filling design for the first trials, and both
    follow the whole history (incrementally), so switching loses nothing.

    Args:
        seed: Seed shared by both samplers.
        gp_max_dims: Largest encoded dimension handed to the GP.
        gp_max_trials: Completed trials after which TPE takes over.
    """

    needs_finished_trials = False  # keeps its own statistics from on_trial_finished

    def __init__(self, *, seed: int | None = None, gp_max_dims: int = 16, gp_max_trials: int = 200) -> None:
        from hypersearch.samplers.gp import GPSampler
        from hypersearch.samplers.tpe import TPESampler

        for name, v in (("gp_max_dims", gp_max_dims), ("gp_max_trials", gp_max_trials)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
        self.seed = draw_seed() if seed is None else int(seed)
        self._explicit_seed = seed is not None
        self.gp_max_dims = gp_max_dims
        self.gp_max_trials = gp_max_trials
        self.gp = GPSampler(seed=self.seed)
        self.tpe = TPESampler(seed=self.seed)
        self._lock = threading.Lock()
        self._choice: dict[int, BaseSampler] = {}
        self._space: dict[str, BaseDistribution] | None = None
        self._irregular = False
        self._n_complete = 0
        self._multi = False

    # -- bookkeeping ------------------------------------------------------------------
    def attach(self, study: Study) -> None:
        super().attach(study)  # records or adopts the seed
        self._multi = len(study.directions) > 1
        subs = [self.tpe] if self._multi else [self.gp, self.tpe]
        for s in subs:
            s.seed = self.seed
            s._explicit_seed = True
            s.attach(study)

    def on_trial_finished(self, study: Study, trial: FrozenTrial) -> None:
        if trial.state == TrialState.COMPLETE:
            with self._lock:
                self._n_complete += 1
                if self._space is None:
                    self._space = dict(trial.distributions)
                elif trial.distributions != self._space:
                    self._irregular = not self._regular(trial)
        if not self._multi:
            self.gp.on_trial_finished(study, trial)
        self.tpe.on_trial_finished(study, trial)

    def _regular(self, trial: FrozenTrial) -> bool:
        """Whether ``trial`` fits the flat space seen so far after all: the same names,
        with any differing distribution a one-value known point (``add_trial``
        without distributions) or, where the first trial was such a
        point, a range that holds it (which then becomes the known distribution)."""
        assert self._space is not None
        if self._irregular or set(trial.distributions) != set(self._space):
            return False
        for name, d in trial.distributions.items():
            known = self._space[name]
            if d == known:
                continue
            if d.single():  # a known point: the GP models it, or leaves it out if outside
                continue
            if known.single() and not d.single() and d.contains(known.from_unit(0.5)):
                self._space[name] = d
                continue
            return False
        return True

    def after_trial(self, study: Study, trial: FrozenTrial) -> None:
        s = self._choice.pop(trial.number, None)
        if s is not None:
            s.after_trial(study, trial)

    def _dims(self) -> int:
        assert self._space is not None
        return sum(
            len(d.choices) if isinstance(d, CategoricalDistribution) else 1
            for d in self._space.values()
            if not d.single()
        )

    def _pick(self) -> BaseSampler:
        with self._lock:
            use_gp = (
                not self._multi
                and not self._irregular
                and self._n_complete < self.gp_max_trials
                and (self._space is None or self._dims() <= self.gp_max_dims)
            )
        return self.gp if use_gp else self.tpe

    def chosen(self, trial: Trial) -> BaseSampler:
        """The sampler serving ``trial``."""
        with self._lock:
            s = self._choice.get(trial.number)
        if s is None:
            s = self._pick()
            with self._lock:
                self._choice[trial.number] = s
        return s

    # -- delegation -------------------------------------------------------------------
    def before_trial(self, study: Study, trial: Trial) -> None:
        self.chosen(trial).before_trial(study, trial)

    def infer_relative_search_space(self, study: Study, trial: Trial) -> dict[str, BaseDistribution]:
        return self.chosen(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: Trial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self.chosen(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: Study, trial: Trial, name: str, distribution: BaseDistribution) -> Any:
        return self.chosen(trial).sample_independent(study, trial, name, distribution)

    def on_reject(self, study: Study, trial: Trial) -> None:
        self.chosen(trial).on_reject(study, trial)

    def __repr__(self) -> str:
        return f"AutoSampler(seed={self.seed})"
