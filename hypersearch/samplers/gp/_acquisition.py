"""Acquisition functions (to be *maximised*) for minimisation, with gradients.

All functions take the posterior mean ``mu`` and standard deviation ``sigma``
of the latent objective (in the sampler's transformed, minimised units) and
return the acquisition value together with its partial derivatives with
respect to ``mu`` and ``sigma``; the chain rule through the GP posterior is
done in :func:`acquisition_and_grad`.

* **log-EI** follows Ament et al. (2023), "Unexpected improvements to expected
  improvement": with ``z = (best - mu) / sigma``, ``EI = sigma * h(z)`` and
  ``h(z) = phi(z) + z Phi(z)``.  ``log h`` is computed directly for
  ``z > -1`` and, in the tail, as
  ``-z**2/2 - log(2 pi)/2 + log1mexp(log(erfcx(-z/sqrt 2) |z|) + log(pi/2)/2)``
  (and its asymptote ``-z**2/2 - log(2 pi)/2 - 2 log|z|`` beyond
  ``-1/sqrt(eps)``), so it stays finite and informative where ``EI`` itself
  underflows to 0.  Since ``h'(z) = Phi(z)``, the derivative is
  ``exp(log Phi(z) - log h(z))``, again stable with ``scipy.special.log_ndtr``.
* **log-PI** is ``log Phi(z)`` (``log_ndtr``).
* **UCB** (a lower confidence bound, since we minimise) is
  ``-(mu - sqrt(beta) * sigma)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, log_ndtr

__all__ = [
    "ACQUISITIONS",
    "acquisition_and_grad",
    "acquisition_value",
    "log_ei",
    "log_h",
    "log_pi",
    "ucb",
]

ACQUISITIONS = ("ei", "pi", "ucb")

_C1 = 0.5 * math.log(2.0 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2.0)
_INV_SQRT_EPS = 1.0 / math.sqrt(np.finfo(float).eps)
_SQRT2 = math.sqrt(2.0)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x < 0``, accurate on the whole range."""
    x = np.minimum(x, -1e-300)
    return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z * Phi(z))`` without cancellation or underflow."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu * zu - _C1) + zu * np.exp(log_ndtr(zu)))
    mid = (~upper) & (z > -_INV_SQRT_EPS)
    zm = z[mid]
    out[mid] = (
        -0.5 * zm * zm
        - _C1
        + _log1mexp(np.log(erfcx(-zm / _SQRT2) * np.abs(zm)) + _C2)
    )
    far = ~(upper | mid)
    zf = z[far]
    out[far] = -0.5 * zf * zf - _C1 - 2.0 * np.log(np.abs(zf))
    return out


def log_ei(
    mu: np.ndarray, sigma: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log EI`` for minimisation and its derivatives in ``mu`` and ``sigma``."""
    z = (best - mu) / sigma
    lh = log_h(z)
    q = np.exp(log_ndtr(z) - lh)  # h'(z) / h(z)
    return lh + np.log(sigma), -q / sigma, (1.0 - q * z) / sigma


def log_pi(
    mu: np.ndarray, sigma: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log P(f < best)`` and its derivatives in ``mu`` and ``sigma``."""
    z = (best - mu) / sigma
    lp = log_ndtr(z)
    r = np.exp(-0.5 * z * z - _C1 - lp)  # phi(z) / Phi(z)
    return lp, -r / sigma, -r * z / sigma


def ucb(
    mu: np.ndarray, sigma: np.ndarray, beta: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sqrt(beta) * sigma - mu`` (the negated lower confidence bound)."""
    k = math.sqrt(beta)
    return k * sigma - mu, -np.ones_like(mu), np.full_like(sigma, k)


def _terms(kind: str, mu: np.ndarray, sigma: np.ndarray, best: float, beta: float):
    if kind == "ei":
        return log_ei(mu, sigma, best)
    if kind == "pi":
        return log_pi(mu, sigma, best)
    if kind == "ucb":
        return ucb(mu, sigma, beta)
    raise ValueError(f"unknown acquisition {kind!r}; expected one of {ACQUISITIONS}")


def acquisition_value(gp, X: np.ndarray, kind: str, best: float, beta: float) -> np.ndarray:
    """Acquisition values at the rows of ``X`` (no gradient)."""
    mu, var = gp.posterior(X)
    return _terms(kind, mu, np.sqrt(var), best, beta)[0]


def acquisition_and_grad(
    gp, X: np.ndarray, kind: str, best: float, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Acquisition values ``(m,)`` and gradients ``(m, d)`` at the rows of ``X``."""
    mu, var, dmu, dvar = gp.posterior_grad(X)
    sigma = np.sqrt(var)
    val, d_mu, d_sigma = _terms(kind, mu, sigma, best, beta)
    dsigma = dvar / (2.0 * sigma)[:, None]
    return val, d_mu[:, None] * dmu + d_sigma[:, None] * dsigma


def all_acquisitions(gp, X: np.ndarray, best: float, beta: float) -> np.ndarray:
    """``(m, 3)`` matrix of (log-EI, log-PI, UCB) values, for the ensemble."""
    mu, var = gp.posterior(X)
    sigma = np.sqrt(var)
    return np.column_stack([_terms(k, mu, sigma, best, beta)[0] for k in ACQUISITIONS])
