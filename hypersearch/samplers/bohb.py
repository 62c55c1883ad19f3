"""BOHB's model: TPE fitted on the largest budget that has enough observations.

BOHB (Falkner et al., "BOHB: Robust and Efficient Hyperparameter Optimization at
Scale", 2018) replaces Hyperband's random configurations by a model-based
proposal.  Every trial contributes one observation per budget (rung resource)
it reached: its reported value there.  A new configuration is proposed by a
Parzen-estimator model (this library's :class:`TPESampler`) fitted on the
observations of the *largest* budget that holds at least
``min_points_in_model`` of them, since high-budget results are the most
faithful but the scarcest; a ``random_fraction`` of the configurations is drawn
at random, which keeps the search global.

Observations come from the reports of every trial (running, paused, pruned or
complete), read incrementally from the study: each trial is added to a
budget's model once, when it first reports at or beyond that budget.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hypersearch.samplers.base import trial_uniform
from hypersearch.samplers.tpe._sampler import TPESampler
from hypersearch.samplers.tpe._store import Store
from hypersearch.space.distributions import BaseDistribution
from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._trial import Trial

__all__ = ["BOHBSampler"]


class _BudgetStores:
    """One TPE observation store per budget, fed as trials reach budgets."""

    def __init__(self, budgets: list[float], n_objectives: int, signs: list[float]) -> None:
        self.budgets = budgets
        self.stores = [Store(n_objectives, signs) for _ in budgets]
        self.reached: dict[int, int] = {}  # trial number -> budgets already added
        self.change = 0  # the history's change number the running trials were read up to
        self.lock = threading.Lock()

    def add(self, t: FrozenTrial) -> None:
        if not t.intermediate_values or t.state == TrialState.FAIL:
            return
        steps = sorted(t.intermediate_values)
        with self.lock:
            done = self.reached.get(t.number, 0)
            j = 0
            for b in range(done, len(self.budgets)):
                budget = self.budgets[b]
                while j < len(steps) and steps[j] < budget - 1e-9:
                    j += 1
                if j == len(steps):
                    if b == len(self.budgets) - 1 and t.state == TrialState.COMPLETE and steps[-1] >= budget - 1:
                        # It trained to its end with steps counted from 0 (the last
                        # report is at max_t - 1): that report is its full-budget result.
                        self._put(b, t, t.intermediate_values[steps[-1]])
                    break
                self._put(b, t, t.intermediate_values[steps[j]])

    def _put(self, b: int, t: FrozenTrial, value: float) -> None:
        if not math.isfinite(value):
            value = math.copysign(1e300, self.stores[b].signs[0])  # worst
        self.stores[b].add(
            FrozenTrial(
                number=t.number,
                state=TrialState.COMPLETE,
                values=[value],
                params=t.params,
                distributions=t.distributions,
            )
        )
        self.reached[t.number] = b + 1


class BOHBSampler(TPESampler):
    """The configuration sampler of BOHB; use it with a Hyperband-style scheduler
    (:class:`hypersearch.schedulers.BOHB` picks it by default).

    Args:
        budgets: Resources at which observations are taken (rung resources and
            ``max_t``); default: those of the study's scheduler.
        min_points_in_model: Observations a budget needs before its model is used
            (fewer at every budget: random / Latin-hypercube startup).
        random_fraction: Share of configurations drawn at random (1/3 in BOHB).
        seed: Seed of the random streams.
        **tpe_kwargs: Further :class:`TPESampler` options (``gamma``,
            ``n_ei_candidates``, ``prior_weight``, ...).
    """

    def __init__(
        self,
        *,
        budgets: Sequence[float] | None = None,
        min_points_in_model: int = 10,
        random_fraction: float = 1 / 3,
        seed: int | None = None,
        **tpe_kwargs: Any,
    ) -> None:
        if isinstance(min_points_in_model, bool) or not isinstance(min_points_in_model, int) or min_points_in_model < 1:
            raise ValueError(f"min_points_in_model must be a positive integer, got {min_points_in_model!r}")
        if isinstance(random_fraction, bool) or not isinstance(random_fraction, (int, float)) or not 0 <= random_fraction <= 1:
            raise ValueError(f"random_fraction must be a number in [0, 1], got {random_fraction!r}")
        if budgets is not None:
            bs = sorted({float(b) for b in budgets})
            if not bs or any(not math.isfinite(b) or b <= 0 for b in bs):
                raise ValueError(f"budgets must be positive finite numbers, got {budgets!r}")
            budgets = bs
        tpe_kwargs.setdefault("n_startup_trials", min_points_in_model)
        super().__init__(seed=seed, **tpe_kwargs)
        self.budgets = budgets
        self.min_points_in_model = min_points_in_model
        self.random_fraction = float(random_fraction)
        self._budget_stores: weakref.WeakKeyDictionary[Study, _BudgetStores] = weakref.WeakKeyDictionary()
        self._local = threading.local()
        # (study, trial number) -> (the store of its budget, drawn at random)
        self._choices: dict[tuple[int, int], tuple[Store, bool]] = {}

    # -- observations per budget ----------------------------------------------------------------
    def _budgets_for(self, study: Study) -> list[float]:
        if self.budgets is not None:
            return self.budgets
        sched = study.scheduler
        rungs = getattr(sched, "rungs", None)
        max_t = getattr(sched, "max_t", None)
        if rungs is None or max_t is None:
            raise ValueError(
                "BOHBSampler needs budgets: pass budgets=[...] or use it with a successive-halving "
                "scheduler (hs.schedulers.BOHB, Hyperband, ASHA)"
            )
        return sorted({float(r) for rs in rungs for r in rs} | {float(max_t)})

    def _budget_view(self, study: Study) -> _BudgetStores:
        bs = self._budget_stores.get(study)
        if bs is None:
            with self._lock:
                bs = self._budget_stores.get(study)
                if bs is None:
                    # Observations are reported values: ranked in the scheduler's
                    # direction (its mode may differ from the study's, e.g. reports of
                    # accuracy in a study that minimises a loss).
                    sched = study.scheduler
                    signs = [d.sign() for d in study.directions]
                    if sched is not None and len(signs) == 1:
                        signs = [sched.direction(study).sign()]
                    bs = _BudgetStores(self._budgets_for(study), len(study.directions), signs)
                    self._budget_stores[study] = bs
        return bs

    def attach(self, study: Study) -> None:
        super().attach(study)
        if len(study.directions) != 1:
            raise ValueError("BOHBSampler supports single-objective studies only")
        bs = self._budget_view(study)
        for t in study.history.all_trials():
            bs.add(t)

    def on_trial_finished(self, study: Study, trial: FrozenTrial) -> None:
        self._budget_view(study).add(trial)
        key = (id(study), trial.number)
        if key in self._rejected or key in self._pending or key in self._choices:
            with self._lock:
                self._rejected.pop(key, None)
                self._pending.pop(key, None)
                self._choices.pop(key, None)

    def before_trial(self, study: Study, trial: Trial) -> None:
        super().before_trial(study, trial)
        bs = self._budget_view(study)
        study.history.refresh()
        with bs.lock:  # the running and paused trials that reported since the last look
            bs.change, changed = study.history.changed_since(bs.change)
        for t in changed:
            bs.add(t)
        chosen = None
        for b in reversed(range(len(bs.budgets))):
            if bs.stores[b].n >= self.min_points_in_model:
                chosen = b
                break
        if chosen is None:  # startup: the store with the most observations (all too few)
            chosen = max(range(len(bs.budgets)), key=lambda b: bs.stores[b].n)
        random = trial_uniform(self.seed, trial.number, 0, "bohb:random") < self.random_fraction
        # Kept per trial, not per thread: ask() twice, then suggest for the first.
        with self._lock:
            self._choices[(id(study), trial.number)] = (bs.stores[chosen], random)
        trial.set_system_attr("bohb:budget", bs.budgets[chosen])

    def _use(self, study: Study, trial: Trial) -> bool:
        """Point the TPE machinery at ``trial``'s budget; whether it is drawn at random."""
        choice = self._choices.get((id(study), trial.number))
        if choice is None:  # not prepared by before_trial: the fullest store, model-based
            self._local.store = None
            return False
        self._local.store = choice[0]
        return choice[1]

    def _store(self, study: Study, catch_up: bool = True) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            bs = self._budget_view(study)
            return max(bs.stores, key=lambda s: s.n)
        return store

    # -- random share --------------------------------------------------------------------------
    def infer_relative_search_space(self, study: Study, trial: Trial) -> dict[str, BaseDistribution]:
        if self._use(study, trial):
            return {}
        return super().infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: Trial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        self._use(study, trial)
        return super().sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Study, trial: Trial, name: str, distribution: BaseDistribution
    ) -> Any:
        if self._use(study, trial):
            return distribution.from_unit(trial_uniform(self.seed, trial.number, trial.attempt, name))
        return super().sample_independent(study, trial, name, distribution)
