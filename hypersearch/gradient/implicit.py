"""Hypergradients of a validation loss by implicit differentiation.

For continuous hyperparameters ``lam`` of a model trained to a minimum
``w*(lam) = argmin_w L_train(w, lam)`` (an L2 penalty, a weight-decay, a
label-smoothing factor), the implicit function theorem gives the gradient of
the validation loss without differentiating through training::

    dL_val/dlam = dL_val/dlam|direct - (d2 L_train / dlam dw) H^-1 dL_val/dw,

with ``H`` the Hessian of the training loss in ``w``.  The inverse-Hessian
product is solved by conjugate gradients on Hessian-vector products (or exactly
for small models), so one hypergradient costs about as much as a few training
steps, and all hyperparameters get their gradient at once: tuning thirty
per-feature penalties costs the same number of model fits as tuning one
(Pedregosa, "Hyperparameter optimization with approximate gradient", 2016;
Lorraine et al., 2020).  Needs PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HypergradientResult", "hypergradient_descent", "implicit_hypergradient"]


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("hypergradients need PyTorch: pip install 'hypersearch[torch]'") from None
    return torch


def _dot(a: Sequence[Any], b: Sequence[Any]) -> Any:
    return sum((x * y).sum() for x, y in zip(a, b))


def _cg(hvp: Callable[[list[Any]], list[Any]], b: list[Any], max_iter: int, tol: float) -> list[Any]:
    """Solve ``H x = b`` by conjugate gradients (H symmetric positive definite)."""
    x = [bi.new_zeros(bi.shape) for bi in b]
    r = [bi.clone() for bi in b]
    p = [ri.clone() for ri in r]
    rs = _dot(r, r)
    b_norm = float(rs) ** 0.5
    for _ in range(max_iter):
        if float(rs) ** 0.5 <= tol * max(b_norm, 1e-30):
            break
        Hp = hvp(p)
        alpha = rs / _dot(p, Hp)
        x = [xi + alpha * pi for xi, pi in zip(x, p)]
        r = [ri - alpha * hi for ri, hi in zip(r, Hp)]
        rs_new = _dot(r, r)
        p = [ri + (rs_new / rs) * pi for ri, pi in zip(r, p)]
        rs = rs_new
    return x


def implicit_hypergradient(
    inner_loss: Callable[[Sequence[Any], Sequence[Any]], Any],
    outer_loss: Callable[[Sequence[Any], Sequence[Any]], Any],
    params: Sequence[Any],
    hparams: Sequence[Any],
    *,
    solver: str = "cg",
    max_iter: int = 100,
    tol: float = 1e-10,
    damping: float = 0.0,
) -> list[Any]:
    """Gradient of ``outer_loss(params*, hparams)`` with respect to ``hparams``.

    Args:
        inner_loss: ``f(params, hparams)``: the training loss ``params`` minimise.
        outer_loss: ``g(params, hparams)``: the validation loss.
        params: Model tensors at (close to) the minimum of ``inner_loss`` for the
            current ``hparams`` (they need ``requires_grad``).
        hparams: Hyperparameter tensors (``requires_grad``).
        solver: ``"cg"`` (conjugate gradients on Hessian-vector products) or
            ``"exact"`` (the full Hessian; small models only).
        max_iter, tol: Conjugate-gradient limits.
        damping: Added to the Hessian's diagonal (regularises a flat minimum).

    Returns:
        One tensor per hyperparameter, shaped like it.
    """
    torch = _torch()
    if solver not in ("cg", "exact"):
        raise ValueError(f"solver must be 'cg' or 'exact', got {solver!r}")
    params, hparams = list(params), list(hparams)
    outer = outer_loss(params, hparams)
    g_w = torch.autograd.grad(outer, params, retain_graph=True, allow_unused=True)
    g_w = [torch.zeros_like(p) if g is None else g for p, g in zip(params, g_w)]
    direct = torch.autograd.grad(outer, hparams, allow_unused=True)
    inner = inner_loss(params, hparams)
    g_in = torch.autograd.grad(inner, params, create_graph=True)

    def hvp(v: list[Any]) -> list[Any]:
        out = torch.autograd.grad(g_in, params, grad_outputs=v, retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if o is None else o + damping * vi for p, o, vi in zip(params, out, v)]

    if solver == "cg":
        v = _cg(hvp, g_w, max_iter, tol)
    else:
        sizes = [p.numel() for p in params]
        n = sum(sizes)
        H = torch.zeros(n, n, dtype=params[0].dtype, device=params[0].device)
        for i in range(n):
            e = torch.zeros(n, dtype=params[0].dtype, device=params[0].device)
            e[i] = 1.0
            parts, k = [], 0
            for p, s in zip(params, sizes):
                parts.append(e[k : k + s].reshape(p.shape))
                k += s
            H[:, i] = torch.cat([h.reshape(-1) for h in hvp(parts)])
        flat = torch.linalg.solve(H, torch.cat([g.reshape(-1) for g in g_w]))
        v, k = [], 0
        for p, s in zip(params, sizes):
            v.append(flat[k : k + s].reshape(p.shape))
            k += s
    mixed = torch.autograd.grad(g_in, hparams, grad_outputs=[vi.detach() for vi in v], allow_unused=True)
    out = []
    for h, d, m in zip(hparams, direct, mixed):
        g = torch.zeros_like(h) if d is None else d.detach().clone()
        if m is not None:
            g = g - m.detach()
        out.append(g)
    return out


@dataclass
class HypergradientResult:
    """Outcome of :func:`hypergradient_descent`."""

    hparams: dict[str, float]  #: best hyperparameters found (by validation loss)
    value: float  #: their validation loss
    fits: int  #: model fits used
    history: list[tuple[dict[str, float], float]] = field(default_factory=list)  #: (hparams, loss) per fit
    params: Any = None  #: the model fitted with the best hyperparameters


def hypergradient_descent(
    fit: Callable[[dict[str, Any], Any], Any],
    inner_loss: Callable[[Sequence[Any], Mapping[str, Any]], Any],
    outer_loss: Callable[[Sequence[Any], Mapping[str, Any]], Any],
    init: Mapping[str, float],
    *,
    log: bool = True,
    steps: int = 20,
    lr: float = 0.3,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    solver: str = "cg",
    tol: float | None = 1e-6,
) -> HypergradientResult:
    """Tune continuous hyperparameters by descending their validation hypergradient.

    Each step fits the model (``fit(hparams, warm_start) -> params``, a list of
    tensors at the training minimum; ``warm_start`` is the previous fit), takes
    the implicit hypergradient of ``outer_loss`` and moves the hyperparameters
    by Adam on their logarithm (``log=True``: penalties span decades).  One model
    fit per step, whatever the number of hyperparameters.

    Args:
        fit: Trains the model for given hyperparameters (floats).
        inner_loss, outer_loss: ``f(params, hparams)`` with ``hparams`` a dict of
            scalar tensors: the training and validation losses.
        init: Starting hyperparameters.
        log: Optimise ``log(h)`` (values must be positive).
        steps: Model fits.
        lr: Adam step size (in log units with ``log=True``).
        bounds: ``{name: (low, high)}`` the hyperparameters are clipped to.
        solver: As for :func:`implicit_hypergradient`.
        tol: Stop when the validation loss improved by less than this (relative)
            over the last 3 steps (``None``: run all ``steps``).
    """
    torch = _torch()
    if not init:
        raise ValueError("init must hold at least one hyperparameter")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    names = list(init)
    z = {}
    for k in names:
        v = float(init[k])
        if log and not v > 0:
            raise ValueError(f"init[{k!r}] must be > 0 with log=True, got {v!r}")
        z[k] = math.log(v) if log else v
    m = dict.fromkeys(names, 0.0)
    s = dict.fromkeys(names, 0.0)
    b1, b2, eps = 0.9, 0.999, 1e-8
    history: list[tuple[dict[str, float], float]] = []
    best: tuple[float, dict[str, float], Any] | None = None
    warm = None
    for t in range(1, steps + 1):
        h = {k: (math.exp(z[k]) if log else z[k]) for k in names}
        if bounds:
            for k, (lo, hi) in bounds.items():
                if k in h:
                    h[k] = min(max(h[k], lo), hi)
                    z[k] = math.log(h[k]) if log else h[k]
        # copies: a ``fit`` that writes into one persistent model (or warm-starts in
        # place on ``warm``) must not overwrite the parameters kept as the best
        params = [p.detach().clone().requires_grad_(True) for p in fit(dict(h), warm)]
        warm = [p.detach().clone() for p in params]
        ht = {k: torch.tensor(h[k], dtype=params[0].dtype, requires_grad=True) for k in names}
        with torch.no_grad():
            value = float(outer_loss(params, ht))
        history.append((dict(h), value))
        if best is None or value < best[0]:
            best = (value, dict(h), [p.clone() for p in warm])
        if tol is not None and len(history) > 3:
            old = history[-4][1]
            if old - value <= tol * max(abs(old), 1e-12):
                break
        if t == steps:
            break
        grads = implicit_hypergradient(
            lambda p, hp: inner_loss(p, dict(zip(names, hp))),
            lambda p, hp: outer_loss(p, dict(zip(names, hp))),
            params,
            [ht[k] for k in names],
            solver=solver,
        )
        for k, g in zip(names, grads):
            gz = float(g) * (h[k] if log else 1.0)  # chain rule to log(h)
            m[k] = b1 * m[k] + (1 - b1) * gz
            s[k] = b2 * s[k] + (1 - b2) * gz * gz
            z[k] -= lr * (m[k] / (1 - b1**t)) / (math.sqrt(s[k] / (1 - b2**t)) + eps)
    assert best is not None
    return HypergradientResult(best[1], best[0], len(history), history, best[2])
