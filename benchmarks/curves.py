"""A learning-curve problem family for schedulers, evaluated in simulated time.

A "training run" of a configuration is a small dynamical system: the (noise-free)
validation loss starts at ``L0`` (chance level) and, under a fixed configuration,
follows a power law towards the configuration's asymptote::

    loss(c, t) = f(c) + (L0 - f(c)) * (1 + t / tau(c)) ** (-b(c))

plus independent Gaussian observation noise on every reported value (the
validation-set noise).  One epoch is one function evaluation, so thousands of
trials run in seconds and every scheduler can be measured on many seeds.

The space looks like a small network's::

    lr            log-uniform [1e-4, 1]
    weight_decay  log-uniform [1e-6, 1e-1]
    dropout       uniform [0, 0.8]
    width         one of 16, 32, ..., 1024
    batch_size    one of 16, 32, 64, 128, 256

and the curves cross the way practitioners know:

* a large learning rate (or a small batch: more steps per epoch) learns fast
  (small ``tau``) but plateaus higher (``f`` grows with the distance from the
  best learning rate, and diverges beyond about 40x of it); a small one starts
  slowly but would end lower,
* dropout and weight decay slow training (larger ``tau``, smaller ``b``) but lower
  the plateau of wide networks (they overfit without regularisation), so
  regularised configurations look bad early and good late,
* wide networks learn faster per epoch; narrow ones underfit.

Hence the rank after a few epochs predicts the final rank, but not perfectly
(:func:`rank_correlations` measures it; the benchmark prints it).

The objective is the loss after ``max_t`` epochs of training, ``loss(c, max_t)``
without noise; its global minimum over the space is computed numerically
(every width x batch size combination, multi-start L-BFGS-B over the three
continuous parameters on a fine start grid; :meth:`CurveProblem.optimum`), and
each trial is scored by the noise-free final loss of its configuration.

Training is *stateful* (:meth:`CurveProblem.step`): the state is the current
noise-free loss, and an epoch under configuration ``c`` moves it along ``c``'s
curve from the point of that curve with the same loss.  For a fixed
configuration this is exactly the closed form above; when population-based
training changes the configuration mid-run, training continues from the
current loss with the new configuration's speed and plateau (a loss already
below the new plateau relaxes up towards it), so a schedule (fast learning
rate first, slow one later) can end below every fixed configuration, as it can
in real training.

Instances (``PROBLEMS``) shift the optimum in every coordinate and change the
best attainable loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

L0 = 2.3  # chance-level loss (log 10 for ten classes)
WIDTHS = (16, 32, 64, 128, 256, 512, 1024)
BATCHES = (16, 32, 64, 128, 256)
LR_RANGE = (1e-4, 1.0)
WD_RANGE = (1e-6, 1e-1)
DROPOUT_RANGE = (0.0, 0.8)
# coefficients of the response surface (shared by every instance)
C = {"lr": 0.06, "lr_flat": 0.4, "cap": 0.1, "overreg": 0.06, "reg_flat": 0.35, "wd": 0.05, "batch": 0.003, "wide": 0.012,
     "overfit": 0.03, "slow": 0.4, "tau_o": 8.0, "b": 3.0, "fast": -1.8}


@dataclass(frozen=True)
class CurveProblem:
    """One instance of the family.

    Args:
        name: Instance name.
        f_min: Plateau of the best-regularised, best-learning-rate configuration.
        lr_shift: Shift of the best learning rate (decades).
        wd_shift: Shift of the best weight decay (decades).
        width_shift: Shift of the best width (powers of two).
        reg_shift: Shift of the regularisation a wide network needs.
        max_t: Epochs of a full training.
        noise: Relative standard deviation of the observation noise.
        crossing: Scales how much the configurations' learning speeds differ (1: the
            family as described; 0: every curve has the same shape, so curves cross
            only through noise and the early rank is as faithful as it can be).
    """

    name: str
    f_min: float = 0.10
    lr_shift: float = 0.0
    wd_shift: float = 0.0
    width_shift: float = 0.0
    reg_shift: float = 0.0
    max_t: int = 27
    noise: float = 0.004
    crossing: float = 1.0
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    # -- the response surface -------------------------------------------------------------
    def params(self, config: dict) -> tuple[float, float, float, float, float]:
        """``(f, tau, b, omega, tau_o)`` of a configuration: fitting plateau, time scale
        (epochs) and exponent; overfitting amount and its time scale."""
        u = math.log10(config["lr"])
        v = math.log10(config["weight_decay"])
        d = float(config["dropout"])
        w = math.log2(config["width"])
        s = math.log2(config["batch_size"] / 64.0)
        fm = self.f_min

        # plateau of the fit (relative penalties: 0.01 is 1 % of f_min) ------------------------
        u_best = -2.3 + 0.3 * s + self.lr_shift  # bigger batches tolerate bigger steps
        du = u - u_best
        pen = C["lr"] * max(abs(du) - C["lr_flat"], 0.0) ** 2
        if du > 1.5:  # diverges
            pen += 8.0 * (du - 1.5) ** 2
        w_rel = w - 4.0 - self.width_shift
        pen += C["cap"] * 2.0 ** (-w_rel / 2.0)  # wider networks can fit better ...
        pen += C["wide"] * max(w_rel - 4.0, 0.0) ** 2  # ... up to a point
        reg = 1.5 * d + 0.4 * (v + 6.0 - self.wd_shift)  # total regularisation
        reg_best = 0.3 + 0.3 * w_rel + self.reg_shift  # ... but need more regularisation
        pen += C["overreg"] * max(reg - reg_best - C["reg_flat"], 0.0) ** 2  # underfits
        pen += C["wd"] * max(v - (-3.0 + self.wd_shift), 0.0) ** 2  # too much weight decay
        pen += C["batch"] * (s + 0.5) ** 2
        f = min(fm * (1.0 + pen), L0 - 0.05)
        # under-regularised networks overfit: the validation loss turns up later
        omega = fm * C["overfit"] * max(reg_best - reg - C["reg_flat"], 0.0) ** 2

        # speed: progress per epoch ~ step size x steps per epoch; wide networks learn
        # faster, dropout and weight decay slow learning down
        rate = (u - 0.301 * s) - (C["fast"] + self.lr_shift) + 0.1 * (w - 7.0) - C["slow"] * d
        tau = min(max(10.0 ** (-rate), 0.05), 1e4)
        b = C["b"] * (1.0 - 0.35 * d)
        if du > 1.5:  # unstable: barely learns
            b *= math.exp(-2.0 * (du - 1.5))
        b = max(b, 0.05)
        if self.crossing != 1.0:  # shrink the spread of speeds towards one shape (tau = 1, b = C["b"])
            tau = 10.0 ** (self.crossing * math.log10(tau))  # towards 1 epoch
            b = C["b"] + self.crossing * (b - C["b"])
            omega *= self.crossing
        return f, tau, b, omega, C["tau_o"] * tau

    def curve(self, config: dict, t) -> np.ndarray:
        """Noise-free loss after ``t`` epochs of training with a fixed configuration."""
        f, tau, b, omega, tau_o = self.params(config)
        t = np.asarray(t, dtype=float)
        return f + (L0 - f) * (1.0 + t / tau) ** (-b) + omega * (1.0 - np.exp(-t / tau_o))

    def final(self, config: dict) -> float:
        """The objective: noise-free loss after ``max_t`` epochs."""
        return float(self.curve(config, self.max_t))

    def initial_state(self) -> tuple[float, float]:
        """``(fit loss, overfitting progress)`` of an untrained model."""
        return (L0, 0.0)

    def loss(self, state: tuple[float, float], config: dict) -> float:
        """Noise-free validation loss of a model in ``state`` under ``config``."""
        f, tau, b, omega, tau_o = self.params(config)
        return state[0] + omega * state[1]

    def step(self, state: tuple[float, float], config: dict) -> tuple[float, float]:
        """One epoch of training under ``config`` from ``state``."""
        f, tau, b, omega, tau_o = self.params(config)
        fit, o = state
        excess = fit - f
        if excess <= 0.0:  # below this configuration's plateau: drift up towards it
            fit = f + 0.5 * excess
        else:
            t_eq = tau * ((excess / (L0 - f)) ** (-1.0 / b) - 1.0)
            fit = f + (L0 - f) * (1.0 + (max(t_eq, 0.0) + 1.0) / tau) ** (-b)
        o = 1.0 - (1.0 - o) * math.exp(-1.0 / tau_o)
        return (fit, o)

    def observe(self, loss: float, rng: np.random.Generator) -> float:
        """The reported (noisy) validation loss of a model whose true loss is ``loss``."""
        return float(loss * (1.0 + self.noise * rng.standard_normal()))

    # -- sampling and the optimum ---------------------------------------------------------
    @staticmethod
    def sample(rng: np.random.Generator) -> dict:
        return {
            "lr": float(10 ** rng.uniform(math.log10(LR_RANGE[0]), math.log10(LR_RANGE[1]))),
            "weight_decay": float(10 ** rng.uniform(math.log10(WD_RANGE[0]), math.log10(WD_RANGE[1]))),
            "dropout": float(rng.uniform(*DROPOUT_RANGE)),
            "width": int(WIDTHS[rng.integers(len(WIDTHS))]),
            "batch_size": int(BATCHES[rng.integers(len(BATCHES))]),
        }

    def optimum(self) -> tuple[float, dict]:
        """Global minimum of :meth:`final` and its configuration (computed once)."""
        if "opt" not in self._cache:
            self._cache["opt"] = _minimise(self)
        return self._cache["opt"]

    @property
    def optimum_value(self) -> float:
        return self.optimum()[0]


def _minimise(p: CurveProblem) -> tuple[float, dict]:
    from scipy.optimize import minimize

    lo = np.array([math.log10(LR_RANGE[0]), math.log10(WD_RANGE[0]), DROPOUT_RANGE[0]])
    hi = np.array([math.log10(LR_RANGE[1]), math.log10(WD_RANGE[1]), DROPOUT_RANGE[1]])
    best_v, best_c = math.inf, None
    grid = np.stack(np.meshgrid(*[np.linspace(0, 1, 9)] * 3, indexing="ij"), -1).reshape(-1, 3)
    for width in WIDTHS:
        for batch in BATCHES:
            def fn(x, width=width, batch=batch):
                return p.final({"lr": 10 ** x[0], "weight_decay": 10 ** x[1], "dropout": x[2],
                                "width": width, "batch_size": batch})

            starts = lo + grid * (hi - lo)
            vals = np.array([fn(x) for x in starts])
            for x0 in starts[np.argsort(vals)[:4]]:
                r = minimize(fn, x0, method="L-BFGS-B", bounds=list(zip(lo, hi)))
                if r.fun < best_v:
                    best_v = float(r.fun)
                    best_c = {"lr": float(10 ** r.x[0]), "weight_decay": float(10 ** r.x[1]),
                              "dropout": float(r.x[2]), "width": width, "batch_size": batch}
    return best_v, best_c


def rank_correlations(p: CurveProblem, epochs=(1, 3, 9), n: int = 2000, seed: int = 0) -> dict:
    """Spearman correlation, over ``n`` random configurations, between the rank of
    the *observed* (noisy) loss at each epoch and the rank of the noise-free final
    loss."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    configs = [p.sample(rng) for _ in range(n)]
    final = np.array([p.final(c) for c in configs])
    out = {}
    for e in epochs:
        early = np.array([p.observe(float(p.curve(c, e)), rng) for c in configs])
        out[int(e)] = float(spearmanr(early, final).statistic)
        top = final <= np.quantile(final, 0.1)
        out[f"{int(e)}_top10"] = float(spearmanr(early[top], final[top]).statistic)
    return out


def random_search_quantiles(p: CurveProblem, n_trials: int, reps: int = 2000, seed: int = 0) -> dict:
    """Distribution of the best final loss of ``n_trials`` random configurations
    (selected by the observed final value, scored by the noise-free one)."""
    rng = np.random.default_rng(seed)
    configs = [p.sample(rng) for _ in range(n_trials * reps)]
    final = np.array([p.final(c) for c in configs]).reshape(reps, n_trials)
    observed = final * (1.0 + p.noise * rng.standard_normal(final.shape))
    pick = final[np.arange(reps), observed.argmin(1)]
    opt = p.optimum_value
    return {
        "median": float(np.median(pick)),
        "p_within_1pct": float(np.mean(pick <= opt * 1.01)),
        "share_within_1pct": float(np.mean(final <= opt * 1.01)),
    }


PROBLEMS: dict[str, CurveProblem] = {
    p.name: p
    for p in [
        CurveProblem("curves-a", f_min=0.10),
        CurveProblem("curves-b", f_min=0.15, lr_shift=0.4, wd_shift=1.0, width_shift=-1.0, reg_shift=0.3),
        CurveProblem("curves-c", f_min=0.08, lr_shift=-0.5, wd_shift=-1.0, width_shift=1.0, reg_shift=-0.3),
        CurveProblem("curves-d", f_min=0.20, lr_shift=0.8, wd_shift=0.5, width_shift=0.0, reg_shift=0.6),
        # a sensitivity check, not part of the default suite: curves of similar shape, so
        # the early rank is faithful (the favourable case for early stopping)
        CurveProblem("curves-faithful", f_min=0.10, crossing=0.0),
        # between the two: speeds differ half as much, so curves still cross but the
        # early rank is more informative than in the default suite
        CurveProblem("curves-moderate", f_min=0.10, crossing=0.5),
    ]
}
