"""Transfer from earlier studies: a meta-learned prior mean for the GP.

``create_study(warm_start_from=[...])`` records the finished trials of earlier
studies of similar tasks in the new study (system attribute ``TRANSFER_ATTR``),
so the transfer survives a resume like everything else.  The GP sampler turns
them into a prior mean:

* one GP per source study, fitted once to the source's (warped) results in the
  new study's encoding; a source whose trials do not cover the modelled space
  is left out (spaces must overlap);
* each source is weighted by how well its model *ranks* the new study's own
  observations, Kendall's tau clipped at 0 (the ranking-loss weighting of
  RGPE, Feurer et al. 2018, in its simplest form): a source that orders the new
  task's configurations like the task itself keeps its influence, one that
  does not is switched off after a few observations;
* the weighted mean is mapped onto the new study's scale by least squares
  (slope clipped at 0), and the new study's GP models only the residual
  (the stacked-residual scheme of Google Vizier's transfer learning).

With no observations of its own the new study trusts every source equally;
the prior then steers the first model-based proposals toward regions that were
good before, while the residual GP corrects it as data arrive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hypersearch.samplers.gp._gp import GaussianProcess, KernelPrior, fit_kernel_params
from hypersearch.samplers.gp._optimize import SpaceLayout
from hypersearch.samplers.gp._transform import transform_outputs
from hypersearch.space.distributions import BaseDistribution
from hypersearch.space.encoding import UnitCubeEncoder

__all__ = ["TRANSFER_ATTR", "PriorMeanGP", "TransferPrior", "kendall_tau"]

#: Study system attribute holding the source studies' results (JSON).
TRANSFER_ATTR = "transfer:sources"

# Source models need a few points to say anything; more than this many are
# subsampled (the source GP is fitted once, but its cost is cubic in its size).
_MIN_SOURCE_POINTS = 4
_MAX_SOURCE_POINTS = 300
# Below this many own observations the sources are trusted equally.
_MIN_RANKING_POINTS = 3


@dataclass
class SourceData:
    """Finished trials of one earlier study, values signed for minimisation."""

    name: str
    params: list[dict[str, Any]]
    values: list[float]


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-a of two score vectors (pairs tied in ``b`` are skipped)."""
    n = len(a)
    if n < 2:
        return 0.0
    i, j = np.triu_indices(n, 1)
    db = np.sign(b[i] - b[j])
    keep = db != 0
    if not keep.any():
        return 0.0
    return float(np.mean(np.sign(a[i] - a[j])[keep] * db[keep]))


class _SourceModel:
    def __init__(self, name: str, gp: GaussianProcess) -> None:
        self.name = name
        self.gp = gp


class TransferPrior:
    """Weighted source-GP prior mean over one encoding of the search space."""

    def __init__(self, sources: list[SourceData], seed: int = 0) -> None:
        self.sources = sources
        self.seed = seed
        self._key: tuple | None = None
        self._models: list[_SourceModel] = []
        #: Last weights, by source name (for inspection and tests).
        self.weights: dict[str, float] = {}

    @classmethod
    def from_attr(cls, raw: Any, seed: int = 0) -> TransferPrior | None:
        """Parse the study attribute; ``None`` when it holds no usable source."""
        if not isinstance(raw, list):
            return None
        sources = []
        for s in raw:
            try:
                params = [dict(p) for p in s["params"]]
                values = [float(v) for v in s["values"]]
            except (KeyError, TypeError, ValueError):
                continue
            if len(params) == len(values) and params:
                sources.append(SourceData(str(s.get("name", "?")), params, values))
        return cls(sources, seed) if sources else None

    def models(
        self, space: dict[str, BaseDistribution], encoder: UnitCubeEncoder, layout: SpaceLayout
    ) -> list[_SourceModel]:
        """Source GPs for this encoding, fitted on first use and cached."""
        key = tuple(space.items())
        if key == self._key:
            return self._models
        self._key = key
        self._models = []
        rng = np.random.default_rng(self.seed)
        for src in self.sources:
            rows, ys = [], []
            for p, v in zip(src.params, src.values):
                if not math.isfinite(v):
                    continue
                if all(n in p and d.contains(p[n]) for n, d in space.items()):
                    rows.append(encoder.encode(p))
                    ys.append(v)
            if len(rows) < _MIN_SOURCE_POINTS:
                continue
            X, y = np.array(rows), np.array(ys)
            if len(y) > _MAX_SOURCE_POINTS:
                idx = rng.choice(len(y), _MAX_SOURCE_POINTS, replace=False)
                X, y = X[idx], y[idx]
            yt = transform_outputs(y, "yeo-johnson")
            if not np.ptp(yt) > 0:
                continue
            theta = fit_kernel_params(X, yt, layout.groups, prior=KernelPrior())
            self._models.append(_SourceModel(src.name, GaussianProcess(X, yt, theta, layout.groups)))
        return self._models

    def fit(
        self,
        space: dict[str, BaseDistribution],
        encoder: UnitCubeEncoder,
        layout: SpaceLayout,
        X: np.ndarray,
        y: np.ndarray,
    ) -> _PriorMean | None:
        """The prior mean for target data ``(X, y)`` (``y`` already warped), or
        ``None`` when no source applies or every source mis-ranks the target."""
        models = self.models(space, encoder, layout)
        if not models:
            self.weights = {}
            return None
        M = np.column_stack([m.gp.posterior(X)[0] for m in models]) if len(X) else np.empty((0, len(models)))
        if len(y) >= _MIN_RANKING_POINTS:
            w = np.array([max(0.0, kendall_tau(M[:, k], y)) for k in range(len(models))])
        else:
            w = np.ones(len(models))
        self.weights = {m.name: float(wk) for m, wk in zip(models, w)}
        if not w.sum() > 0:
            return None
        w = w / w.sum()
        if len(y) >= 2:
            m = M @ w
            vm = float(np.var(m))
            slope = max(0.0, float(np.cov(m, y, bias=True)[0, 1]) / vm) if vm > 1e-12 else 0.0
            if slope == 0.0:
                return None
            offset = float(np.mean(y) - slope * np.mean(m))
        else:
            slope, offset = 1.0, float(np.mean(y)) if len(y) else 0.0
            if len(y):
                offset -= float(M[0] @ w)
        return _PriorMean([m.gp for m in models], w * slope, offset)


class _PriorMean:
    """``offset + sum_k c_k mu_k(x)`` and its gradient."""

    def __init__(self, gps: list[GaussianProcess], coef: np.ndarray, offset: float) -> None:
        self.gps = gps
        self.coef = coef
        self.offset = offset

    def __call__(self, X: np.ndarray) -> np.ndarray:
        out = np.full(len(X), self.offset)
        for c, gp in zip(self.coef, self.gps):
            if c:
                out += c * gp.posterior(X)[0]
        return out

    def with_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = np.full(len(X), self.offset)
        grad = np.zeros_like(X, dtype=float)
        for c, gp in zip(self.coef, self.gps):
            if c:
                mu, _, dmu, _ = gp.posterior_grad(X)
                out += c * mu
                grad += c * dmu
        return out, grad


class PriorMeanGP:
    """A GP on residuals plus a fixed prior mean, with :class:`GaussianProcess`'s
    posterior interface (what the acquisition functions use)."""

    def __init__(self, residual: GaussianProcess, prior: _PriorMean) -> None:
        self.residual = residual
        self.prior = prior

    def posterior(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, var = self.residual.posterior(Xq)
        return mu + self.prior(Xq), var

    def posterior_grad(self, Xq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        mu, var, dmu, dvar = self.residual.posterior_grad(Xq)
        pm, dpm = self.prior.with_grad(Xq)
        return mu + pm, var, dmu + dpm, dvar

    def condition_on(self, Xn: np.ndarray, yn: np.ndarray) -> PriorMeanGP:
        return PriorMeanGP(self.residual.condition_on(Xn, yn - self.prior(Xn)), self.prior)
