"""Incremental observation store and co-occurrence groups of the TPE sampler.

The sampler sees every finished trial once (``on_trial_finished``) and appends
it here in amortised O(1): one row per modelled trial (losses, state tier,
last step, number) and, per parameter name, one entry per trial that has the
parameter (the trial's row, its numeric value, the raw value).  Buffers
grow by doubling, and a reader takes ``[:n]`` views under the lock, so later
appends never disturb a suggestion in progress.

Values are stored raw, not in a model domain: a dynamic parameter may have
other bounds or choices in the next trial, so the mapping to the unit domain
is done at suggestion time, against the distribution being sampled.

**Groups.**  Each modelled trial has a *signature*, the set of its parameter
names.  Two parameters belong to the same group when they appear in exactly
the same signatures, i.e. they always occur together: the root parameters of
a conditional space form one group, each branch's own parameters another.
Group ``A`` is an *ancestor* of group ``B`` when every signature holding ``B``
also holds ``A`` (``B`` never occurs without ``A``).  Signatures are few, so
groups are recomputed only when a new signature appears.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np

from hypersearch.space.distributions import BaseDistribution
from hypersearch.trial._frozen import FrozenTrial, constraint_violation, constraints_satisfied
from hypersearch.trial._state import TrialState

from ._parzen import CAT, DimSpec

__all__ = ["Group", "Snapshot", "Store"]


class _Buf:
    """A growable 1-D (or 2-D, fixed width) numpy buffer with amortised O(1) append."""

    __slots__ = ("data", "n")

    def __init__(self, dtype: type, width: int | None = None, cap: int = 64) -> None:
        shape = (cap,) if width is None else (cap, width)
        self.data = np.empty(shape, dtype=dtype)
        self.n = 0

    def append(self, value) -> None:
        if self.n == self.data.shape[0]:
            new = np.empty((2 * self.n, *self.data.shape[1:]), dtype=self.data.dtype)
            new[: self.n] = self.data
            self.data = new
        self.data[self.n] = value
        self.n += 1

    def extend(self, values: np.ndarray) -> None:
        k = len(values)
        if self.n + k > self.data.shape[0]:
            new = np.empty((max(2 * self.data.shape[0], self.n + k), *self.data.shape[1:]),
                           dtype=self.data.dtype)
            new[: self.n] = self.data[: self.n]
            self.data = new
        self.data[self.n : self.n + k] = values
        self.n += k

    def view(self) -> np.ndarray:
        return self.data[: self.n]


class _Column:
    """The observations of one parameter name: the rows of the trials holding it,
    its numeric value (NaN if not a number) and the raw value (for categorical
    encodings, done lazily per distribution)."""

    __slots__ = ("rows", "num", "values")

    def __init__(self) -> None:
        self.rows = _Buf(np.int64)
        self.num = _Buf(np.float64)
        self.values: list[object] = []

    def append(self, row: int, value: object) -> None:
        self.rows.append(row)
        self.num.append(_as_number(value))
        self.values.append(value)


def _as_number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return math.nan
    return float(value)


@dataclass(frozen=True)
class ColumnView:
    """Read-only ``[:n]`` views of one column, taken under the store's lock."""

    rows: np.ndarray
    num: np.ndarray


@dataclass(frozen=True)
class Group:
    """Parameters that always occur together, and the groups above them."""

    names: tuple[str, ...]
    ancestors: tuple[str, ...]  # names of the ancestor groups' parameters
    count: int  # modelled trials holding the group (when the groups were computed)


@dataclass
class Snapshot:
    """A consistent view of the store for one suggestion."""

    n: int
    losses: np.ndarray
    tier: np.ndarray
    step: np.ndarray
    number: np.ndarray
    columns: dict[str, ColumnView] = field(default_factory=dict)
    good: np.ndarray | None = None  # the sampler's good/bad split, computed once

    def column(self, name: str) -> ColumnView | None:
        return self.columns.get(name)


class Store:
    """All modelled observations of one study (thread-safe)."""

    def __init__(self, n_objectives: int, signs: list[float]) -> None:
        self.lock = threading.Lock()
        self.n_objectives = n_objectives
        self.signs = np.asarray(signs, dtype=float)
        self.seen: set[int] = set()
        self.losses = _Buf(np.float64, width=n_objectives)
        self.tier = _Buf(np.int8)
        self.step = _Buf(np.float64)
        self.number = _Buf(np.int64)
        self.columns: dict[str, _Column] = {}
        # latest distribution of each name: (trial number, distribution); the one
        # joint proposals are made for
        self.dists: dict[str, tuple[int, BaseDistribution]] = {}
        self.signatures: dict[frozenset[str], int] = {}
        self._groups_key = -1
        self._n_sig_changes = 0
        self._groups: list[Group] = []
        self._group_of: dict[str, Group] = {}
        self._intersection: tuple[str, ...] = ()
        # (name, distribution) -> encoded column (see ``encoded``)
        self._encoded: dict[tuple[str, BaseDistribution], _Buf] = {}

    @property
    def n(self) -> int:
        return self.tier.n

    # -- ingestion -------------------------------------------------------------------
    def add(self, trial: FrozenTrial) -> None:
        """Record a finished trial (idempotent; FAIL trials and trials without a
        usable value are only marked as seen)."""
        with self.lock:
            if trial.number in self.seen:
                return
            self.seen.add(trial.number)
            row = self._loss_row(trial)
            if row is None:
                return
            loss, tier, step = row
            r = self.tier.n
            self.losses.append(loss)
            self.tier.append(tier)
            self.step.append(step)
            self.number.append(trial.number)
            names = []
            for name, value in trial.params.items():
                col = self.columns.get(name)
                if col is None:
                    col = self.columns[name] = _Column()
                col.append(r, value)
                names.append(name)
                dist = trial.distributions.get(name)
                if dist is not None:
                    # the latest distribution, preferring ones with more than one
                    # value (add_trial records one-choice categoricals by default)
                    prev = self.dists.get(name)
                    if (
                        prev is None
                        or (prev[1].single() and not dist.single())
                        or (prev[0] <= trial.number and (not dist.single() or prev[1].single()))
                    ):
                        self.dists[name] = (trial.number, dist)
            sig = frozenset(names)
            if sig not in self.signatures:
                self._n_sig_changes += 1
                self.signatures[sig] = 0
            self.signatures[sig] += 1

    def _loss_row(self, t: FrozenTrial) -> tuple[np.ndarray, int, float] | None:
        m = self.n_objectives
        if t.state == TrialState.COMPLETE:
            if t.values is None or len(t.values) != m:
                return None
            v = np.asarray(t.values, dtype=float) * self.signs
            if not np.all(np.isfinite(v)):
                return None
            c = t.system_attrs.get("constraints")
            if c is not None and not constraints_satisfied(c):
                # Infeasible (its constraint values, e.g. set by the objective, are
                # not all <= 0): after every feasible and pruned observation, the
                # least violating first, so the good density never chases it while
                # feasible results exist (as in c-TPE / Optuna's constraints_func).
                return v, 2, -constraint_violation(c)
            return v, 0, 0.0
        if t.state == TrialState.PRUNED:
            step = float(max(t.intermediate_values)) if t.intermediate_values else -1.0
            loss = np.full(m, np.nan)
            if m == 1:
                last = None
                if t.intermediate_values:
                    last = t.intermediate_values[max(t.intermediate_values)]
                elif t.values:
                    last = t.values[0]
                if last is not None and math.isfinite(last):
                    loss[0] = self.signs[0] * last
            return loss, 1, step
        return None

    # -- reading ---------------------------------------------------------------------
    def snapshot(self, names: list[str] | None = None) -> Snapshot:
        """Views of the trial arrays and of the columns of ``names`` (all if None)."""
        with self.lock:
            cols = {}
            for name in self.columns if names is None else names:
                c = self.columns.get(name)
                if c is not None:
                    cols[name] = ColumnView(c.rows.view(), c.num.view())
            return Snapshot(
                n=self.n,
                losses=self.losses.view(),
                tier=self.tier.view(),
                step=self.step.view(),
                number=self.number.view(),
                columns=cols,
            )

    def encoded(self, names: list[str], specs: list[DimSpec], lengths: list[int]) -> list[np.ndarray]:
        """The first ``lengths[j]`` values of column ``names[j]`` in the unit domain
        of ``specs[j]`` (NaN: outside it).  Values never change once stored, so
        the encoding is cached per ``(name, distribution)`` and only values added
        since the last call are encoded."""
        out = []
        with self.lock:
            for name, spec, n in zip(names, specs, lengths):
                col = self.columns[name]
                key = (name, spec.dist)
                buf = self._encoded.get(key)
                if buf is None:
                    if len(self._encoded) >= 512:  # a very dynamic space: start over
                        self._encoded.clear()
                    buf = self._encoded[key] = _Buf(np.float64)
                total = col.rows.n
                if buf.n < total:
                    if spec.kind == CAT:
                        vals = np.array(
                            [spec.encode_value(v) for v in col.values[buf.n : total]], dtype=float
                        )
                    elif total - buf.n == 1:
                        vals = np.array([spec.encode_number(col.num.data[buf.n])])
                    else:
                        vals = spec.encode_numbers(col.num.view()[buf.n : total])
                    buf.extend(vals)
                out.append(buf.view()[:n])
        return out

    def latest_distribution(self, name: str) -> BaseDistribution | None:
        with self.lock:
            d = self.dists.get(name)
            return None if d is None else d[1]

    def groups(self) -> tuple[list[Group], dict[str, Group], tuple[str, ...]]:
        """The co-occurrence groups (ancestors first), the group of each name, and
        the names present in every modelled trial."""
        with self.lock:
            if self._groups_key != self._n_sig_changes:
                self._groups, self._intersection = _compute_groups(self.signatures)
                self._group_of = {name: g for g in self._groups for name in g.names}
                self._groups_key = self._n_sig_changes
            # counts change without new signatures; nothing depends on them being current
            return self._groups, self._group_of, self._intersection


def _compute_groups(signatures: dict[frozenset[str], int]) -> tuple[list[Group], tuple[str, ...]]:
    sigs = list(signatures)
    occ: dict[str, set[int]] = {}
    for i, s in enumerate(sigs):
        for name in s:
            occ.setdefault(name, set()).add(i)
    by_occ: dict[frozenset[int], list[str]] = {}
    for name, o in occ.items():
        by_occ.setdefault(frozenset(o), []).append(name)
    keys = list(by_occ)
    counts = {k: sum(signatures[sigs[i]] for i in k) for k in keys}
    groups = []
    for k in keys:
        anc = sorted(
            name for k2 in keys if k2 != k and k < k2 for name in by_occ[k2]
        )
        groups.append(Group(tuple(sorted(by_occ[k])), tuple(anc), counts[k]))
    # Ancestors first (an ancestor has strictly fewer ancestors), then by name: an
    # order that does not depend on counts, which change without the groups being
    # recomputed, so a resumed study draws its groups in the same order as an
    # uninterrupted one (they share one random stream).
    groups.sort(key=lambda g: (len(g.ancestors), g.names))
    all_sigs = frozenset(range(len(sigs)))
    inter = tuple(sorted(by_occ.get(all_sigs, []))) if sigs else ()
    return groups, inter
