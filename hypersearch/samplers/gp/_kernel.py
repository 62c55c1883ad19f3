"""Matérn-5/2 kernel with ARD lengthscales on grouped unit-cube columns.

The encoder turns each parameter into one column (numbers) or one column per
choice (one-hot categoricals).  Lengthscales belong to *parameters*, not to
columns: a parameter is a "group" of columns, and each column carries a weight
so that the weighted squared distance of a group is

* ``(x - x')**2`` for a numeric parameter (weight 1), and
* ``0.5 * sum_c (x_c - x'_c)**2`` for a one-hot categorical (weight 0.5), which
  is 0 for equal choices and 1 for different ones: the Hamming distance used
  for categoricals in modern BO libraries, with one lengthscale per categorical.

The scaled squared distance is ``r2 = sum_g d2_g / ls_g**2`` and the kernel is
``k = s2 * m(r2)`` with ``m(r2) = (1 + r + r**2 / 3) * exp(-r)``, ``r = sqrt(5 r2)``.
Derivatives are taken with respect to ``r2`` (``m'(r2) = -5/6 (1 + r) exp(-r)``),
which is finite at ``r2 = 0`` (the kernel is twice differentiable), so
gradients with respect to the inputs are exact everywhere.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ColumnGroups",
    "group_sq_dists",
    "matern52",
    "matern52_grad",
    "scaled_sq_dists",
]


class ColumnGroups:
    """Which parameter (group) each encoded column belongs to, and its weight.

    Args:
        group: ``group[c]`` is the parameter index of column ``c`` (0..G-1).
        weight: ``weight[c]`` multiplies the squared difference of column ``c``
            (1 for numeric columns, 0.5 for one-hot columns).
    """

    def __init__(self, group: np.ndarray, weight: np.ndarray) -> None:
        self.group = np.asarray(group, dtype=np.intp)
        self.weight = np.asarray(weight, dtype=float)
        if self.group.shape != self.weight.shape or self.group.ndim != 1:
            raise ValueError("group and weight must be 1-D arrays of the same length")
        self.n_groups = int(self.group.max()) + 1 if self.group.size else 0
        # (n_columns, n_groups) incidence matrix with the weights: column -> group sums.
        self.matrix = np.zeros((self.group.size, self.n_groups))
        self.matrix[np.arange(self.group.size), self.group] = self.weight

    @classmethod
    def identity(cls, dim: int) -> ColumnGroups:
        """One numeric column per group."""
        return cls(np.arange(dim), np.ones(dim))

    def column_scales(self, inv_ls2: np.ndarray) -> np.ndarray:
        """Per-column factor ``weight_c / ls_{group(c)}**2``."""
        return self.weight * inv_ls2[self.group]


def matern52(r2: np.ndarray) -> np.ndarray:
    """Unit-variance Matérn-5/2 as a function of the scaled squared distance."""
    r2 = np.maximum(r2, 0.0)
    r = np.sqrt(5.0 * r2)
    return (1.0 + r + (5.0 / 3.0) * r2) * np.exp(-r)


def matern52_grad(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(m(r2), dm/dr2)`` of the unit-variance Matérn-5/2."""
    r2 = np.maximum(r2, 0.0)
    r = np.sqrt(5.0 * r2)
    e = np.exp(-r)
    return (1.0 + r + (5.0 / 3.0) * r2) * e, (-5.0 / 6.0) * (1.0 + r) * e


def group_sq_dists(X: np.ndarray, groups: ColumnGroups) -> np.ndarray:
    """Per-group weighted squared distances between the rows of ``X``.

    Returns an array of shape ``(G, n, n)``; it does not depend on the kernel
    hyperparameters, so hyperparameter fitting computes it once.
    """
    n = X.shape[0]
    out = np.zeros((groups.n_groups, n, n))
    for c in range(X.shape[1]):
        diff = X[:, c, None] - X[None, :, c]
        out[groups.group[c]] += groups.weight[c] * diff * diff
    return out


def scaled_sq_dists(
    A: np.ndarray, B: np.ndarray, col_scale: np.ndarray
) -> np.ndarray:
    """``r2[i, j] = sum_c col_scale[c] * (A[i, c] - B[j, c])**2`` (clamped at 0)."""
    As = A * col_scale
    r2 = (As * A).sum(1)[:, None] + ((B * col_scale) * B).sum(1)[None, :] - 2.0 * As @ B.T
    return np.maximum(r2, 0.0)
