"""Unit-cube encoding of configurations: the common ground of model-based samplers.

:class:`UnitCubeEncoder` maps a configuration over a fixed set of parameters to a
vector in ``[0, 1]^d`` and back.  Continuous parameters use their linear or
log scale; integers and stepped floats use the centres of equal cells, so
``decode(encode(x)) == x`` exactly for every discrete value; categoricals
use one cell per choice, or, with ``onehot=True``, one coordinate per choice
(decoded by argmax).  Parameters absent from a configuration (inactive
conditional parameters) encode as NaN and decode as absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hypersearch.space.distributions import BaseDistribution, CategoricalDistribution

__all__ = ["UnitCubeEncoder"]


class UnitCubeEncoder:
    """Encode configurations of ``space`` as points of the unit cube.

    Args:
        space: ``{name: distribution}``; the order of the keys fixes the columns.
        onehot: Encode each categorical with one column per choice.
    """

    def __init__(self, space: Mapping[str, BaseDistribution], *, onehot: bool = False) -> None:
        self.space = dict(space)
        self.onehot = onehot
        self.columns: list[tuple[str, int]] = []  # (param, choice index or -1)
        self.slices: dict[str, slice] = {}
        for name, d in self.space.items():
            start = len(self.columns)
            if onehot and isinstance(d, CategoricalDistribution):
                self.columns += [(name, i) for i in range(len(d.choices))]
            else:
                self.columns.append((name, -1))
            self.slices[name] = slice(start, len(self.columns))

    @property
    def dim(self) -> int:
        return len(self.columns)

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """Vector of length :attr:`dim` (NaN for absent parameters)."""
        x = np.full(self.dim, np.nan)
        for name, d in self.space.items():
            if name not in config:
                continue
            s = self.slices[name]
            if self.onehot and isinstance(d, CategoricalDistribution):
                x[s] = 0.0
                x[s.start + d.index(config[name])] = 1.0
            else:
                x[s.start] = d.to_unit(config[name])
        return x

    def encode_many(self, configs: list[Mapping[str, Any]]) -> np.ndarray:
        """Matrix with one encoded configuration per row."""
        if not configs:
            return np.empty((0, self.dim))
        return np.vstack([self.encode(c) for c in configs])

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        """Configuration of a vector (NaN entries give absent parameters)."""
        x = np.asarray(x, dtype=float)
        if x.shape != (self.dim,):
            raise ValueError(f"expected a vector of length {self.dim}, got shape {x.shape}")
        out: dict[str, Any] = {}
        for name, d in self.space.items():
            s = self.slices[name]
            seg = x[s]
            if np.isnan(seg).any():
                continue
            if self.onehot and isinstance(d, CategoricalDistribution):
                out[name] = d.choices[int(np.argmax(seg))]
            else:
                out[name] = d.from_unit(float(seg[0]))
        return out
