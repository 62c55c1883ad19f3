"""Parzen estimators of the TPE sampler.

Every parameter is modelled in a *unit domain* ``[0, 1]`` derived from its
current distribution, the same geometry as
:meth:`~hypersearch.space.distributions.BaseDistribution.to_unit`:

* linear floats map ``[low, high]`` linearly, log floats map ``[log low, log high]``;
* discrete parameters (integers, stepped floats) map each value to a *cell*: the
  grid value ``low + k * step`` owns ``[k / n, (k + 1) / n]`` (and a log-scaled
  integer ``v`` owns ``[log(v - 0.5), log(v + 0.5)]``, rescaled).  Kernels are
  continuous; the probability of a discrete value is the exact kernel mass of
  its cell (a discretised truncated Gaussian), and a continuous draw is rounded
  to the cell it falls in -- so a 2-valued integer is modelled as a Bernoulli,
  not as a density at two points;
* categorical parameters are not embedded at all: each kernel is a smoothed
  indicator of the observed choice (Aitchison-Aitken-like), never a Gaussian on
  choice indices.

An estimator is a weighted mixture of *product* kernels, one per observation
plus one broad *prior* kernel (a Gaussian of width 1 centred in the domain,
uniform for categorical dimensions) that keeps every region reachable.  An
observation whose value for some dimension is unknown -- a parameter missing
from that trial, or a value outside the current bounds of a dynamic parameter --
gets a uniform factor in that dimension, i.e. it is marginalised there.

Conditioning a mixture on the values of some of its dimensions
(:meth:`ParzenEstimator.condition`) re-weights its kernels by their likelihood
at those values; the TPE sampler uses it to propose the parameters of a
conditional branch jointly with the parameters already chosen above it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri

from hypersearch.space.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

__all__ = ["DimSpec", "ParzenEstimator"]

_EPS = 1e-12
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_FLOOR = -700.0  # log-probabilities below this are clamped (exp underflows anyway)

CONT, DISC, CAT = 0, 1, 2


def _choice_key(value: object) -> tuple:
    """Hashable identity of a parameter value that keeps ``True``, ``1`` and ``1.0``
    apart (they are different categorical choices)."""
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if isinstance(value, np.generic):
        value = value.item()
    return (type(value).__name__, value)


class DimSpec:
    """How one distribution maps to the unit domain of the estimators.

    Distributions are immutable and hashable, and a spec is a pure function of
    its distribution, so the sampler caches specs by distribution.
    """

    __slots__ = ("dist", "kind", "n", "a", "b", "log", "low", "high", "step", "_choice_index")

    def __init__(self, dist: BaseDistribution) -> None:
        self.dist = dist
        self.log = False
        self.n = 0
        self.a = 0.0
        self.b = 1.0
        self.low = self.high = self.step = 0.0
        self._choice_index: dict[tuple, int] = {}
        if isinstance(dist, CategoricalDistribution):
            self.kind = CAT
            self.n = len(dist.choices)
            self._choice_index = {_choice_key(c): i for i, c in enumerate(dist.choices)}
        elif isinstance(dist, IntDistribution):
            self.kind = DISC
            self.low, self.high, self.step = float(dist.low), float(dist.high), float(dist.step)
            self.n = dist._n
            if dist.log:
                self.log = True
                self.a, self.b = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
            else:
                self.a, self.b = dist.low - dist.step / 2.0, dist.high + dist.step / 2.0
        elif isinstance(dist, FloatDistribution):
            self.low, self.high = dist.low, dist.high
            if dist.step is not None:
                self.kind = DISC
                self.step = dist.step
                self.n = dist._n
                self.a, self.b = dist.low - dist.step / 2.0, dist.high + dist.step / 2.0
            else:
                self.kind = CONT
                if dist.log:
                    self.log = True
                    self.a, self.b = math.log(dist.low), math.log(dist.high)
                else:
                    self.a, self.b = dist.low, dist.high
        else:  # pragma: no cover - every distribution of the library is handled above
            raise TypeError(f"TPE cannot model {type(dist).__name__}")
        if self.kind != CAT and not self.b > self.a:
            self.b = self.a + 1.0  # a single-valued domain: any mapping will do

    # -- observations -> unit domain -------------------------------------------------------
    def encode_numbers(self, x: np.ndarray) -> np.ndarray:
        """Unit coordinates of numeric observations; NaN where a value is outside
        the current domain (or not a number)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = np.isfinite(x)
            span = self.high - self.low
            tol = 1e-9 * max(1.0, abs(span))
            ok &= (x >= self.low - tol) & (x <= self.high + tol)
            if self.log:
                t = np.log(np.where(ok, x, 1.0))
            else:
                t = x
            u = (t - self.a) / (self.b - self.a)
        return np.where(ok, np.clip(u, 0.0, 1.0), np.nan)

    def encode_number(self, x: float) -> float:
        """:meth:`encode_numbers` for one value (a scalar fast path)."""
        if not math.isfinite(x):
            return math.nan
        tol = 1e-9 * max(1.0, abs(self.high - self.low))
        if x < self.low - tol or x > self.high + tol:
            return math.nan
        if self.log:
            if x <= 0.0:
                return math.nan
            x = math.log(x)
        return min(max((x - self.a) / (self.b - self.a), 0.0), 1.0)

    def encode_value(self, value: object) -> float:
        """Unit coordinate (or choice index) of one value, NaN if not in the domain."""
        if self.kind == CAT:
            try:
                i = self._choice_index.get(_choice_key(value), -1)
            except TypeError:  # unhashable: not one of the choices
                return math.nan
            return float(i) if i >= 0 else math.nan
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return math.nan
        return self.encode_number(float(value))

    # -- discrete cells ----------------------------------------------------------------
    def cell_index(self, u: np.ndarray) -> np.ndarray:
        """Index ``k`` of the grid value whose cell contains ``u``."""
        if self.log:
            v = np.rint(np.exp(self.a + np.clip(u, 0.0, 1.0) * (self.b - self.a)))
            return np.clip(v - self.low, 0, self.n - 1).astype(np.int64)
        return np.clip(np.floor(u * self.n), 0, self.n - 1).astype(np.int64)

    def cell_bounds(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit-domain bounds of the cells ``k``."""
        if self.log:
            v = self.low + k
            lo = (np.log(v - 0.5) - self.a) / (self.b - self.a)
            hi = (np.log(v + 0.5) - self.a) / (self.b - self.a)
            return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
        return k / self.n, (k + 1.0) / self.n

    def snap(self, u: np.ndarray) -> np.ndarray:
        """Round discrete coordinates to a point inside their value's cell (the
        value's own coordinate), leave continuous ones alone."""
        if self.kind != DISC:
            return u
        k = self.cell_index(u)
        if self.log:
            return np.clip((np.log(self.low + k) - self.a) / (self.b - self.a), 0.0, 1.0)
        return (k + 0.5) / self.n

    # -- unit domain -> values ---------------------------------------------------------
    def decode(self, u: float) -> object:
        """The parameter value at unit coordinate (or choice index) ``u``."""
        d = self.dist
        if self.kind == CONT:
            u = min(max(float(u), 0.0), 1.0)
            v = math.exp(self.a + u * (self.b - self.a)) if self.log else self.a + u * (self.b - self.a)
            return min(max(v, self.low), self.high)
        if self.kind == CAT:
            return d.choices[int(min(max(round(u), 0), self.n - 1))]  # type: ignore[attr-defined]
        if self.kind == DISC:
            k = int(self.cell_index(np.array([u]))[0])
            if isinstance(d, IntDistribution):
                return int(d.low + k * d.step)
            v = self.low + k * self.step
            return float(min(max(v, self.low), self.high))
        return d.from_unit(float(u))


def _log_ndtr_diff(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``log(Phi(hi) - Phi(lo))`` for ``lo <= hi``, accurate in both tails.

    The plain difference of ``ndtr`` (fast) is used where it is well above the
    rounding error; the few far-tail entries are recomputed through ``log_ndtr``.
    """
    flip = lo > 0.0
    a = np.where(flip, -hi, lo)
    b = np.where(flip, -lo, hi)
    diff = ndtr(b) - ndtr(a)
    with np.errstate(divide="ignore"):
        out = np.log(diff)
    small = diff < 1e-8
    if small.any():
        lb = log_ndtr(b[small])
        la = log_ndtr(a[small])
        with np.errstate(divide="ignore"):
            out[small] = lb + np.log1p(-np.exp(np.minimum(la - lb, 0.0)))
    return np.maximum(out, _LOG_FLOOR)


def _logsumexp_rows(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=1)
    m = np.where(np.isfinite(m), m, 0.0)
    # terms below e^-80 of the largest are dropped: exp of very negative numbers
    # (underflow) is several times slower than the rest
    return m + np.log(np.exp(np.maximum(x - m[:, None], -80.0)).sum(axis=1))


def _trunc_log_z(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """``log(Phi((1 - mu) / sigma) - Phi(-mu / sigma))``: the log mass that a Gaussian
    centred at ``mu`` in ``[0, 1]`` puts on ``[0, 1]`` (>= log 0.38 for sigma <= 1).
    Kernels far from both bounds (most of them) get 0 without calling ``ndtr``."""
    t_lo = mu / sigma
    t_hi = (1.0 - mu) / sigma
    out = np.zeros(np.shape(mu))
    near = (t_lo < 8.5) | (t_hi < 8.5)
    if near.any():
        out[near] = np.log1p(-(ndtr(-t_lo[near]) + ndtr(-t_hi[near])))
    return out


class ParzenEstimator:
    """A weighted mixture of product kernels over the unit domain of ``specs``.

    Args:
        specs: One :class:`DimSpec` per dimension.
        obs: ``(n, d)`` observations: unit coordinates for numeric dimensions,
            choice indices (as floats) for categorical ones, NaN where unknown.
        weights: ``(n,)`` non-negative weights of the observations.
        prior_weight: Weight of the prior kernel (> 0), relative to ``weights``.
        consider_endpoints: Let the domain bounds count as neighbours when the
            bandwidth of the first and last observations is set.
        consider_magic_clip: Bandwidths at least ``1 / min(100, n_kernels + 1)`` of
            the domain (Hyperopt's "magic clip"), else a tiny floor.
        bandwidth: ``"neighbor"`` (Hyperopt/Optuna: distance to the farther
            neighbour along each dimension) or ``"scott"`` (Scott's rule on the
            weighted spread, shrinking as ``n ** (-1 / (d + 4))``).
        min_bandwidth: Absolute floor of every numeric bandwidth (unit domain).

    Evaluation cost is one ``(m, 2 d + 1) @ (2 d + 1, n)`` product for the
    continuous dimensions (the Gaussian exponent expanded as a quadratic form),
    plus one ``ndtr`` pass per discrete and one gather per categorical dimension.
    """

    def __init__(
        self,
        specs: Sequence[DimSpec],
        obs: np.ndarray,
        weights: np.ndarray,
        *,
        prior_weight: float = 1.0,
        consider_endpoints: bool = False,
        consider_magic_clip: bool = True,
        bandwidth: str = "neighbor",
        min_bandwidth: float = 0.0,
    ) -> None:
        self.specs = list(specs)
        d = len(self.specs)
        obs = np.asarray(obs, dtype=float).reshape(-1, d)
        n = obs.shape[0]
        k = self.n_kernels = n + 1
        w = np.empty(k)
        w[:n] = np.asarray(weights, dtype=float)[:n]
        w[n] = prior_weight
        with np.errstate(divide="ignore"):
            self.log_w = np.log(w) - math.log(w.sum())
        kinds = [s.kind for s in self.specs]
        self._num = np.array([i for i, t in enumerate(kinds) if t != CAT], dtype=np.int64)
        self._cat = np.array([i for i, t in enumerate(kinds) if t == CAT], dtype=np.int64)
        self._disc = np.array([kinds[i] == DISC for i in self._num], dtype=bool)
        # numeric dimensions: kernel means, bandwidths, presence (None: all present)
        dn = len(self._num)
        minsigma = 1.0 / min(100.0, 1.0 + k) if consider_magic_clip else _EPS
        minsigma = max(minsigma, min_bandwidth)
        self.mu = np.empty((k, dn))
        self.sigma = np.ones((k, dn))
        self.present: np.ndarray | None = None
        if dn:
            num_obs = obs[:, self._num]
            pres = ~np.isnan(num_obs)
            all_present = bool(pres.all())
            self.mu[:n] = num_obs if all_present else np.where(pres, num_obs, 0.5)
            if n and all_present and bandwidth == "neighbor":
                self.sigma[:n] = _neighbor(num_obs, consider_endpoints)
            elif n:
                sig = self.sigma[:n]
                for j in range(dn):
                    pj = pres[:, j]
                    if not pj.any():
                        continue
                    vals = num_obs[pj, j]
                    if bandwidth == "scott":
                        sig[pj, j] = _scott(vals, w[:n][pj], d)
                    else:
                        sig[pj, j] = _neighbor(vals[:, None], consider_endpoints)[:, 0]
            np.clip(self.sigma, minsigma, 1.0, out=self.sigma)
            if not all_present:
                self.present = np.vstack([pres, np.ones((1, dn), dtype=bool)])
        self.mu[n] = 0.5
        self.sigma[n] = 1.0
        # categorical dimensions: (C, k) log-probabilities (transposed for gathers)
        self.cat_logp_t: list[np.ndarray] = []
        for dim in self._cat:
            c = self.specs[dim].n
            col = obs[:, dim]
            pres_c = ~np.isnan(col)
            idx = np.flatnonzero(pres_c)
            p = np.full((k, c), prior_weight / (len(idx) + 1.0))
            p[idx, col[idx].astype(np.int64)] += 1.0
            p[np.flatnonzero(~pres_c)] = 1.0  # unknown value: uniform
            p[n] = 1.0  # prior kernel: uniform
            p /= p.sum(axis=1, keepdims=True)
            self.cat_logp_t.append(np.ascontiguousarray(np.log(p).T))
        self._quad_cache: np.ndarray | None = None
        self._disc_logz: dict[int, np.ndarray] = {}

    # -- structure ---------------------------------------------------------------------
    @property
    def dims(self) -> int:
        return len(self.specs)

    def _subset(self, keep: Sequence[int], log_w: np.ndarray) -> ParzenEstimator:
        """An estimator over the dimensions ``keep`` with kernel log-weights ``log_w``."""
        new = object.__new__(ParzenEstimator)
        keep = [int(i) for i in keep]
        pos = {old: new_i for new_i, old in enumerate(keep)}
        num_keep = [j for j, dim in enumerate(self._num) if int(dim) in pos]
        cat_keep = [j for j, dim in enumerate(self._cat) if int(dim) in pos]
        new.specs = [self.specs[i] for i in keep]
        new.n_kernels = self.n_kernels
        new.log_w = log_w
        new._num = np.array([pos[int(self._num[j])] for j in num_keep], dtype=np.int64)
        new._cat = np.array([pos[int(self._cat[j])] for j in cat_keep], dtype=np.int64)
        new._disc = self._disc[num_keep]
        new.mu = self.mu[:, num_keep]
        new.sigma = self.sigma[:, num_keep]
        new.present = None
        if self.present is not None:
            pres = self.present[:, num_keep]
            new.present = None if pres.all() else pres
        new.cat_logp_t = [self.cat_logp_t[j] for j in cat_keep]
        new._quad_cache = None
        new._disc_logz = {}
        return new

    def condition(self, dims: Sequence[int], x: np.ndarray) -> ParzenEstimator:
        """The conditional mixture of the other dimensions given ``x`` on ``dims``.

        For a mixture of product kernels ``sum_i w_i k_i(a) k_i(b)``, the
        conditional density of ``b`` given ``a`` is the same mixture over ``b``
        with weights ``w_i k_i(a)`` (renormalised).
        """
        dims = [int(i) for i in dims]
        if not dims:
            return self
        ctx = self._subset(dims, self.log_w)
        log_w = self.log_w + ctx.component_log_lik(np.asarray(x, dtype=float).reshape(1, -1))[0]
        log_w = log_w - _logsumexp_rows(log_w[None, :])[0]
        drop = set(dims)
        return self._subset([i for i in range(self.dims) if i not in drop], log_w)

    # -- densities ---------------------------------------------------------------------
    def _quad(self) -> np.ndarray:
        """Continuous dimensions as a quadratic form: with ``f(x) = [x*x, x, 1]``,
        the log-density of ``x`` under the kernels is ``f(x) @ W`` (a missing
        coordinate contributes 0: the uniform density on [0, 1])."""
        if self._quad_cache is None:
            cont = ~self._disc
            mu, sg = self.mu[:, cont], self.sigma[:, cont]
            a = 0.5 / (sg * sg)
            c = -a * mu * mu - np.log(sg) - _LOG_SQRT_2PI - _trunc_log_z(mu, sg)
            if self.present is not None:
                pc = self.present[:, cont]
                a = np.where(pc, a, 0.0)
                c = np.where(pc, c, 0.0)
            dc = mu.shape[1]
            w = np.empty((2 * dc + 1, self.n_kernels))
            w[:dc] = -a.T
            w[dc : 2 * dc] = (2.0 * a * mu).T
            w[2 * dc] = c.sum(axis=1)
            self._quad_cache = w
        return self._quad_cache

    def component_log_lik(self, x: np.ndarray) -> np.ndarray:
        """``(m, n_kernels)`` log-likelihood of each point under each kernel
        (densities for continuous dims, cell masses for discrete ones,
        probabilities for categorical ones)."""
        x = np.asarray(x, dtype=float)
        m = x.shape[0]
        out: np.ndarray | None = None
        if len(self._num):
            xn = x[:, self._num]
            cont = ~self._disc
            if cont.any():
                xc = xn[:, cont]
                dc = xc.shape[1]
                f = np.empty((m, 2 * dc + 1))
                f[:, :dc] = xc * xc
                f[:, dc : 2 * dc] = xc
                f[:, 2 * dc] = 1.0
                # einsum, not matmul: a BLAS gemm of this shape goes multi-threaded
                # from a few thousand kernels and is many times slower on a busy host
                out = np.einsum("md,dk->mk", f, self._quad())
            for j in np.flatnonzero(self._disc):
                ll = self._disc_log_lik(int(j), xn[:, j])
                out = ll if out is None else out + ll
        for j, dim in enumerate(self._cat):
            t = self.cat_logp_t[j]
            idx = np.clip(x[:, dim].astype(np.int64), 0, t.shape[0] - 1)
            out = t[idx] if out is None else out + t[idx]
        return np.zeros((m, self.n_kernels)) if out is None else out

    def _disc_log_lik(self, j: int, xj: np.ndarray) -> np.ndarray:
        spec = self.specs[int(self._num[j])]
        lo, hi = spec.cell_bounds(spec.cell_index(xj))
        mu, sg = self.mu[:, j], self.sigma[:, j]
        logz = self._disc_logz.get(j)
        if logz is None:
            logz = self._disc_logz[j] = _trunc_log_z(mu, sg)
        ll = _log_ndtr_diff((lo[:, None] - mu) / sg, (hi[:, None] - mu) / sg) - logz
        if self.present is not None:
            width = np.log(np.maximum(hi - lo, 1e-300))[:, None]
            ll = np.where(self.present[:, j], ll, width)
        return ll

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """``(m,)`` log-density of the mixture at the points ``x``."""
        return _logsumexp_rows(self.component_log_lik(x) + self.log_w)

    # -- sampling ----------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``(size, d)`` draws; discrete coordinates snapped to their value's cell."""
        cdf = np.cumsum(np.exp(self.log_w - self.log_w.max()))
        comp = np.minimum(
            np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right"), self.n_kernels - 1
        )
        out = np.empty((size, self.dims))
        if len(self._num):
            mu = self.mu[comp]
            sg = self.sigma[comp]
            r = rng.random(mu.shape)
            lo = ndtr(-mu / sg)
            hi = ndtr((1.0 - mu) / sg)
            q = np.clip(lo + r * (hi - lo), 1e-300, 1.0 - 1e-16)
            u = np.clip(mu + sg * ndtri(q), 0.0, 1.0)
            if self.present is not None:
                u = np.where(self.present[comp], u, rng.random(mu.shape))
            for j, dim in enumerate(self._num):
                out[:, dim] = self.specs[int(dim)].snap(u[:, j]) if self._disc[j] else u[:, j]
        for j, dim in enumerate(self._cat):
            p = np.exp(self.cat_logp_t[j][:, comp].T)
            c = np.cumsum(p, axis=1)
            r = rng.random(size) * c[:, -1]
            out[:, dim] = np.minimum((r[:, None] >= c).sum(axis=1), c.shape[1] - 1)
        return out


def _neighbor(vals: np.ndarray, consider_endpoints: bool) -> np.ndarray:
    """Hyperopt's bandwidth, per column of ``vals`` (``(n, d)``): the distance to
    the farther of the two neighbours (the domain bounds count as neighbours)."""
    n, d = vals.shape
    vt = vals.T
    order = np.argsort(vt, axis=1)
    flat = (order + (np.arange(d) * n)[:, None]).ravel()
    ext = np.empty((d, n + 2))
    ext[:, 0] = 0.0
    ext[:, -1] = 1.0
    ext[:, 1:-1] = vt.ravel()[flat].reshape(d, n) if vt.flags.c_contiguous else \
        np.ascontiguousarray(vt).ravel()[flat].reshape(d, n)
    gaps = ext[:, 1:] - ext[:, :-1]
    sig = np.maximum(gaps[:, :-1], gaps[:, 1:])
    if not consider_endpoints and n >= 2:
        sig[:, 0] = gaps[:, 1]
        sig[:, -1] = gaps[:, -2]
    out = np.empty(d * n)
    out[flat] = sig.ravel()
    return out.reshape(d, n).T


def _scott(vals: np.ndarray, w: np.ndarray, d: int) -> np.ndarray:
    """Scott's rule on the weighted standard deviation (robustified by the IQR)."""
    n = len(vals)
    ws = w.sum()
    mean = (w * vals).sum() / ws if ws > 0 else vals.mean()
    std = math.sqrt(max(((w * (vals - mean) ** 2).sum() / ws) if ws > 0 else 0.0, 0.0))
    if n >= 4:
        q75, q25 = np.percentile(vals, [75, 25])
        iqr = (q75 - q25) / 1.349
        if iqr > 0:
            std = min(std, iqr)
    return np.full(n, 1.06 * std * n ** (-1.0 / (d + 4)))

