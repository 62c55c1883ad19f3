"""Asynchronous particle swarm optimisation in the unit cube."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from hypersearch.space.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hypersearch.space.encoding import UnitCubeEncoder

from ._common import Observation, PopulationSampler, check_float, check_int, encode_params
from ._operators import pso_step

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._trial import Trial

__all__ = ["PSOSampler"]


@dataclass
class _Particle:
    best: Observation | None = None
    # the particle's two latest finished positions, by trial number (newest last)
    recent: list[Observation] = field(default_factory=list)

    def add(self, obs: Observation) -> None:
        if self.best is None or obs.key < self.best.key:
            self.best = obs
        self.recent.append(obs)
        self.recent.sort(key=lambda o: o.number)
        del self.recent[:-2]


class PSOSampler(PopulationSampler):
    """Particle swarm optimisation (Kennedy & Eberhart 1995, with inertia weight),
    asynchronous.

    The swarm has ``swarm_size`` particles; trial ``k`` is the next position of
    particle ``k mod swarm_size``.  A particle's position is its latest finished
    trial, its velocity the move between its two latest finished trials, and
    its personal best its best trial; the global best is the best trial of the
    study.  The next position is::

        v' = inertia * v + cognitive * r1 * (pbest - x) + social * r2 * (gbest - x)
        x' = clip(x + clip(v', -velocity_clamp, velocity_clamp), 0, 1)

    in the unit cube (log scales linear, integers and stepped floats on cell
    centres, categoricals as one-hot blocks decoded by argmax), with
    ``r1, r2`` uniform per coordinate.  Velocity clamping keeps particles from
    overshooting; clipping keeps them in bounds.  The defaults (``inertia``
    0.7298, ``cognitive = social = 1.49618``) are Clerc's constriction
    coefficients, the standard convergent setting::

        study = hs.create_study(sampler=PSOSampler(swarm_size=20, seed=0))
        study.optimize(objective, n_trials=300)

    **Asynchronous.**  No worker waits for the swarm: a particle moves from the
    state its finished trials define, so trial ``k``'s proposal depends only on
    the history, the seed and ``k``.  A particle without a finished trial yet
    starts at a uniformly random position; its first move has a random
    velocity.  A particle at rest on the global best (no velocity left) takes
    a small random step (up to a quarter of ``velocity_clamp``) rather than
    evaluating the same point again, as in guaranteed-convergence PSO.

    **Spaces, warm starts and constraints.**  The evolved space holds the
    parameters present in every COMPLETE trial; conditional and new parameters
    are drawn at random, and a dynamic parameter's older values are clamped into
    its newest range.  Enqueued and added trials are positions of the particle
    their number belongs to (and may become the global best); parameters fixed
    by an enqueued partial configuration keep their values.  A configuration
    rejected by a constraint is re-drawn from a new random stream
    (``trial.attempt``), contracted towards the particle's position (which
    passed the constraints) by ``0.5 ** attempt``, and never proposed again
    for that trial.

    **Storage and cost.**  The swarm is rebuilt from the finished trials in
    trial-number order when the sampler is attached (nothing else is stored);
    a finished trial updates one particle in O(1), and a proposal encodes four
    trials.

    Only single-objective studies are supported.

    Args:
        swarm_size: Number of particles (>= 2).
        inertia: Weight of the previous velocity, in ``[0, 1]``.
        cognitive: Attraction to the particle's own best (>= 0).
        social: Attraction to the swarm's best (>= 0).
        velocity_clamp: Largest move per coordinate and trial, as a fraction of
            the unit range, in ``(0, 1]``.
        seed: Seed of the random streams; ``None`` draws one (and the study
            records it, so a resumed study continues the same streams).
    """

    _name = "pso"
    _onehot = True

    def __init__(
        self,
        *,
        swarm_size: int = 20,
        inertia: float = 0.7298,
        cognitive: float = 1.49618,
        social: float = 1.49618,
        velocity_clamp: float = 0.2,
        seed: int | None = None,
    ) -> None:
        self.swarm_size = check_int("swarm_size", swarm_size, 2)
        self.inertia = check_float("inertia", inertia, 0.0, 1.0)
        self.cognitive = check_float("cognitive", cognitive, 0.0)
        self.social = check_float("social", social, 0.0)
        self.velocity_clamp = check_float("velocity_clamp", velocity_clamp, 0.0, 1.0, low_open=True)
        super().__init__(seed)

    def _reset(self) -> None:
        self._particles: dict[int, _Particle] = {}
        self._best: Observation | None = None

    def _add(self, study: Study, obs: Observation) -> None:
        self._particles.setdefault(obs.number % self.swarm_size, _Particle()).add(obs)
        if self._best is None or obs.key < self._best.key:
            self._best = obs

    def _propose(
        self, study: Study, trial: Trial, encoder: UnitCubeEncoder, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        p = self._particles.get(trial.number % self.swarm_size)
        if p is None or p.best is None or self._best is None:
            return None
        # the particle's latest position before this trial (an enqueued trial may
        # carry an older number than positions that already finished)
        before = [o for o in p.recent if o.number < trial.number] or p.recent
        x = encode_params(encoder, before[-1].params)
        if len(before) >= 2:
            v = x - encode_params(encoder, before[-2].params)
        else:  # a particle's first move: a random initial velocity
            v = rng.uniform(-self.velocity_clamp, self.velocity_clamp, encoder.dim)
        pbest = encode_params(encoder, p.best.params)
        gbest = encode_params(encoder, self._best.params)
        x_new, _ = pso_step(
            x, v, pbest, gbest, rng,
            inertia=self.inertia, cognitive=self.cognitive, social=self.social,
            v_max=self.velocity_clamp,
        )
        if np.max(np.abs(x_new - x)) < 1e-9:
            # a particle at rest on the global best would evaluate the same point
            # again: take a small random step instead (as in guaranteed-convergence PSO)
            rho = self.velocity_clamp / 4
            x_new = np.clip(x + rng.uniform(-rho, rho, encoder.dim), 0.0, 1.0)
        return _stochastic_decode(encoder, x_new, rng), x

    def __repr__(self) -> str:
        return (
            f"PSOSampler(swarm_size={self.swarm_size}, inertia={self.inertia}, "
            f"cognitive={self.cognitive}, social={self.social}, "
            f"velocity_clamp={self.velocity_clamp}, seed={self.seed!r})"
        )


def _stochastic_decode(encoder: UnitCubeEncoder, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Make discrete moves possible: a categorical's one-hot block is read as
    probabilities (a pull of 0.2 towards another choice switches to it with
    probability about 0.2, where an argmax never would), and an integer or
    stepped value between two levels rounds to either with probability
    proportional to closeness.  Continuous coordinates are left alone."""
    x = x.copy()
    for name, d in encoder.space.items():
        sl = encoder.slices[name]
        if isinstance(d, CategoricalDistribution):
            w = np.clip(x[sl], 0.0, None) + 1e-3
            j = int(rng.choice(len(w), p=w / w.sum()))
            x[sl] = 0.0
            x[sl.start + j] = 1.0
        elif isinstance(d, IntDistribution) or (isinstance(d, FloatDistribution) and d.step is not None):
            n = (d.high - d.low) // d.step + 1 if isinstance(d, IntDistribution) else int(round((d.high - d.low) / d.step)) + 1
            if n < 2 or n > 4096:
                continue
            pos = float(np.clip(x[sl.start], 0.0, 1.0)) * n - 0.5  # in units of levels
            lo = int(np.floor(pos))
            frac = pos - lo
            k = lo + 1 if rng.random() < frac else lo
            k = min(max(k, 0), n - 1)
            x[sl.start] = (k + 0.5) / n
    return x
