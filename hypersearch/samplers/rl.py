"""A reinforcement-learning controller: REINFORCE over the search space.

Neural architecture search with a controller (Zoph & Le, 2017) treats choosing
a configuration as a sequence of actions and trains the policy that picks them
with the policy gradient of the validation reward.  :class:`RLSampler` keeps a
softmax policy per parameter (categorical choices as they are; integers and
floats cut into ``n_bins`` bins of their unit-interval encoding), samples each
trial's configuration from it, and after every finished trial moves the logits
of the actions it took by the REINFORCE gradient, ``lr * advantage *
(onehot(action) - pi)``, where the advantage is the trial's reward minus a
moving-average baseline, scaled by a running estimate of the rewards' spread
(so the step size does not depend on the objective's units).

It suits architecture-like spaces (many categorical and small integer
choices), where it learns which choices go with good results without a
surrogate model.  Policies of new parameter names are created as they appear,
so conditional and dynamic spaces work: only the parameters a trial used are
updated.  The policy is a deterministic function of the finished trials taken
in trial-number order (a resumed study replays them), and every draw comes from
``(seed, trial number, parameter name)``.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.samplers.base import BaseSampler, draw_seed, trial_uniform
from hypersearch.space.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._trial import Trial

__all__ = ["RLSampler"]


class _Policy:
    """Softmax logits over the actions of one parameter."""

    def __init__(self, n: int) -> None:
        self.logits = np.zeros(n)

    def probs(self) -> np.ndarray:
        z = self.logits - self.logits.max()
        p = np.exp(z)
        return p / p.sum()


class RLSampler(BaseSampler):
    """REINFORCE controller with a moving-average baseline.

    Args:
        learning_rate: Step size of the policy-gradient update of the logits.
        baseline_decay: Weight of the old baseline in its moving average
            (``b <- decay * b + (1 - decay) * reward``).
        n_bins: Actions of an integer or float parameter: that many equal bins of
            its encoding (integers with fewer values get one action per value).
        entropy_floor: Smallest probability any action keeps (exploration never
            stops entirely).
        n_startup_trials: Trials drawn uniformly before the policy is used.
        seed: Seed of the draws.
    """

    needs_finished_trials = False  # keeps its own statistics from on_trial_finished

    def __init__(
        self,
        *,
        learning_rate: float = 0.2,
        baseline_decay: float = 0.8,
        n_bins: int = 10,
        entropy_floor: float = 0.01,
        n_startup_trials: int = 0,
        seed: int | None = None,
    ) -> None:
        for name, v, lo, hi in (
            ("learning_rate", learning_rate, 0.0, math.inf),
            ("baseline_decay", baseline_decay, 0.0, 1.0),
            ("entropy_floor", entropy_floor, 0.0, 0.5),
        ):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi or v != v:
                raise ValueError(f"{name} must be a number in [{lo}, {hi}], got {v!r}")
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 2:
            raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
        if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int) or n_startup_trials < 0:
            raise ValueError(f"n_startup_trials must be a non-negative integer, got {n_startup_trials!r}")
        self.learning_rate = float(learning_rate)
        self.baseline_decay = float(baseline_decay)
        self.n_bins = n_bins
        self.entropy_floor = float(entropy_floor)
        self.n_startup_trials = n_startup_trials
        self.seed = draw_seed() if seed is None else int(seed)
        self._explicit_seed = seed is not None
        self._lock = threading.Lock()
        self._policies: dict[tuple[str, BaseDistribution], _Policy] = {}
        self._baseline: float | None = None
        self._mean = 0.0  # running mean and variance of the rewards (Welford)
        self._m2 = 0.0
        self._n = 0
        self._sign = 1.0
        self._multi = False

    # -- actions ----------------------------------------------------------------------------
    def _n_actions(self, d: BaseDistribution) -> int:
        if isinstance(d, CategoricalDistribution):
            return len(d.choices)
        if isinstance(d, IntDistribution):
            return min(self.n_bins, (d.high - d.low) // d.step + 1)
        if isinstance(d, FloatDistribution) and d.step is not None:
            return min(self.n_bins, int(round((d.high - d.low) / d.step)) + 1)
        return self.n_bins

    def _per_value(self, d: BaseDistribution) -> bool:
        """Whether each value of a stepped parameter is one action (there are no
        more values than bins): on a log scale, bins of the unit interval would give
        some values several actions and others none."""
        if isinstance(d, IntDistribution):
            return (d.high - d.low) // d.step + 1 <= self.n_bins
        if isinstance(d, FloatDistribution) and d.step is not None:
            return int(round((d.high - d.low) / d.step)) + 1 <= self.n_bins
        return False

    def _action_of(self, d: BaseDistribution, value: Any) -> int | None:
        if not d.contains(value):
            return None
        if isinstance(d, CategoricalDistribution):
            return d.index(value)
        if self._per_value(d):
            return int(round((float(value) - d.low) / d.step))  # type: ignore[attr-defined]
        k = self._n_actions(d)
        return min(int(d.to_unit(value) * k), k - 1)

    def _value_of(self, d: BaseDistribution, action: int, u: float) -> Any:
        if isinstance(d, CategoricalDistribution):
            return d.choices[action]
        if self._per_value(d):
            return d.validate_value(d.low + action * d.step)  # type: ignore[attr-defined]
        k = self._n_actions(d)
        return d.from_unit((action + u) / k)  # a uniform draw inside the bin

    def _policy(self, name: str, d: BaseDistribution) -> _Policy:
        key = (name, d)
        pol = self._policies.get(key)
        if pol is None:
            pol = self._policies[key] = _Policy(self._n_actions(d))
        return pol

    # -- the sampler interface ------------------------------------------------------------------
    def attach(self, study: Study) -> None:
        super().attach(study)
        self._sign = study.directions[0].sign()
        self._multi = len(study.directions) > 1
        if self._multi:
            raise ValueError("RLSampler optimises one objective; use NSGA2Sampler or TPESampler for several")

    def on_trial_finished(self, study: Study, trial: FrozenTrial) -> None:
        if trial.state != TrialState.COMPLETE or not trial.values:
            return
        reward = -self._sign * float(trial.values[0])
        if not math.isfinite(reward):
            return
        with self._lock:
            self._n += 1
            delta = reward - self._mean
            self._mean += delta / self._n
            self._m2 += delta * (reward - self._mean)
            if self._baseline is None:
                self._baseline = reward
                return
            scale = math.sqrt(self._m2 / (self._n - 1)) if self._n > 1 else 0.0
            advantage = (reward - self._baseline) / scale if scale > 0 else 0.0
            self._baseline = self.baseline_decay * self._baseline + (1 - self.baseline_decay) * reward
            for name, value in trial.params.items():
                d = trial.distributions.get(name)
                if d is None or d.single():
                    continue
                a = self._action_of(d, value)
                if a is None:
                    continue
                pol = self._policy(name, d)
                grad = -pol.probs()
                grad[a] += 1.0
                pol.logits += self.learning_rate * advantage * grad

    def sample_independent(
        self, study: Study, trial: Trial, name: str, distribution: BaseDistribution
    ) -> Any:
        u_action = trial_uniform(self.seed, trial.number, trial.attempt, name)
        u_inside = trial_uniform(self.seed ^ 0x5A5A, trial.number, trial.attempt, name)
        with self._lock:
            if self._n < self.n_startup_trials:
                return distribution.from_unit(u_action)
            p = self._policy(name, distribution).probs()
        k = len(p)
        p = np.maximum(p, self.entropy_floor / k if k else 0.0)
        p /= p.sum()
        action = int(min(np.searchsorted(np.cumsum(p), u_action, side="right"), k - 1))
        return self._value_of(distribution, action, u_inside)

    def action_probabilities(self, name: str, distribution: BaseDistribution) -> np.ndarray:
        """The policy's current probabilities of the actions of a parameter."""
        with self._lock:
            return self._policy(name, distribution).probs()
