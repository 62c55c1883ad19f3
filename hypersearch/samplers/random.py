"""Random search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypersearch.samplers.base import BaseSampler, draw_seed, trial_uniform
from hypersearch.space.distributions import BaseDistribution

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._trial import Trial


class RandomSampler(BaseSampler):
    """Independent draws from each parameter's prior (uniform, log-uniform or
    uniform over the choices).

    A strong baseline in high dimension and the reference point of the
    benchmarks.  Every value depends only on ``(seed, trial number, constraint
    attempt, parameter name)``, so a seeded study is reproducible even with
    parallel workers and dynamic spaces.

    Args:
        seed: Seed of the random streams; ``None`` draws one (and the study
            records it, so a resumed study continues the same streams).
    """

    needs_finished_trials = False  # reads nothing back from the history

    def __init__(self, seed: int | None = None) -> None:
        self.seed = draw_seed() if seed is None else int(seed)
        self._explicit_seed = seed is not None

    def sample_independent(
        self, study: Study, trial: Trial, name: str, distribution: BaseDistribution
    ) -> Any:
        # Every distribution maps the unit interval onto its prior (uniform, log-uniform,
        # uniform over steps or choices), so one hashed uniform number per parameter suffices.
        return distribution.from_unit(trial_uniform(self.seed, trial.number, trial.attempt, name))
