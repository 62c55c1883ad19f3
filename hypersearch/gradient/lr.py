"""Hypergradient descent of the learning rate (Baydin et al., "Online Learning
Rate Adaptation with Hypergradient Descent", ICLR 2018).

After an optimizer step ``theta_t = theta_{t-1} + lr * d_{t-1}`` (``d`` is the
optimizer's update direction: ``-grad`` for SGD, the momentum or Adam direction
otherwise), the derivative of the new loss with respect to the learning rate is
``grad f(theta_t) . d_{t-1}``.  Descending it, ``lr <- lr - beta * grad . d``,
makes the learning rate a learned quantity: it grows while successive steps
agree and shrinks when they start to oscillate.  The direction is measured
from the parameters themselves, so the wrapper works with any PyTorch
optimizer, at the cost of one copy of the parameters.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["HypergradientLR"]


class HypergradientLR:
    """Wrap a PyTorch optimizer so that its learning rate follows its hypergradient.

    Use it in place of the optimizer's ``step``::

        opt = torch.optim.SGD(model.parameters(), lr=1e-3)
        hd = hs.gradient.HypergradientLR(opt, hyper_lr=1e-3)
        for x, y in data:
            opt.zero_grad(); loss_fn(model(x), y).backward(); hd.step()

    Args:
        optimizer: Any ``torch.optim`` optimizer with an ``lr`` in its param groups.
        hyper_lr: ``beta``, the step size of the learning rate's own update.
        multiplicative: Update ``lr *= 1 - beta * cos(grad, d)`` (scale-free: the
            cosine between gradient and last direction) instead of the additive rule.
        min_lr, max_lr: Bounds the learning rate is kept in.

    Attributes:
        history: The learning rate of the first param group after every step.
        last_hypergradient: ``d loss / d lr`` of the first group at the last step.
    """

    def __init__(
        self,
        optimizer: Any,
        hyper_lr: float = 1e-4,
        *,
        multiplicative: bool = False,
        min_lr: float = 0.0,
        max_lr: float = math.inf,
    ) -> None:
        if not hasattr(optimizer, "param_groups") or not all("lr" in g for g in optimizer.param_groups):
            raise ValueError("optimizer must be a torch.optim optimizer with 'lr' in its param groups")
        for name, v in (("hyper_lr", hyper_lr), ("min_lr", min_lr)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if not max_lr > min_lr:
            raise ValueError(f"max_lr must be greater than min_lr, got {max_lr!r} <= {min_lr!r}")
        self.optimizer = optimizer
        self.hyper_lr = float(hyper_lr)
        self.multiplicative = bool(multiplicative)
        self.min_lr = float(min_lr)
        self.max_lr = float(max_lr)
        self._directions: list[list[Any] | None] = [None] * len(optimizer.param_groups)
        self.history: list[float] = []
        self.last_hypergradient: float | None = None

    def hypergradient(self, group_index: int = 0) -> float | None:
        """``d loss / d lr`` for a param group from the current gradients (``None``
        before the first step)."""
        direction = self._directions[group_index]
        if direction is None:
            return None
        total = 0.0
        for p, d in zip(self.optimizer.param_groups[group_index]["params"], direction):
            if p.grad is not None and d is not None:
                total += float((p.grad.detach() * d).sum())
        return total

    def step(self, closure: Any = None) -> Any:
        """Update each group's learning rate from its hypergradient, then take the
        optimizer's step and record the new update direction."""
        import torch

        groups = self.optimizer.param_groups
        # groups added since (add_param_group: unfreezing layers while fine-tuning)
        # start without a direction, like every group at the first step
        self._directions += [None] * (len(groups) - len(self._directions))
        for gi, group in enumerate(groups):
            h = self.hypergradient(gi)
            if h is None:
                continue
            if gi == 0:
                self.last_hypergradient = h
            lr = group["lr"]
            if self.multiplicative:
                gnorm = math.sqrt(sum(float((p.grad.detach() ** 2).sum()) for p in group["params"] if p.grad is not None))
                dnorm = math.sqrt(sum(float((d**2).sum()) for d in self._directions[gi] if d is not None))  # type: ignore[union-attr]
                cos = h / (gnorm * dnorm) if gnorm > 0 and dnorm > 0 else 0.0
                lr = lr * (1.0 - self.hyper_lr * cos)
            else:
                lr = lr - self.hyper_lr * h
            group["lr"] = min(max(lr, self.min_lr), self.max_lr)
        with torch.no_grad():
            before = [[p.detach().clone() for p in g["params"]] for g in self.optimizer.param_groups]
            lrs = [g["lr"] for g in self.optimizer.param_groups]
        out = self.optimizer.step(closure) if closure is not None else self.optimizer.step()
        with torch.no_grad():
            for gi, group in enumerate(self.optimizer.param_groups):
                lr = lrs[gi]
                if lr <= 0:
                    # No step was taken, so no direction can be measured: steepest
                    # descent stands in (exact for SGD).  The parameters did not move,
                    # so the next hypergradient is -|grad|^2 and an lr clipped to zero
                    # grows again instead of staying frozen.
                    self._directions[gi] = [
                        None if p.grad is None else -p.grad.detach().clone() for p in group["params"]
                    ]
                    continue
                self._directions[gi] = [(p.detach() - b) / lr for p, b in zip(group["params"], before[gi])]
        self.history.append(float(self.optimizer.param_groups[0]["lr"]))
        return out

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)
