"""Hyperparameters tuned by gradient, where they are differentiable.

* :class:`HypergradientLR` makes a PyTorch optimizer's learning rate a learned
  quantity (hypergradient descent).
* :func:`implicit_hypergradient` and :func:`hypergradient_descent` tune
  continuous regularisation hyperparameters (L2 penalties, weight decay) by the
  gradient of the validation loss through the trained model (implicit
  differentiation): one model fit per step, however many hyperparameters.

PyTorch is needed (``pip install 'hypersearch[torch]'``); it is imported on use.
"""

from __future__ import annotations

from hypersearch.gradient.implicit import (
    HypergradientResult,
    hypergradient_descent,
    implicit_hypergradient,
)
from hypersearch.gradient.lr import HypergradientLR

__all__ = ["HypergradientLR", "HypergradientResult", "hypergradient_descent", "implicit_hypergradient"]
