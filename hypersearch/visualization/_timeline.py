"""Timeline: when each trial ran, on which worker, and how it ended."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hypersearch.trial._state import TrialState
from hypersearch.visualization._common import (
    STATE_COLORS,
    check_backend,
    check_study,
    empty_figure,
    escape,
    import_plotly,
    mpl_figure,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.visualization._common import Figure

_FN = "plot_timeline"
_TITLE = "Timeline"

#: System attribute holding the worker (``host:pid:thread``) that ran a trial,
#: as ``Study.ask`` records it.
WORKER_ATTR = "worker"
#: Row of trials recorded before workers were (or by code that does not record them).
UNKNOWN_WORKER = "unknown"
#: Order of the states in the legend.
_ORDER = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING,
          TrialState.PAUSED, TrialState.WAITING)


@dataclass
class _Bar:
    trial: FrozenTrial
    worker: str
    start: _dt.datetime  # naive UTC
    end: _dt.datetime  # naive UTC

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def hover(self) -> str:
        t = self.trial
        lines = [
            f"Trial {t.number} ({t.state.name})",
            f"worker: {self.worker}",
            f"start: {self.start:%Y-%m-%d %H:%M:%S} UTC",
            f"duration: {self.seconds:.3g} s" + (" (so far)" if t.datetime_complete is None else ""),
        ]
        if t.fail_reason:
            lines.append(f"reason: {t.fail_reason}")
        return "<br>".join(escape(line) for line in lines)


def worker_of(t: FrozenTrial) -> str:
    """The worker that ran ``t`` (its ``"worker"`` system attribute), or ``"unknown"``."""
    w = t.system_attrs.get(WORKER_ATTR)
    return str(w) if w else UNKNOWN_WORKER


def _utc(d: _dt.datetime) -> _dt.datetime:
    """Naive UTC (naive datetimes are taken to be UTC already, as storages write)."""
    return d.astimezone(_dt.timezone.utc).replace(tzinfo=None) if d.tzinfo is not None else d


def plot_timeline(study: Study, *, backend: str = "plotly") -> Figure:
    """Plot each started trial as a horizontal bar from its start to its end (now,
    for trials still running or paused), one row per worker, coloured by state,
    to see parallelism, idle workers, slow trials and failures.

    Failed trials are red; hovering a bar (plotly) shows the trial, its worker,
    its duration and, for failures, ``FrozenTrial.fail_reason``.  Times are UTC.

    Args:
        study: The study.
        backend: ``"plotly"`` or ``"matplotlib"``.

    Returns:
        The figure: one horizontal bar trace (plotly; ``y`` = worker labels,
        ``base`` = start times, ``x`` = durations in milliseconds on a date axis)
        or one ``barh`` container (matplotlib; rows are the y ticks) per state
        present, named after the state.  Rows are the workers in order of their
        first trial; trials without a recorded worker share the row
        ``"unknown"``.  Without a started trial the figure has no data and its
        title says so.
    """
    check_backend(backend, _FN)
    check_study(study, _FN)
    now = _utc(_dt.datetime.now(_dt.timezone.utc))
    bars = []
    for t in study.get_trials(deepcopy=False):
        if t.datetime_start is None:
            continue  # waiting in the queue: not started anywhere yet
        start = _utc(t.datetime_start)
        end = _utc(t.datetime_complete) if t.datetime_complete is not None else max(now, start)
        bars.append(_Bar(t, worker_of(t), start, end))
    if not bars:
        return empty_figure(backend, _FN, _TITLE, "no trial has started yet")
    bars.sort(key=lambda b: (b.start, b.trial.number))
    workers = list(dict.fromkeys(b.worker for b in bars))
    by_state = {s: [b for b in bars if b.trial.state == s] for s in _ORDER}
    by_state = {s: bs for s, bs in by_state.items() if bs}
    if backend == "plotly":
        return _plotly(by_state, workers)
    return _matplotlib(by_state, workers)


def _plotly(by_state: dict[TrialState, list[_Bar]], workers: list[str]) -> Figure:
    go = import_plotly(_FN)
    fig = go.Figure()
    for state, bars in by_state.items():
        fig.add_trace(go.Bar(
            name=state.name, orientation="h",
            y=[b.worker for b in bars],
            x=[max(b.seconds, 0.0) * 1000.0 for b in bars],
            base=[b.start.isoformat() for b in bars],
            marker={"color": STATE_COLORS[state]},
            hovertext=[b.hover() for b in bars], hoverinfo="text",
            customdata=[b.trial.number for b in bars],
        ))
    fig.update_layout(
        title=_TITLE, barmode="overlay",
        xaxis={"type": "date", "title": {"text": "Time (UTC)"}},
        yaxis={"title": {"text": "Worker"}, "categoryorder": "array", "categoryarray": workers[::-1]},
    )
    return fig


def _matplotlib(by_state: dict[TrialState, list[_Bar]], workers: list[str]) -> Figure:
    fig = mpl_figure(_FN, figsize=(8.0, max(2.4, 0.5 * len(workers) + 1.6)))
    import matplotlib.dates as mdates
    ax = fig.add_subplot()
    row = {w: len(workers) - 1 - i for i, w in enumerate(workers)}  # first worker on top
    for state, bars in by_state.items():
        ax.barh(
            [row[b.worker] for b in bars],
            [max(b.seconds, 0.0) / 86400.0 for b in bars],  # matplotlib dates are in days
            left=[mdates.date2num(b.start) for b in bars],
            height=0.6, color=STATE_COLORS[state], label=state.name,
            edgecolor="#000000" if state == TrialState.FAIL else None,
        )
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_yticks(range(len(workers)), workers[::-1])
    ax.set_xlabel("Time (UTC)")
    ax.set_ylabel("Worker")
    ax.set_title(_TITLE)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the bars, not over them
    return fig
