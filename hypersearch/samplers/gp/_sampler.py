"""GPSampler: Bayesian optimisation with a Gaussian process on the unit-cube encoding."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.samplers.base import BaseSampler, draw_seed, trial_rng, trial_uniform
from hypersearch.samplers.gp._acquisition import (
    ACQUISITIONS,
    acquisition_and_grad,
    acquisition_value,
    all_acquisitions,
)
from hypersearch.samplers.gp._gp import GaussianProcess, KernelPrior, fit_kernel_params
from hypersearch.samplers.gp._optimize import (
    SpaceLayout,
    maximize,
    pareto_mask,
    perturb,
    sample_pool,
)
from hypersearch.samplers.gp._threads import single_threaded_blas
from hypersearch.samplers.gp._transfer import TRANSFER_ATTR, PriorMeanGP, TransferPrior
from hypersearch.samplers.gp._transform import OUTPUT_WARPS, transform_outputs
from hypersearch.samplers.qmc import QMCSampler
from hypersearch.space.distributions import BaseDistribution
from hypersearch.space.encoding import UnitCubeEncoder
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.trial._trial import Trial

__all__ = ["GPSampler"]

#: System attribute holding a trial's fitted kernel hyperparameters: the warm
#: start of the next fits (stored in the history, so a resumed study or another
#: worker starts from the same place and a seeded study stays reproducible).
THETA_ATTR = "gp:theta"
#: System attribute holding the joint proposal of a trial, so that a running
#: trial counts as a pending point before its objective suggested anything.
PROPOSAL_ATTR = "gp:proposal"
#: Trial system attribute: the weight of each earlier study in the transfer prior.
TRANSFER_WEIGHTS_ATTR = "gp:transfer_weights"

_PENDING = ("believer", "liar", "ignore")
_N_BEST_PERTURBED = 5
_N_PER_BEST = 32
_REJECT_TOP = 32
_PRIOR_RESTART_EVERY = 5


@dataclass
class _Obs:
    number: int
    params: dict[str, Any]
    value: float  # sign * value: always minimised


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


class GPSampler(BaseSampler):
    """Bayesian optimisation with a Gaussian process (numpy/scipy only).

    After ``n_startup_trials`` quasi-random (scrambled Sobol) trials, every
    trial fits a GP to the completed trials and proposes the maximiser of an
    acquisition function:

    * **Model.** Parameters are encoded in the unit cube (log scales linear,
      integers and stepped floats at cell centres, categoricals one-hot); a
      Matérn-5/2 kernel with one lengthscale per parameter (Hamming distance
      for categoricals), a signal variance and a noise variance, fitted as a
      MAP estimate under log-normal priors (dimension-scaled lengthscale prior
      of Hvarfner et al. 2024) with analytic gradients and L-BFGS-B, warm-started
      from the previous fit.  Objective values are minimised as
      ``direction.sign() * value`` and transformed by ``output_warp`` first.
      No input warping: the encoding already puts log-scaled parameters on
      their natural scale, and a Kumaraswamy warp would add two
      hyperparameters per dimension to every fit for a small gain.
    * **Acquisition.** ``"ei"`` (log expected improvement in the stable form of
      Ament et al. 2023), ``"pi"`` (log probability of improvement), ``"ucb"``
      (confidence bound with ``ucb_beta``), or ``"ensemble"``: per trial, the
      three are evaluated on a candidate set and one of their Pareto-optimal
      candidates is drawn at random (the MACE ensemble of HEBO).
    * **Optimisation.** A Sobol pool plus perturbations of the best observed
      points, batched L-BFGS-B from the best of them on the continuous (and
      relaxed discrete) coordinates, then a local search over neighbouring
      integer levels and other categories.
    * **Parallel workers.** Running trials are added to the model as pending
      points with a fantasised value (``pending="believer"``: the posterior
      mean, the kriging believer; ``"liar"``: the worst observed value), so
      concurrent trials spread out.

    The jointly modelled space is the intersection of the parameters of all
    completed trials (a dynamic parameter whose newer distribution still holds
    every earlier value keeps being modelled with it); other parameters are
    drawn at random (quasi-random during startup).  Only single-objective
    studies are supported.

    Args:
        seed: Seed of every random choice; with a seed, the same history gives
            the same proposals.
        n_startup_trials: Completed trials needed before the GP is used.
        acquisition: ``"ei"``, ``"pi"``, ``"ucb"`` or ``"ensemble"``.
        ucb_beta: Exploration weight of UCB (``sqrt(beta)`` standard deviations);
            also used by the ensemble.
        output_warp: ``"yeo-johnson"`` (default), ``"rank"`` or ``"standardize"``
            (see :mod:`hypersearch.samplers.gp._transform`).
        pending: ``"believer"``, ``"liar"`` or ``"ignore"`` (how running trials
            enter the model).
        deterministic_objective: Fix the noise variance at its floor (for
            objectives without evaluation noise).
        n_candidates: Size of the Sobol pool scored before refinement.
        n_restarts: Pool points refined by gradient steps.
        transfer_prior: In a study created with ``warm_start_from``, use the earlier
            studies' results as the GP's prior mean, each weighted by how well it
            ranks this study's own observations (see ``_transfer``); ``False``
            keeps only the queued top configurations of the earlier studies.
    """

    needs_finished_trials = False  # keeps its own statistics from on_trial_finished

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        acquisition: str = "ei",
        ucb_beta: float = 2.0,
        output_warp: str = "yeo-johnson",
        pending: str = "believer",
        deterministic_objective: bool = False,
        n_candidates: int = 1024,
        n_restarts: int = 8,
        transfer_prior: bool = True,
    ) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        self.n_startup_trials = _check_int("n_startup_trials", n_startup_trials, 1)
        if acquisition not in (*ACQUISITIONS, "ensemble"):
            raise ValueError(
                f"acquisition must be one of 'ei', 'pi', 'ucb' or 'ensemble', got {acquisition!r}"
            )
        if (
            isinstance(ucb_beta, bool)
            or not isinstance(ucb_beta, (int, float, np.integer, np.floating))
            or not math.isfinite(float(ucb_beta))
            or float(ucb_beta) <= 0.0
        ):
            raise ValueError(f"ucb_beta must be a finite number > 0, got {ucb_beta!r}")
        if output_warp not in OUTPUT_WARPS:
            raise ValueError(
                f"output_warp must be one of {', '.join(map(repr, OUTPUT_WARPS))}, got {output_warp!r}"
            )
        if pending not in _PENDING:
            raise ValueError(
                f"pending must be one of {', '.join(map(repr, _PENDING))}, got {pending!r}"
            )
        if not isinstance(deterministic_objective, bool):
            raise ValueError(
                f"deterministic_objective must be a bool, got {deterministic_objective!r}"
            )
        self.n_candidates = _check_int("n_candidates", n_candidates, 1)
        self.n_restarts = _check_int("n_restarts", n_restarts, 1)
        if not isinstance(transfer_prior, bool):
            raise ValueError(f"transfer_prior must be a bool, got {transfer_prior!r}")
        self.transfer_prior = transfer_prior
        self.seed = draw_seed() if seed is None else int(seed)
        self._explicit_seed = seed is not None
        self.acquisition = acquisition
        self.ucb_beta = float(ucb_beta)
        self.output_warp = output_warp
        self.pending = pending
        self.deterministic_objective = deterministic_objective
        self.min_noise = 1e-6
        self.prior = KernelPrior()
        self._lock = threading.RLock()  # guards the observation caches
        self._propose_lock = threading.Lock()  # serialises proposals
        self._reset()

    # -- state --------------------------------------------------------------------------
    def _reset(self) -> None:
        self._obs: list[_Obs] = []
        self._seen: set[int] = set()
        self._n_own = 0  # observations that are not earlier studies' queued configurations
        self._inter: dict[str, BaseDistribution] | None = None
        self._theta_src: tuple[int, list[float]] | None = None
        self._rejected: dict[int, list[dict[str, Any]]] = {}
        # Encoded observations for the current space: rows of _X[:_n_enc] match _obs[:_n_enc].
        self._enc_key: tuple | None = None
        self._encoder: UnitCubeEncoder | None = None
        self._layout: SpaceLayout | None = None
        self._X = np.empty((0, 0))
        self._n_enc = 0
        self._qmc = QMCSampler(seed=self.seed)
        # Transfer prior from earlier studies (create_study(warm_start_from=...)); read
        # lazily because the study records its sources after the sampler is attached.
        self._transfer: TransferPrior | None = None
        self._transfer_read = False

    def _transfer_prior(self, study: Study) -> TransferPrior | None:
        if not self._transfer_read and self.transfer_prior:
            self._transfer_read = True
            self._transfer = TransferPrior.from_attr(study._system_attrs.get(TRANSFER_ATTR), self.seed)
        return self._transfer

    def _in_startup(self, study: Study) -> bool:
        """Whether proposals are still space-filling draws.

        With a prior from earlier studies, the model starts after a few draws of
        this study's own besides the sources' queued configurations: the draws are
        what tells a source that ranks the new task well from a misleading one
        (the queued points all lie where the sources were good, so their order
        alone says little).
        """
        if self._transfer_prior(study) is not None:
            return self._n_own < min(self.n_startup_trials, 3)
        return len(self._obs) < self.n_startup_trials

    def attach(self, study: Study) -> None:
        if len(study.directions) != 1:
            raise ValueError(
                f"GPSampler supports single-objective studies only; this study has "
                f"{len(study.directions)} objectives"
            )
        super().attach(study)
        with self._lock:
            self._reset()
            self._qmc.attach(study)

    def on_trial_finished(self, study: Study, trial: FrozenTrial) -> None:
        with self._lock:
            self._rejected.pop(trial.number, None)
            if trial.state != TrialState.COMPLETE or not trial.values or trial.number in self._seen:
                return
            value = float(trial.values[0]) * study.directions[0].sign()
            if not math.isfinite(value):
                return
            self._seen.add(trial.number)
            self._obs.append(_Obs(trial.number, dict(trial.params), value))
            if "warm_start_from" not in trial.user_attrs:
                self._n_own += 1
            self._update_space(trial)
            theta = trial.system_attrs.get(THETA_ATTR)
            if isinstance(theta, list) and (self._theta_src is None or trial.number > self._theta_src[0]):
                self._theta_src = (trial.number, theta)

    def _update_space(self, trial: FrozenTrial) -> None:
        """Intersect the modelled space with the new trial's parameters."""
        if self._inter is None:
            self._inter = {n: trial.distributions[n] for n in trial.params if n in trial.distributions}
            return
        for name in list(self._inter):
            new = trial.distributions.get(name)
            if name not in trial.params or new is None:
                del self._inter[name]
            elif new != self._inter[name]:
                if new.single() and not self._inter[name].single():
                    # A known point (``add_trial`` without distributions records each
                    # value as a one-choice categorical): it says nothing about the
                    # range, so the modelled distribution stays; a value outside it
                    # only leaves that observation out of the model.
                    continue
                # A dynamic parameter: keep modelling it with its newer distribution
                # when that still holds every earlier value; otherwise give it up.
                if all(new.contains(o.params[name]) for o in self._obs[:-1]):
                    self._inter[name] = new
                else:
                    del self._inter[name]

    def on_reject(self, study: Study, trial: Trial) -> None:
        with self._lock:
            self._rejected.setdefault(trial.number, []).append(dict(trial.params))

    # -- the sampler interface ----------------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: Trial
    ) -> dict[str, BaseDistribution]:
        with self._lock:
            if self._in_startup(study) or not self._inter:
                return {}
            return {n: d for n, d in sorted(self._inter.items()) if not d.single()}

    def sample_independent(
        self, study: Study, trial: Trial, name: str, distribution: BaseDistribution
    ) -> Any:
        if self._in_startup(study) and trial.attempt == 0:
            return self._qmc.sample_independent(study, trial, name, distribution)
        # Constraint re-draws (attempt > 0) use hashed uniforms: the QMC sampler
        # serves them from far along its sequence, which is slow to reach.
        return distribution.from_unit(trial_uniform(self.seed, trial.number, trial.attempt, name))

    def sample_relative(
        self, study: Study, trial: Trial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        # One proposal at a time: a worker that starts while another is computing
        # then sees that worker's proposal as a pending point (recorded at the end
        # of _sample_relative), instead of proposing the same point.  The GIL
        # leaves little to gain from computing two proposals at once anyway.
        with self._propose_lock, single_threaded_blas():
            return self._sample_relative(study, trial, search_space)

    def _sample_relative(
        self, study: Study, trial: Trial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        with self._lock:
            X, y, encoder, layout = self._training_data(search_space)
            init = [np.asarray(self._theta_src[1], dtype=float)] if self._theta_src else []
            rejected = list(self._rejected.get(trial.number, ())) if trial.attempt > 0 else []
        if len(y) == 0:
            return {}
        # Parameters fixed before sampling (an enqueued partial configuration) are
        # held at their values: the others are optimised conditioned on them.
        fixed = {
            n: v for n, v in trial.params.items() if n in search_space and search_space[n].contains(v)
        }
        if len(fixed) == len(search_space):
            return {}
        transfer = self._transfer_prior(study)
        yt = transform_outputs(y, self.output_warp)
        prior = transfer.fit(search_space, encoder, layout, X, yt) if transfer is not None else None
        if transfer is not None:
            trial.set_system_attr(TRANSFER_WEIGHTS_ATTR, dict(transfer.weights))
        # With a transfer prior the GP models what the prior does not explain.
        target = yt - prior(X) if prior is not None else yt
        if fixed:
            x_fixed = encoder.encode(fixed)
            layout = layout.with_fixed({n: x_fixed[encoder.slices[n]] for n in fixed})
        theta = fit_kernel_params(
            X,
            target,
            layout.groups,
            prior=self.prior,
            init=init,
            # A fresh start from the prior every few trials keeps the warm-started
            # chain of fits from staying in a poor local optimum.
            restart_from_prior=len(y) % _PRIOR_RESTART_EVERY == 0,
            min_noise=self.min_noise,
            fixed_noise=self.deterministic_objective,
        )
        gp: GaussianProcess | PriorMeanGP = GaussianProcess(
            X, target, theta, layout.groups,
            min_noise=self.min_noise, fixed_noise=self.deterministic_objective,
        )
        if prior is not None:
            gp = PriorMeanGP(gp, prior)
        best = float(yt.min())
        gp = self._add_pending(gp, study, trial, search_space, encoder, yt, rejected)
        rng = trial_rng(self.seed, trial.number, trial.attempt)
        x, cands = self._propose(gp, layout, X, yt, best, rng)
        params = encoder.decode(x)
        params.update(fixed)
        # Never hand out a configuration that was rejected, is being evaluated, or was
        # evaluated (also while this proposal was computed: the finishing worker adds it
        # to self._obs at once): a boundary optimum, such as a corner, survives the
        # pending fantasy.  self._obs is the sampler's own incremental store, so this
        # costs no storage read.
        avoid = list(rejected)
        with self._lock:
            avoid += [{k: o.params.get(k) for k in params} for o in self._obs]
        if self.pending != "ignore":
            for t in study.running_trials():
                if t.number != trial.number:
                    cfg = {**(t.system_attrs.get(PROPOSAL_ATTR) or {}), **t.params}
                    avoid.append({k: cfg.get(k) for k in params})
        if avoid:
            params = self._avoid_rejected(params, avoid, encoder, cands, rng)
        trial.set_system_attr(THETA_ATTR, [float(t) for t in theta])
        trial.set_system_attr(PROPOSAL_ATTR, params)
        return {n: v for n, v in params.items() if n not in fixed}

    # -- internals -------------------------------------------------------------------------------
    def _training_data(
        self, space: dict[str, BaseDistribution]
    ) -> tuple[np.ndarray, np.ndarray, UnitCubeEncoder, SpaceLayout]:
        """Encoded observations for ``space``, appending only rows not encoded yet."""
        key = tuple(space.items())
        if key != self._enc_key:
            self._enc_key = key
            self._encoder = UnitCubeEncoder(space, onehot=True)
            self._layout = SpaceLayout.from_encoder(self._encoder)
            self._X = np.empty((max(16, len(self._obs)), self._encoder.dim))
            self._n_enc = 0
        enc, layout = self._encoder, self._layout
        assert enc is not None and layout is not None
        n = len(self._obs)
        if n > len(self._X):
            grown = np.empty((max(n, 2 * len(self._X)), enc.dim))
            grown[: self._n_enc] = self._X[: self._n_enc]
            self._X = grown
        for i in range(self._n_enc, n):
            row = self._encode_config(self._obs[i].params, space, enc)
            # None: a value outside the modelled distribution (a known point added
            # with another range), left out of the model
            self._X[i] = np.nan if row is None else row
        self._n_enc = n
        # Rows in trial-number order: the model then depends only on the history,
        # not on the order in which parallel workers' trials were seen finishing.
        order = np.argsort([o.number for o in self._obs], kind="stable")
        X = self._X[:n][order]
        y = np.array([o.value for o in self._obs])[order]
        ok = ~np.isnan(X).any(axis=1)
        return X[ok], y[ok], enc, layout

    def _encode_config(
        self, cfg: dict[str, Any], space: dict[str, BaseDistribution], encoder: UnitCubeEncoder
    ) -> np.ndarray | None:
        for name, d in space.items():
            if name not in cfg or not d.contains(cfg[name]):
                return None
        return encoder.encode(cfg)

    def _add_pending(
        self,
        gp: GaussianProcess,
        study: Study,
        trial: Trial,
        space: dict[str, BaseDistribution],
        encoder: UnitCubeEncoder,
        yt: np.ndarray,
        rejected: list[dict[str, Any]],
    ) -> GaussianProcess:
        """Condition the GP on fantasised values at running trials and at this
        trial's configurations rejected by a constraint."""
        rows: list[np.ndarray] = []
        if self.pending != "ignore":
            for t in study.running_trials():
                if t.number == trial.number:
                    continue
                cfg = dict(t.system_attrs.get(PROPOSAL_ATTR) or {})
                cfg.update(t.params)
                x = self._encode_config(cfg, space, encoder)
                if x is not None:
                    rows.append(x)
        Xp = np.array(rows).reshape(-1, encoder.dim)
        if len(Xp):
            yp = gp.posterior(Xp)[0] if self.pending == "believer" else np.full(len(Xp), yt.max())
        else:
            yp = np.empty(0)
        # Rejected configurations are infeasible: fantasise the worst value there.
        rej = [x for c in rejected if (x := self._encode_config(c, space, encoder)) is not None]
        if rej:
            Xp = np.vstack([Xp, np.array(rej)])
            yp = np.concatenate([yp, np.full(len(rej), yt.max())])
        if len(Xp) == 0:
            return gp
        return gp.condition_on(Xp, yp)

    def _propose(
        self,
        gp: GaussianProcess,
        layout: SpaceLayout,
        X: np.ndarray,
        yt: np.ndarray,
        best: float,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The proposal, and the scored candidates best first (the fallbacks of
        constraint re-draws)."""
        top = np.argsort(yt, kind="stable")[:_N_BEST_PERTURBED]
        pool = np.vstack(
            [sample_pool(layout, self.n_candidates, rng), perturb(layout, X[top], _N_PER_BEST, rng)]
        )
        beta = self.ucb_beta

        def fns(kind: str):
            return (
                lambda Z: acquisition_value(gp, Z, kind, best, beta),
                lambda Z: acquisition_and_grad(gp, Z, kind, best, beta),
            )

        if self.acquisition != "ensemble":
            vf, vgf = fns(self.acquisition)
            pool_vals = vf(pool)
            Xr, vr = maximize(layout, vf, vgf, pool, pool_vals, n_starts=self.n_restarts)
            cands = np.vstack([Xr, pool])
            order = np.argsort(-np.concatenate([vr, pool_vals]), kind="stable")
            return Xr[0], cands[order]
        # Ensemble: refine each acquisition, then draw from the Pareto set of all three.
        F_pool = all_acquisitions(gp, pool, best, beta)
        refined = []
        n_starts = max(2, self.n_restarts // 2)
        for j, kind in enumerate(ACQUISITIONS):
            vf, vgf = fns(kind)
            refined.append(maximize(layout, vf, vgf, pool, F_pool[:, j], n_starts=n_starts, n_local=1)[0])
        R = np.vstack(refined)
        cands = np.vstack([R, pool])
        F = np.vstack([all_acquisitions(gp, R, best, beta), F_pool])
        front = np.flatnonzero(pareto_mask(F))
        pick = int(rng.choice(front))
        # Candidates ordered by their mean rank over the three acquisitions.
        ranks = np.argsort(np.argsort(-F, axis=0, kind="stable"), axis=0, kind="stable").mean(1)
        return cands[pick], cands[np.argsort(ranks, kind="stable")]

    def _avoid_rejected(
        self,
        params: dict[str, Any],
        rejected: list[dict[str, Any]],
        encoder: UnitCubeEncoder,
        cands: np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, Any]:
        """Never propose a configuration in ``rejected`` (rejected by a constraint, or
        pending in another trial): draw among the best distinct candidates instead."""
        if params not in rejected:
            return params
        options: list[dict[str, Any]] = []
        for x in cands:
            p = encoder.decode(x)
            if p not in rejected and p not in options:
                options.append(p)
                if len(options) >= _REJECT_TOP:
                    break
        if not options:
            return {}  # every parameter then comes from sample_independent (random)
        return options[int(rng.integers(len(options)))]
