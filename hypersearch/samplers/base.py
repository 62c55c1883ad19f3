"""The sampler interface.

A sampler proposes parameter values.  It may work in two ways, and most
model-based samplers use both:

* **Joint ("relative") sampling.**  When a trial starts, the study asks the
  sampler for the search space it wants to model jointly
  (:meth:`BaseSampler.infer_relative_search_space`, usually derived from the
  history) and for values of all those parameters at once
  (:meth:`BaseSampler.sample_relative`).  When the objective later suggests one
  of those parameters with a distribution that contains the proposed value,
  it receives that value.
* **Per-parameter ("independent") sampling.**  Any parameter the joint proposal
  does not cover (a new parameter, a conditional one, or a dynamic one whose
  domain changed) is drawn by :meth:`BaseSampler.sample_independent`.

Samplers read the study's history through ``study.history``
(:class:`~hypersearch.study.TrialHistory`), which the study keeps up to date
incrementally; they should keep their own statistics incrementally as well
(see :meth:`BaseSampler.on_trial_finished`) instead of re-reading all trials
on every call.

Seeding contract: a sampler built with a seed proposes, for a given trial
number and history, the same values on every run.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.space.distributions import BaseDistribution

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.trial._state import TrialState
    from hypersearch.trial._trial import Trial

__all__ = ["BaseSampler", "ReadOnlySampler", "draw_seed", "trial_rng", "trial_uniform"]

SEED_ATTR = "sampler:seed"


def draw_seed() -> int:
    """A fresh random 32-bit seed from the operating system's entropy."""
    return int(np.random.SeedSequence().generate_state(1)[0])


def trial_rng(seed: int, number: int, attempt: int = 0, name: str | None = None) -> np.random.Generator:
    """Generator determined by ``(seed, trial number, attempt, parameter name)``.

    Drawing each trial's (and each parameter's) randomness from its own stream
    makes a seeded study reproducible regardless of the order in which parallel
    workers reach the sampler, and regardless of the order in which a dynamic
    objective suggests its parameters.
    """
    key = [int(seed) & 0xFFFFFFFF, int(number), int(attempt)]
    if name is not None:
        key.append(zlib.crc32(name.encode("utf-8")))
    return np.random.default_rng(key)


_M64 = (1 << 64) - 1


def _splitmix64(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def trial_uniform(seed: int, number: int, attempt: int, name: str) -> float:
    """A uniform number in ``[0, 1)`` determined by ``(seed, number, attempt, name)``.

    The same contract as :func:`trial_rng` for the common case of one draw per
    parameter, at a tenth of the cost (a SplitMix64 hash chain instead of a
    new numpy generator).
    """
    h = _splitmix64(int(seed) & _M64)
    h = _splitmix64(h ^ (int(number) & _M64))
    h = _splitmix64(h ^ (int(attempt) & _M64))
    h = _splitmix64(h ^ zlib.crc32(name.encode("utf-8")))
    return (h >> 11) * (1.0 / (1 << 53))


class BaseSampler:
    """Base class of all samplers.  Subclasses override what they need."""

    #: Seed used by the sampler; recorded in the study so that a resumed study
    #: continues the same random streams.
    seed: int
    #: Whether the sampler reads finished trials from ``study.history`` after its
    #: ``on_trial_finished`` has seen them.  The built-in samplers do not (they keep
    #: their own compact statistics, or need none) and set it to ``False``; the
    #: study then drops finished trials from memory, so a long-lived worker does
    #: not grow with the study (``study.trials`` then reads them from the storage).
    #: ``True`` by default, so that a custom sampler indexing ``history.trials``
    #: keeps working.
    needs_finished_trials: bool = True

    def infer_relative_search_space(
        self, study: Study, trial: Trial
    ) -> dict[str, BaseDistribution]:
        """Parameters to sample jointly for ``trial`` (empty: none)."""
        return {}

    def sample_relative(
        self, study: Study, trial: Trial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Values for (a subset of) ``search_space`` proposed jointly."""
        return {}

    def sample_independent(
        self, study: Study, trial: Trial, name: str, distribution: BaseDistribution
    ) -> Any:
        """A value for one parameter that joint sampling did not cover."""
        raise NotImplementedError

    def before_trial(self, study: Study, trial: Trial) -> None:
        """Called when ``trial`` starts, before any suggestion."""

    def on_reject(self, study: Study, trial: Trial) -> None:
        """Called when the configuration proposed for ``trial`` was rejected by a
        constraint and will be drawn again; deterministic samplers must move on
        to another point."""

    def before_finish(self, study: Study, trial: Trial, state: TrialState, values: list[float] | None) -> None:
        """Called in the worker's process just before ``trial`` is written with its
        final ``state`` and ``values``: the last moment to record attributes with it
        (e.g. NSGA-II's constraint values, so every process reads them instead of
        recomputing)."""

    def added_trial_attrs(self, study: Study, trial: FrozenTrial) -> dict[str, Any]:
        """System attributes to store with a finished trial recorded from elsewhere
        (:meth:`Study.add_trial`), which no worker ran and so :meth:`before_finish`
        never saw: e.g. NSGA-II's constraint values, so that the study's front and
        the sampler agree on its feasibility."""
        return {}

    def on_trial_finished(self, study: Study, trial: FrozenTrial) -> None:
        """Called once for every trial the study's history sees finish, whichever
        worker ran it: the place to update incremental statistics."""

    def after_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Called in the worker that ran ``trial`` right after it was recorded."""

    def attach(self, study: Study) -> None:
        """Called once when the sampler is bound to a study (restore state here).

        The default records the sampler's seed in the study, or, when the sampler
        was built without an explicit seed and the study already has one, adopts
        it: a resumed study then continues the same random streams.
        """
        if not hasattr(self, "seed"):
            return
        stored = study.system_attrs.get(SEED_ATTR)
        if stored is None:
            # Processes that open a new study at once agree on the first writer's
            # seed (brackets and random streams follow it).
            stored = study._setdefault_system_attr(SEED_ATTR, self.seed)
            if stored == self.seed:
                return
        if not getattr(self, "_explicit_seed", True):
            if isinstance(stored, bool) or not isinstance(stored, int):
                raise ValueError(
                    f"study {study.study_name!r}: its stored sampler seed ({SEED_ATTR!r}) is "
                    f"{stored!r}, not an integer; the storage was altered outside hypersearch"
                )
            self.seed = int(stored)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={getattr(self, 'seed', None)!r})"


class ReadOnlySampler(BaseSampler):
    """The sampler of a process that only reads a study (the dashboard, the CLI's
    listings, reports): attaching it writes nothing to the study and replays
    nothing, and it refuses to propose configurations."""

    def attach(self, study: Study) -> None:
        return None

    def sample_independent(self, study: Study, trial: Trial, name: str, distribution: BaseDistribution) -> Any:
        raise RuntimeError(
            "this study was opened read-only (ReadOnlySampler); open it with a sampler to run trials"
        )
