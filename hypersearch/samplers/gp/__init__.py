"""Gaussian-process Bayesian optimisation (numpy/scipy only).

See :class:`GPSampler`.  The building blocks live in private modules:
``_kernel`` (Matérn-5/2 with ARD lengthscales), ``_gp`` (posterior and MAP fit
of the kernel hyperparameters), ``_transform`` (output warps),
``_acquisition`` (log-EI, log-PI, UCB) and ``_optimize`` (mixed-space
acquisition optimisation).
"""

from hypersearch.samplers.gp._sampler import GPSampler

__all__ = ["GPSampler"]
