"""What :func:`hypersearch.automl.fit` returns: the chosen pipeline and the record
of the search that chose it."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hypersearch.automl._fidelity import STOP_ATTR
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial

#: User attribute marking the enqueued default configuration of a family.
DEFAULT_ATTR = "automl_default"


def _family_params(params: dict[str, Any]) -> dict[str, Any]:
    fam = params.get("model")
    prefix = f"{fam}."
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


def _row(t: FrozenTrial) -> dict[str, Any]:
    score = t.values[0] if t.values else None
    if t.state == TrialState.PRUNED and score is None and t.intermediate_values:
        score = t.intermediate_values[max(t.intermediate_values)]
    if score is not None and not math.isfinite(score):
        score = None
    if t.state == TrialState.FAIL:
        note = t.fail_reason or "failed"
    elif t.user_attrs.get(STOP_ATTR) == "time budget":
        note = "stopped by the time budget"
    elif t.state == TrialState.PRUNED:
        note = f"pruned at {t.user_attrs.get('fidelity', float('nan')):.3g} of the data"
    else:
        note = ""
    if "duplicate_of" in t.user_attrs:
        note = f"same configuration as trial {t.user_attrs['duplicate_of']}" + (
            f"; {note}" if note else ""
        )
    if t.user_attrs.get(DEFAULT_ATTR):
        note = "default configuration" + (f"; {note}" if note else "")
    return {
        "rank": 0,
        "trial": t.number,
        "family": t.params.get("model"),
        "state": t.state.name,
        "score": score,
        "fidelity": t.user_attrs.get("fidelity") if score is not None else None,
        "cv_std": t.user_attrs.get("cv_std") if score is not None else None,
        "duration_s": round(t.duration.total_seconds(), 3) if t.duration is not None else None,
        "params": _family_params(t.params),
        "note": note,
    }


def make_leaderboard(trials: Iterable[FrozenTrial]) -> list[dict[str, Any]]:
    """One row per finished trial, best first: COMPLETE trials by score, then
    PRUNED ones (those that got further first, then by their last score), then
    failed ones.  ``score`` is the cross-validated score at ``fidelity`` (the
    fraction of the training folds used)."""
    rows = [_row(t) for t in trials if t.state.is_finished()]

    def key(r: dict[str, Any]) -> tuple:
        group = {"COMPLETE": 0, "PRUNED": 1}.get(r["state"], 2)
        score = r["score"] if r["score"] is not None else -math.inf
        return (group, -(r["fidelity"] or 0.0), -score, r["trial"])

    rows.sort(key=key)
    for i, r in enumerate(rows):
        r["rank"] = i + 1
    return rows


def family_scores(trials: Iterable[FrozenTrial]) -> dict[str, float]:
    """Best full-fidelity score of each family with a COMPLETE trial, best first."""
    best: dict[str, float] = {}
    for t in trials:
        if t.state == TrialState.COMPLETE and t.values:
            fam = t.params.get("model")
            if fam is not None and (fam not in best or t.values[0] > best[fam]):
                best[fam] = t.values[0]
    return dict(sorted(best.items(), key=lambda kv: -kv[1]))


@dataclass
class AutoMLResult:
    """The outcome of :func:`hypersearch.automl.fit`.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        metric: Name of the metric that was maximised.
        best_pipeline: The chosen configuration as a fitted scikit-learn
            ``Pipeline`` (preprocessing + model), refitted on all the data given
            to ``fit`` (less the holdout, if one was set aside).
        best_params: The chosen configuration (``model`` plus ``<family>.<name>``).
        best_score: Its cross-validated score (greater is better).
        best_trial: Number of the chosen trial in :attr:`study`.
        family_scores: Best cross-validated score of each family that had a
            configuration evaluated on the full data, best first.
        leaderboard: One dict per finished trial, best first (see
            :func:`make_leaderboard`); :meth:`leaderboard_frame` gives a DataFrame.
        study: The :class:`~hypersearch.Study` of the search (trials, their
            intermediate values, failure reasons).
        fidelities: Fractions of the training folds of the rungs.
        elapsed_s: Wall-clock seconds of the whole ``fit`` call.
        holdout_score: Score of :attr:`best_pipeline` on the holdout split, or
            ``None`` without one.
    """

    task: str
    metric: str
    best_pipeline: Any
    best_params: dict[str, Any]
    best_score: float
    best_trial: int
    family_scores: dict[str, float]
    leaderboard: list[dict[str, Any]]
    study: Study
    fidelities: tuple[float, ...]
    elapsed_s: float
    holdout_score: float | None = None
    scorer: Callable[[Any, Any, Any], float] | None = field(default=None, repr=False)

    @property
    def best_family(self) -> str:
        """Family of the chosen configuration."""
        return str(self.best_params["model"])

    @property
    def n_trials(self) -> dict[str, int]:
        """Number of finished trials by state (COMPLETE, PRUNED, FAIL)."""
        out: dict[str, int] = {}
        for r in self.leaderboard:
            out[r["state"]] = out.get(r["state"], 0) + 1
        return out

    # -- delegation to the fitted pipeline ------------------------------------------------
    def predict(self, X: Any) -> Any:
        """Predictions of :attr:`best_pipeline` for ``X`` (raw inputs, as given to ``fit``)."""
        return self.best_pipeline.predict(X)

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities of :attr:`best_pipeline` (classification models that
        give them; an SVM does only when the metric needed probabilities)."""
        if not hasattr(self.best_pipeline, "predict_proba"):
            raise AttributeError(
                f"the chosen model ({self.best_family}) gives no class probabilities; "
                "pass a probability metric such as metric='neg_log_loss' to search among "
                "models that do"
            )
        return self.best_pipeline.predict_proba(X)

    def score(self, X: Any, y: Any) -> float:
        """:attr:`metric` of :attr:`best_pipeline` on ``(X, y)`` (the search's metric,
        so it is comparable with :attr:`best_score`)."""
        if self.scorer is None:
            return float(self.best_pipeline.score(X, y))
        return float(self.scorer(self.best_pipeline, X, y))

    # -- reporting ----------------------------------------------------------------------------
    def leaderboard_frame(self) -> pd.DataFrame:
        """:attr:`leaderboard` as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "leaderboard_frame needs pandas: pip install 'hypersearch[pandas]'"
            ) from None
        return pd.DataFrame(self.leaderboard).set_index("rank")

    def summary(self, top: int = 5) -> str:
        """A short text report: the choice, the families, the ``top`` leaderboard rows."""
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(self.n_trials.items()))
        lines = [
            f"best: {self.best_family} (trial {self.best_trial}), "
            f"{self.metric} = {self.best_score:.4f} (cv), "
            f"{counts} trials in {self.elapsed_s:.1f} s",
        ]
        if self.holdout_score is not None:
            lines.append(f"holdout {self.metric} = {self.holdout_score:.4f}")
        lines.append(
            "families: " + ", ".join(f"{f} {s:.4f}" for f, s in self.family_scores.items())
        )
        lines.append(
            f"{'rank':>4}  {'trial':>5}  {'family':<7} {'state':<8} {'score':>8}  "
            f"{'data':>5}  params"
        )
        for r in self.leaderboard[:top]:
            score = f"{r['score']:.4f}" if r["score"] is not None else "-"
            frac = f"{r['fidelity']:.2f}" if r["fidelity"] is not None else "-"
            params = ", ".join(f"{k}={_fmt(v)}" for k, v in r["params"].items())
            lines.append(
                f"{r['rank']:>4}  {r['trial']:>5}  {r['family'] or '-':<7} {r['state']:<8} "
                f"{score:>8}  {frac:>5}  {params}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"AutoMLResult(task={self.task!r}, best_family={self.best_family!r}, "
            f"{self.metric}={self.best_score:.4f}, trials={sum(self.n_trials.values())})"
        )


def _fmt(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)
