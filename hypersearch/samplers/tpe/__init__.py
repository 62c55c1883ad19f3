"""Tree-structured Parzen Estimator (TPE) sampler.

``TPESampler`` models good and bad observations with Parzen estimators and
proposes the candidate maximising their ratio; see :class:`TPESampler`.
"""

from hypersearch.samplers.tpe._sampler import TPESampler

__all__ = ["TPESampler"]
