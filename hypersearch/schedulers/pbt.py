"""Population-based training (Jaderberg et al., 2017).

Every ``perturbation_interval`` steps a trial compares its reported value with
the values the rest of the population reported at the same step (a trial that
gets there first is compared again at its next reports, until every member still
training has caught up).  A trial in the bottom
``quantile_fraction`` *exploits* a trial of the top fraction: it copies that
trial's latest checkpoint and configuration, then *explores* by perturbing the
configuration (multiplying numbers by 0.8 or 1.2, stepping categoricals to a
neighbour, or resampling with ``resample_probability``).  Training goes on in
the same trial from the copied checkpoint; the schedule of configurations each
trial followed is recorded in its ``pbt:schedule`` system attribute, so it can
be inspected and replayed.

The decision uses only reported values (intermediate values, and the
``checkpoint`` / ``pbt:config`` attributes the tune session records), read
from the study's history; the scheduler holds no state a resumed study needs.
"""

from __future__ import annotations

import copy
import math
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.samplers.base import draw_seed, trial_rng
from hypersearch.schedulers._common import (
    check_metric,
    check_number,
    check_positive_int,
    parse_mode,
)
from hypersearch.schedulers.base import BaseScheduler, Decision
from hypersearch.space.declarative import Choice, Param, merge_config, uniform
from hypersearch.space.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hypersearch.storage._common import is_json_value, plain_scalar
from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study

CONFIG_ATTR = "pbt:config"
#: System attribute: the parameters whose configuration holds the values JSON cannot
#: store (objects) of the configuration a cloned trial trains with (its donor's).
PARAMS_ATTR = "pbt:params"
SCHEDULE_ATTR = "pbt:schedule"
CHECKPOINT_ATTR = "checkpoint"


class _ClonePlans:
    """The CLONE decisions a scheduler made and the runner has not carried out yet:
    ``(source trial, new configuration)`` by trial number."""

    _plans: dict[int, tuple[int, dict[str, Any]]]

    def take_plan(self, number: int) -> tuple[int, dict[str, Any]]:
        """The ``(source trial, new configuration)`` decided for ``number``."""
        return self._plans.pop(number)

    def should_prune(self, study: Study, trial: FrozenTrial) -> bool:
        """Define-by-run view: a trial that cannot load another's checkpoint is never
        cloned, so a CLONE decision only drops its plan (it would otherwise stay
        for as long as the scheduler lives)."""
        decision = self.decide(study, trial)  # type: ignore[attr-defined]
        if decision == Decision.CLONE:
            self._plans.pop(trial.number, None)
        return decision == Decision.STOP


class PopulationBasedTraining(_ClonePlans, BaseScheduler):
    """Population-based training for :func:`hypersearch.tune`.

    Args:
        metric, mode: The reported metric and ``"min"``/``"max"``.
        perturbation_interval: Steps between exploit/explore decisions of a trial.
        hyperparam_mutations: ``{key: domain}`` of top-level configuration keys to
            perturb; a domain is ``hs.uniform(...)``-style, a list of choices, or a
            callable returning a fresh value.
        quantile_fraction: Bottom fraction that exploits, top fraction exploited.
        resample_probability: Chance to resample a key instead of perturbing it.
        perturbation_factors: Multipliers for numeric keys.
        seed: Seed of the exploration.
        max_t: The step at which training ends, if known: no trial exploits at or
            after it (a clone there would only replace the trial's final result
            with a copy of the donor's), and a population taking turns never
            pauses a member there.  When it is not given, ``hs.tune`` sets it from
            ``stop={"training_iteration": N}``.
    """

    needs_finished_trials = True  # reads donors and the population from the history

    def __init__(
        self,
        metric: str | None = None,
        mode: str | None = None,
        *,
        perturbation_interval: int = 4,
        hyperparam_mutations: Mapping[str, Any],
        quantile_fraction: float = 0.25,
        resample_probability: float = 0.25,
        perturbation_factors: Sequence[float] = (1.2, 0.8),
        seed: int | None = None,
        max_t: int | None = None,
    ) -> None:
        self.metric = check_metric(metric)
        self.max_t = None if max_t is None else check_positive_int("max_t", max_t, 1)
        self.mode = parse_mode(mode)
        self.perturbation_interval = check_positive_int("perturbation_interval", perturbation_interval, 1)
        if not isinstance(hyperparam_mutations, Mapping) or not hyperparam_mutations:
            raise ValueError("hyperparam_mutations must be a non-empty dict {key: domain}")
        # Nested configurations: {"optim": {"lr": hs.loguniform(...)}} and "optim.lr"
        # both mutate config["optim"]["lr"] (the parameter's own name is the path).
        self.mutations = _flatten_mutations(hyperparam_mutations)
        for k, d in self.mutations.items():
            if not (isinstance(d, (Param, Choice, list, tuple)) or callable(d)):
                raise ValueError(
                    f"hyperparam_mutations[{k!r}]: use hs.uniform(...)-style domains, a list of "
                    f"choices or a callable, got {d!r}"
                )
            options = d.options if isinstance(d, Choice) else d if isinstance(d, (list, tuple)) else ()
            if any(not is_json_value(plain_scalar(o)) for o in options):
                raise ValueError(
                    f"hyperparam_mutations[{k!r}]: the choices must be values a study can store "
                    "(numbers, strings, lists, dicts), since clones take them from the storage; "
                    "name objects (e.g. 'relu') and map the names to them in the trainable"
                )
        q = check_number("quantile_fraction", quantile_fraction, minimum=0.0, exclusive=True)
        if q > 0.5:
            raise ValueError(f"quantile_fraction must be in (0, 0.5], got {quantile_fraction!r}")
        self.quantile_fraction = q
        p = check_number("resample_probability", resample_probability, minimum=0.0)
        if p > 1:
            raise ValueError(f"resample_probability must be in [0, 1], got {resample_probability!r}")
        self.resample_probability = p
        self.perturbation_factors = tuple(float(f) for f in perturbation_factors)
        if not self.perturbation_factors or any(f <= 0 for f in self.perturbation_factors):
            raise ValueError("perturbation_factors must be positive numbers")
        self.seed = draw_seed() if seed is None else int(seed)
        self._plans: dict[int, tuple[int, dict[str, Any]]] = {}
        # trial -> the perturbation steps (ascending) it was compared at before the
        # whole population reached them (an optimisation of when to look again; a
        # resumed study compares at the next perturbation step instead)
        self._pending: dict[int, list[int]] = {}
        self._pending_lock = threading.Lock()  # several workers report at once
        # whether the run could start more members (told by the runner when a worker
        # frees up): a member ahead then yields its worker at a perturbation step
        self._can_start = False

    # -- decisions -------------------------------------------------------------------
    def decide(self, study: Study, trial: FrozenTrial, *, pausable: bool = False) -> Decision:
        """:meth:`on_report`; with ``hs.tune`` (pausable) a population larger than the
        workers takes turns, as Ray Tune time-multiplexes it: a member at a
        perturbation step pauses while another member is behind it (not started
        yet, or paused at an earlier step), and a free worker takes up the member
        furthest behind (:meth:`choose_paused`).  So the whole population advances
        together and exploits across it, not in separate waves."""
        if not pausable and not getattr(self, "_said_tune_only", False):
            self._said_tune_only = True
            warnings.warn(
                f"{type(self).__name__} acts by cloning trials' checkpoints, which only hs.tune can "
                "do: in this define-by-run study it stops and changes nothing",
                UserWarning,
                stacklevel=4,
            )
        decision = self.on_report(study, trial)
        step = trial.last_step
        if (
            decision != Decision.CONTINUE or not pausable or step is None or step == 0
            or step % self.perturbation_interval != 0 or (self.max_t is not None and step >= self.max_t)
        ):
            return decision
        if self._can_start or any(
            t.state == TrialState.PAUSED and t.number != trial.number and (t.last_step or 0) < step
            for t in study.history.active()
        ):
            return Decision.PAUSE
        return decision

    def note_can_start(self, study: Study, *, can_start: bool) -> None:
        self._can_start = can_start

    def choose_paused(self, study: Study, *, can_start: bool) -> int | None:
        """New members first; then the paused member furthest behind."""
        self._can_start = can_start
        if can_start:
            return None
        paused = [t for t in study.history.active() if t.state == TrialState.PAUSED]
        if not paused:
            return None
        return min(paused, key=lambda t: (t.last_step or 0, t.number)).number

    def on_report(self, study: Study, trial: FrozenTrial) -> Decision:
        step = trial.last_step
        n = trial.number
        if step is None or step == 0:
            return Decision.CONTINUE
        if self.max_t is not None and step >= self.max_t:
            with self._pending_lock:
                self._pending.pop(n, None)
            return Decision.CONTINUE  # the trial ends here: keep its own final result
        if step % self.perturbation_interval == 0:
            decision, settled = self._exploit_at(study, trial, step, False)
            if settled or decision != Decision.CONTINUE:
                # judged against the whole population at its newest step (or cloned):
                # older unjudged steps are superseded
                with self._pending_lock:
                    self._pending.pop(n, None)
                return decision
            with self._pending_lock:
                self._pending.setdefault(n, []).append(step)
        # A trial that reached a perturbation step before the rest of the population
        # was compared with part of it only; it is looked at again at each report
        # and judged at the newest of its unjudged steps that every member still
        # training has reached.  Without this the member that runs ahead (often the
        # same thread or worker every time) would never be compared with anyone,
        # even when it runs more than one interval ahead.
        with self._pending_lock:
            pending = [p for p in self._pending.get(n, ()) if p != step]  # step: judged just above
        if not pending:
            return Decision.CONTINUE
        if step % self.perturbation_interval != 0:
            study.history.refresh()  # (just refreshed above otherwise)
        # One look at the population's progress picks the step to judge: a member far
        # ahead has many pending steps, and judging each would cost a scan per step.
        behind = min(
            (t.last_step if t.last_step is not None else -1
             for t in study.history.active() if t.number != n),
            default=math.inf,
        )
        reached = [p for p in pending if p <= behind]
        if not reached:
            return Decision.CONTINUE
        at = max(reached)
        decision, settled = self._exploit_at(study, trial, at, True, refresh=False)
        if settled:
            with self._pending_lock:
                left = [s for s in self._pending.get(n, ()) if s > at]
                if left and decision == Decision.CONTINUE:
                    self._pending[n] = left
                else:
                    self._pending.pop(n, None)
        return decision

    def _exploit_at(
        self, study: Study, trial: FrozenTrial, step: int, late: bool, *, refresh: bool = True
    ) -> tuple[Decision, bool]:
        """Whether ``trial`` exploits, judged by the population's values at ``step``,
        and whether that judgement is final (else it is made again at the trial's
        next report).  ``late``: the trial is past ``step`` and is judged only
        against the whole population."""
        sign = self.direction(study).sign()
        if refresh:
            study.history.refresh()
        # Trials are compared at equal progress: each one's value at this step.
        # Trials that have not reached it yet are left out (they are compared when
        # they get there); comparing latest values instead would make whichever
        # trials lag behind look worst.
        # Only trials still training take part (as in Ray Tune): a finished trial's
        # latest checkpoint is its fully trained model, not its state at this step.
        # Members paused while the population takes turns (see decide) take part too.
        latest: dict[int, tuple[float, FrozenTrial]] = {}
        everyone = True
        running = set()
        for t in study.history.active():
            running.add(t.number)
            if t.number == trial.number:
                continue
            if step not in t.intermediate_values:
                if t.last_step is None or t.last_step < step:
                    everyone = False
                continue
            v = sign * t.intermediate_values[step]
            latest[t.number] = (math.inf if v != v else v, t)
        with self._pending_lock:
            for gone in [m for m in self._pending if m not in running and m != trial.number]:
                self._pending.pop(gone, None)  # finished, paused or failed meanwhile
        if step not in trial.intermediate_values:
            return Decision.CONTINUE, True  # e.g. it was cloned past this step meanwhile
        if late and not everyone:
            return Decision.CONTINUE, False  # not judged on part of the population twice
        own = sign * trial.intermediate_values[step]
        latest[trial.number] = (math.inf if own != own else own, trial)
        if len(latest) < 2:
            return Decision.CONTINUE, everyone
        ranked = sorted(latest, key=lambda n: latest[n][0])
        k = max(1, int(math.floor(len(ranked) * self.quantile_fraction)))
        top, bottom = ranked[:k], ranked[-k:]
        if trial.number not in bottom or trial.number in top:
            return Decision.CONTINUE, everyone
        # Donors have reached the judged step (they are ranked by their value there).
        # A trial judged late may be a step or two past its donor: the clone then
        # waits in the trial's worker for the donor's checkpoint at the trial's own
        # step (hypersearch.tune._session._donor_caught_up), since copying an older
        # one would move its training back while its step counter goes on.
        donors = [n for n in top if latest[n][1].system_attrs.get(CHECKPOINT_ATTR) is not None]
        if not donors:
            # the donors may have saved a checkpoint by the trial's next report
            return Decision.CONTINUE, everyone and not late
        rng = trial_rng(self.seed, trial.number, step)
        source = donors[int(rng.integers(len(donors)))]
        src = latest[source][1]
        config = config_in_effect(src.user_attrs, src.system_attrs)
        self._plans[trial.number] = (source, self._explore(study, trial, config, rng))
        return Decision.CLONE, True

    def _explore(self, study: Study, trial: FrozenTrial, config: dict[str, Any], rng) -> dict[str, Any]:
        """The new configuration of an exploiting trial (PB2 overrides this)."""
        return self.explore(config, rng)

    def explore(self, config: dict[str, Any], rng) -> dict[str, Any]:
        """Perturb the mutable keys of ``config`` (a dotted key reaches into nested dicts)."""
        new = copy.deepcopy(dict(config))
        for key, dom in self.mutations.items():
            parent, leaf = _slot(new, key)
            resample = leaf not in parent or rng.random() < self.resample_probability
            parent[leaf] = (
                _sample(dom, rng) if resample else _perturb(dom, parent[leaf], rng, self.perturbation_factors)
            )
        return new


def config_in_effect(user_attrs: Mapping[str, Any], system_attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration a trial trains with now: the one it started with (the
    ``config`` user attribute), updated by the last population-based-training
    exploit (``pbt:config``), which holds only the JSON-storable part."""
    own, exploited = user_attrs.get("config") or {}, system_attrs.get(CONFIG_ATTR)
    return merge_config(own, exploited) if exploited else dict(own)


def _assign(config: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with ``values`` set at their (possibly dotted) keys."""
    out = copy.deepcopy(dict(config))
    for k, v in values.items():
        parent, leaf = _slot(out, k)
        parent[leaf] = v
    return out


def _flatten_mutations(m: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, d in m.items():
        key = f"{prefix}{k}"
        if isinstance(d, Mapping):
            out.update(_flatten_mutations(d, key + "."))
        else:
            out[key] = d
    return out


def _slot(config: dict[str, Any], key: str) -> tuple[dict[str, Any], str]:
    """The dict holding ``key`` and the key in it: ``config`` itself for a top-level
    key, else the nested dict along a dotted path (``config`` and the whole key
    when the path does not lead through dicts)."""
    if key in config or "." not in key:
        return config, key
    *path, leaf = key.split(".")
    node = config
    for part in path:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            return config, key  # not a path into this configuration: a top-level key
        node = nxt
    return node, leaf


def _sample(dom: Any, rng) -> Any:
    if isinstance(dom, Param):
        return dom.snap(dom.distribution.sample(rng))
    if isinstance(dom, Choice):
        return dom.options[int(rng.integers(len(dom.options)))]
    if isinstance(dom, (list, tuple)):
        return dom[int(rng.integers(len(dom)))]
    return dom()


def _perturb(dom: Any, value: Any, rng, factors: tuple[float, ...]) -> Any:
    choices: list | None = None
    if isinstance(dom, Choice):
        choices = dom.options
    elif isinstance(dom, (list, tuple)):
        choices = list(dom)
    elif isinstance(dom, Param) and isinstance(dom.distribution, CategoricalDistribution):
        choices = list(dom.distribution.choices)
    if choices is not None:
        if value not in choices:
            return choices[int(rng.integers(len(choices)))]
        i = choices.index(value) + (1 if rng.random() < 0.5 else -1)
        return choices[min(max(i, 0), len(choices) - 1)]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _sample(dom, rng)
    f = factors[int(rng.integers(len(factors)))]
    out = value * f
    if isinstance(dom, Param):
        d = dom.distribution
        if isinstance(d, (FloatDistribution, IntDistribution)):
            out = min(max(out, d.low), d.high)
        if isinstance(d, IntDistribution) or (isinstance(d, FloatDistribution) and d.step is not None):
            out = _on_grid(d, value, out, f)
        elif dom.quantum is not None:  # log scale rounded to multiples (qloguniform)
            out = dom.snap(out)
            if out == value and f != 1.0:  # x 1.2 rounds back: move one multiple
                out = dom.snap(value + (dom.quantum if f > 1.0 else -dom.quantum))
    elif isinstance(value, int):
        out = int(round(out))
        if out == value and f != 1.0:  # small integers: x 1.2 rounds back; move one
            out = value + (1 if f > 1.0 else -1)
    return out


def _on_grid(d: FloatDistribution | IntDistribution, value: Any, target: float, factor: float) -> Any:
    """``target`` rounded to the domain's grid (integers, steps).  When rounding
    would give ``value`` back (x 1.2 of 2, or of 64 on a step of 32), the value
    moves one grid step in the factor's direction instead, so that perturbations
    never get stuck on small values."""
    step = d.step if d.step is not None else 1
    out = d.low + round((target - d.low) / step) * step
    if out == value and factor != 1.0:
        out = value + (step if factor > 1.0 else -step)
    out = min(max(out, d.low), d.high)
    if isinstance(d, IntDistribution):
        return int(out)
    return d.from_unit(d.to_unit(out))  # the grid value as the distribution writes it


PBT = PopulationBasedTraining


class PB2(PopulationBasedTraining):
    """Population-based bandits (Parker-Holder et al., "Provably Efficient Online
    Hyperparameter Optimization with Population-Based Bandits", 2020).

    Exploit as in :class:`PopulationBasedTraining`; explore by a GP bandit instead
    of random perturbation.  Every perturbation interval of every trial is a data
    point: (time, configuration in effect) -> improvement of the metric over the
    interval.  A Gaussian process with time as an input (so that older data
    matter less as the landscape changes during training) is fitted to the
    recent points, conditioned on the configurations other trials are training
    with right now (so that parallel explorations spread out), and the new
    configuration maximises its upper confidence bound within
    ``hyperparam_bounds``.

    Args:
        metric, mode, perturbation_interval, quantile_fraction, seed: As for
            :class:`PopulationBasedTraining`.
        hyperparam_bounds: ``{key: [low, high]}`` of numeric configuration keys
            (or ``hs.uniform``/``hs.loguniform``/``hs.randint`` domains; log domains
            are modelled on the log scale).
        window: Most recent data points the GP is fitted on.
        ucb_beta: Exploration weight of the upper confidence bound.
    """

    def __init__(
        self,
        metric: str | None = None,
        mode: str | None = None,
        *,
        perturbation_interval: int = 4,
        hyperparam_bounds: Mapping[str, Any],
        quantile_fraction: float = 0.25,
        window: int = 200,
        ucb_beta: float = 2.0,
        seed: int | None = None,
        max_t: int | None = None,
    ) -> None:
        if not isinstance(hyperparam_bounds, Mapping) or not hyperparam_bounds:
            raise ValueError("hyperparam_bounds must be a non-empty dict {key: [low, high]}")
        self.bounds: dict[str, tuple[float, float, bool, bool]] = {}  # low, high, log, int
        mutations: dict[str, Any] = {}
        for k, b in hyperparam_bounds.items():
            if isinstance(b, Param) and isinstance(b.distribution, (FloatDistribution, IntDistribution)):
                d = b.distribution
                self.bounds[k] = (float(d.low), float(d.high), bool(d.log), isinstance(d, IntDistribution))
                mutations[k] = b
                continue
            if (
                not isinstance(b, (list, tuple)) or len(b) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in b)
                or not b[0] < b[1]
            ):
                raise ValueError(f"hyperparam_bounds[{k!r}] must be [low, high] with low < high, got {b!r}")
            self.bounds[k] = (float(b[0]), float(b[1]), False, False)
            mutations[k] = uniform(float(b[0]), float(b[1]))
        super().__init__(
            metric,
            mode,
            perturbation_interval=perturbation_interval,
            hyperparam_mutations=mutations,
            quantile_fraction=quantile_fraction,
            resample_probability=0.0,
            seed=seed,
            max_t=max_t,
        )
        self.window = check_positive_int("window", window, 4)
        self.ucb_beta = check_number("ucb_beta", ucb_beta, minimum=0.0)

    # -- the unit box of the bounded keys --------------------------------------------------------
    def _to_unit(self, config: Mapping[str, Any]) -> np.ndarray | None:
        out = []
        for k, (lo, hi, log, _) in self.bounds.items():
            parent, leaf = _slot(dict(config), k)
            v = parent.get(leaf)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                return None
            if log:
                u = (math.log(max(v, lo)) - math.log(lo)) / (math.log(hi) - math.log(lo))
            else:
                u = (v - lo) / (hi - lo)
            out.append(min(max(u, 0.0), 1.0))
        return np.array(out)

    def _from_unit(self, u: np.ndarray, like: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Values of the unit-box point ``u``: on the domain's grid (integers, steps),
        and integers where the configuration holds integers (``[16, 256]`` bounds of
        a batch size stay integers)."""
        out: dict[str, Any] = {}
        for (k, (lo, hi, log, is_int)), x in zip(self.bounds.items(), u):
            v = math.exp(math.log(lo) + x * (math.log(hi) - math.log(lo))) if log else lo + x * (hi - lo)
            v = min(max(v, lo), hi)
            dom = self.mutations.get(k)
            d = dom.distribution if isinstance(dom, Param) else None
            if like is not None:
                parent, leaf = _slot(dict(like), k)
                current = parent.get(leaf)
            else:
                current = None
            if isinstance(d, IntDistribution) or (isinstance(d, FloatDistribution) and d.step is not None):
                out[k] = d.from_unit(d.to_unit(v))
            elif isinstance(dom, Param) and dom.quantum is not None:
                out[k] = dom.snap(v)
            elif is_int or (isinstance(current, int) and not isinstance(current, bool)):
                out[k] = int(round(v))
            else:
                out[k] = float(v)
        return out

    def _data(self, study: Study, now: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """(time, config) -> improvement rows from every trial's reports, and the
        configurations trials are running with now."""
        sign = self.direction(study).sign()
        rows, ys, running = [], [], []
        scale = float(max(now, 1))
        for t in study.history.all_trials([TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED]):
            iv = t.intermediate_values
            if not iv:
                continue
            segs = [(0, dict(t.user_attrs.get("config", {})))]
            for e in sorted(t.system_attrs.get(SCHEDULE_ATTR, []), key=lambda e: e["step"]):
                segs.append((e["step"], merge_config(segs[-1][1], e["config"])))
            steps = sorted(iv)
            # One point per perturbation interval: the improvement from its start to its
            # end under the configuration in effect.  An interval in which the trial
            # copied another's model (or changed configuration) starts after that, at
            # the first report of the new model: the jump of the copy is not the new
            # configuration's doing.
            changes = [s0 for s0, _ in segs[1:]]
            start = steps[0]
            for b in steps[1:]:
                if b % self.perturbation_interval != 0 and b != steps[-1]:
                    continue
                a = start
                start = b
                moved = [c for c in changes if a <= c < b]
                if moved:
                    a = next((s1 for s1 in steps if s1 > max(moved)), b)
                if a >= b:
                    continue
                cfg = [c for s0, c in segs if s0 <= a][-1]
                x = self._to_unit(cfg)
                va, vb = iv[a], iv[b]
                if x is None or not (math.isfinite(va) and math.isfinite(vb)):
                    continue
                rows.append(np.concatenate([[b / scale], x]))
                ys.append(-sign * (vb - va) / max(b - a, 1))
            if t.state == TrialState.RUNNING:
                cur = self._to_unit(segs[-1][1])
                if cur is not None:
                    running.append(cur)
        if not rows:
            return np.empty((0, len(self.bounds) + 1)), np.empty(0), running
        X, y = np.array(rows)[-self.window :], np.array(ys)[-self.window :]
        return X, y, running

    def _explore(self, study: Study, trial: FrozenTrial, config: dict[str, Any], rng) -> dict[str, Any]:
        from hypersearch.samplers.gp._gp import GaussianProcess, fit_kernel_params
        from hypersearch.samplers.gp._kernel import ColumnGroups

        now = trial.last_step or 0
        X, y, running = self._data(study, now)
        d = len(self.bounds)
        if len(y) < d + 2 or float(np.std(y)) == 0.0:
            # too little data yet: a uniform draw in the bounds
            return _assign(config, self._from_unit(rng.random(d), config))
        y_std = (y - y.mean()) / y.std()
        groups = ColumnGroups.identity(d + 1)
        theta = fit_kernel_params(X, y_std, groups)
        gp = GaussianProcess(X, y_std, theta, groups)
        t_now = 1.0  # time is scaled so that "now" is 1
        if running:  # what others train with now: believed, so the bound spreads out
            R = np.hstack([np.full((len(running), 1), t_now), np.array(running)])
            gp = gp.condition_on(R, gp.posterior(R)[0])
        cand = [rng.random((2048, d))]
        here = self._to_unit(config)
        if here is not None:  # and a close look around the donor's configuration
            cand.append(np.clip(here[None, :] + 0.05 * rng.standard_normal((64, d)), 0.0, 1.0))
        C = np.vstack(cand)
        mean, var = gp.posterior(np.hstack([np.full((len(C), 1), t_now), C]))
        best = C[int(np.argmax(mean + math.sqrt(self.ucb_beta) * np.sqrt(var)))]
        return _assign(config, self._from_unit(best, config))


def pbt_schedule(study: Study, number: int) -> list[dict[str, Any]]:
    """The hyperparameter schedule that produced trial ``number``'s final model.

    PBT trials inherit training state from donors, so a trial's effective
    history is its donor's history up to the copied checkpoint, then its own.
    Returns segments ``[{"step": s, "config": c}, ...]``: train with ``c`` from
    training progress ``s`` on (the first segment starts at 0 with the
    configuration the lineage began with).  Feed it to :class:`PBTReplay` to
    train one model along the same schedule.
    """
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        raise ValueError(f"study {study.study_name!r} has no trial number {number}")

    def effective(n: int, limit: float, depth: int) -> tuple[list[tuple[float, dict[str, Any]]], float]:
        """Segments (in training progress) of trial ``n``'s state as of its own step
        ``limit``, and the training progress at that step."""
        if depth > 10_000:  # pragma: no cover - a corrupted lineage
            raise ValueError("PBT lineage is cyclic")
        t = trials[n]
        segs: list[tuple[float, dict[str, Any]]] = [(0.0, dict(t.user_attrs.get("config", {})))]
        offset = 0.0  # training progress = own step + offset
        for e in sorted(t.system_attrs.get(SCHEDULE_ATTR, []), key=lambda e: e["step"]):
            if e["step"] >= limit:
                break
            src = e["source"]
            if src != n and src in trials:
                segs, progress = effective(src, float(e.get("source_step", e["step"])), depth + 1)
            else:
                progress = e["step"] + offset
            base = segs[-1][1] if segs else {}
            segs.append((progress, merge_config(base, e["config"]) if e["config"] else dict(base)))
            offset = progress - e["step"]
        at = limit + offset
        return [(s, c) for s, c in segs if s < at], at

    out: list[dict[str, Any]] = []
    for s, c in effective(number, math.inf, 0)[0]:
        if out and out[-1]["step"] == s:
            out[-1] = {"step": s, "config": c}
        elif not out or out[-1]["config"] != c:
            out.append({"step": s, "config": c})
    return out


class PBTReplay(_ClonePlans, BaseScheduler):
    """Train one model along a recorded PBT schedule (see :func:`pbt_schedule`).

    Run it with :func:`hypersearch.tune` and ``num_samples=1``, starting from
    :attr:`config`; at each step where the schedule changes, the trainable
    restarts from its own latest checkpoint with the next configuration::

        schedule = hs.schedulers.pbt_schedule(study, best.number)
        replay = hs.schedulers.PBTReplay(schedule)
        hs.tune(train, config=replay.config, scheduler=replay, metric="acc", mode="max")
    """

    def __init__(self, schedule: Sequence[Mapping[str, Any]], metric: str | None = None,
                 mode: str | None = None) -> None:
        if not schedule:
            raise ValueError("schedule is empty")
        segs = []
        for i, seg in enumerate(schedule):
            if not isinstance(seg, Mapping) or "step" not in seg or "config" not in seg:
                raise ValueError(f"schedule[{i}] must be {{'step': ..., 'config': {{...}}}}, got {seg!r}")
            # a segment may list only the keys it changes: each holds the whole configuration
            segs.append((float(seg["step"]), {**(segs[-1][1] if segs else {}), **dict(seg["config"])}))
        if [s for s, _ in segs] != sorted(s for s, _ in segs):
            raise ValueError("schedule steps must be increasing")
        self.schedule = segs
        self.metric = check_metric(metric)
        self.mode = parse_mode(mode)
        self._plans: dict[int, tuple[int, dict[str, Any]]] = {}

    @property
    def config(self) -> dict[str, Any]:
        """The configuration to start from."""
        return dict(self.schedule[0][1])

    def on_report(self, study: Study, trial: FrozenTrial) -> Decision:
        step = trial.last_step
        if step is None:
            return Decision.CONTINUE
        current = config_in_effect(trial.user_attrs, trial.system_attrs)
        due = [c for s, c in self.schedule if s <= step]
        if due and any(k not in current or current[k] != v for k, v in due[-1].items()):
            self._plans[trial.number] = (trial.number, due[-1])
            return Decision.CLONE
        return Decision.CONTINUE
