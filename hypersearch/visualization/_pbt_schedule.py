"""Population-based training: each trial's hyperparameters over training steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hypersearch.space.distributions import FloatDistribution, IntDistribution
from hypersearch.visualization._common import (
    check_backend,
    check_study,
    empty_figure,
    import_plotly,
    mpl_figure,
    palette,
    plotly_subplots,
)

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.visualization._common import Figure

_FN = "plot_pbt_schedule"
_TITLE = "PBT schedule"
#: Above this many trials the matplotlib legend is left out (it would hide the plot).
_MPL_LEGEND_MAX = 20


@dataclass
class _Line:
    """One trial's effective schedule: change points and, per key, the values."""

    trial: FrozenTrial
    steps: list[float]  # segment starts, then the end of training
    configs: list[dict[str, Any]]  # flat config of each segment (the last one repeated)


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested configuration as ``{"a/b": value}`` (the keys ``hs.tune`` results use)."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        if isinstance(v, Mapping):
            out.update(flatten(v, f"{prefix}{k}/"))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


def progress_at(trials: Mapping[int, FrozenTrial], number: int, step: float, depth: int = 0) -> float:
    """Training progress of trial ``number``'s model at its own step ``step``.

    A trial that exploits a donor at its own step ``s`` continues from the
    donor's checkpoint of ``source_step``, i.e. from the donor's progress there,
    so its later steps are shifted by that difference (the same lineage rule
    as :func:`~hypersearch.schedulers.pbt.pbt_schedule`, whose segment starts
    are in these units).
    """
    from hypersearch.schedulers.pbt import SCHEDULE_ATTR

    t = trials[number]
    offset = 0.0
    for e in sorted(t.system_attrs.get(SCHEDULE_ATTR) or [], key=lambda e: e["step"]):
        if e["step"] >= step or depth > 10_000:
            break
        src = e.get("source", number)
        if src != number and src in trials:
            at = progress_at(trials, src, float(e.get("source_step", e["step"])), depth + 1)
        else:
            at = e["step"] + offset
        offset = at - e["step"]
    return step + offset


def _lines(study: Study) -> list[_Line]:
    from hypersearch.schedulers.pbt import pbt_schedule

    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    lines = []
    for t in trials.values():
        if not t.user_attrs.get("config"):
            continue  # not a trial of hs.tune (or no configuration recorded)
        segs = pbt_schedule(study, t.number)
        if not segs:
            continue
        steps = [float(s["step"]) for s in segs]
        end = steps[-1]
        if t.last_step is not None:  # the last report, in training progress
            end = max(end, progress_at(trials, t.number, float(t.last_step)))
        configs = [flatten(s["config"]) for s in segs]
        lines.append(_Line(t, [*steps, end], [*configs, configs[-1]]))
    return lines


def _default_keys(lines: list[_Line]) -> list[str]:
    """Scalar keys whose value is not the same everywhere (the mutated ones), or
    every scalar key when none varies."""
    values: dict[str, list[Any]] = {}
    for ln in lines:
        for c in ln.configs:
            for k, v in c.items():
                if _scalar(v):
                    values.setdefault(k, []).append(v)
    varying = [k for k, vs in values.items() if any(type(v) is not type(vs[0]) or v != vs[0] for v in vs)]
    return sorted(varying or values)


@dataclass
class _Axis:
    key: str
    kind: str  # "linear", "log" or "categorical"
    choices: list[Any]

    def coord(self, v: Any) -> float | None:
        if v is None and self.kind != "categorical":
            return None
        if self.kind == "categorical":
            for i, c in enumerate(self.choices):
                if type(c) is type(v) and c == v:
                    return float(i)
            return None
        return float(v)


def _axis(key: str, lines: list[_Line]) -> _Axis:
    vals = [c.get(key) for ln in lines for c in ln.configs if key in c]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals if v is not None)
    if not numeric:
        choices: list[Any] = []
        for v in vals:
            if not any(type(v) is type(c) and v == c for c in choices):
                choices.append(v)
        return _Axis(key, "categorical", choices)
    dists = [ln.trial.distributions[key] for ln in lines if key in ln.trial.distributions]
    nums = [d for d in dists if isinstance(d, (FloatDistribution, IntDistribution))]
    if nums and all(d.log for d in nums) and all(v > 0 for v in vals if v is not None):
        return _Axis(key, "log", [])
    return _Axis(key, "linear", [])


def plot_pbt_schedule(
    study: Study, *, params: Sequence[str] | None = None, backend: str = "plotly"
) -> Figure:
    """Plot, for a population-based-training study (``hs.tune`` with
    ``PopulationBasedTraining`` / ``PB2``), the hyperparameter values each trial's
    model was trained with over the training steps: one subplot per
    hyperparameter, one step line per trial.

    Lines follow :func:`hypersearch.schedulers.pbt.pbt_schedule`, i.e. the
    *effective* schedule of each trial's final model: after a trial exploits a
    donor, its line starts with the donor's history up to the copied
    checkpoint.  Steps are training progress (a trial that copied a donor's
    checkpoint of step 5 at its own step 4 is at progress 5 there); a line ends
    at the trial's last report.

    Args:
        study: The study (``hs.tune(...).study``).
        params: Configuration keys to show (nested keys as ``"a/b"``; default:
            those whose value varies across trials or steps, or all scalar keys
            when none varies); ``ValueError`` for a key no trial has.
        backend: ``"plotly"`` or ``"matplotlib"``.

    Returns:
        The figure: a row per key (plotly subplots sharing the x axis / matplotlib
        axes), in each one step line per trial (plotly traces named
        ``"Trial <n>"`` in legend group ``"trial-<n>"``; matplotlib ``Line2D``
        with ``gid`` ``"trial-<n>"``).  Categorical values are drawn at ticks
        labelled with the values.  A study without recorded configurations (not
        run by ``hs.tune``) gives a figure with no data whose title says so.
    """
    check_backend(backend, _FN)
    check_study(study, _FN)
    lines = _lines(study)
    known = sorted({k for ln in lines for c in ln.configs for k, v in c.items() if _scalar(v)})
    if params is not None:
        if isinstance(params, str) or not isinstance(params, Sequence):
            raise ValueError(f"{_FN}: params must be a list of configuration keys, got {params!r}")
        for p in params:
            if p not in known:
                raise ValueError(f"{_FN}: unknown key {p!r} in params; the configurations have {known}")
        keys = list(dict.fromkeys(params))
    else:
        keys = _default_keys(lines)
    if not lines or not keys:
        return empty_figure(backend, _FN, _TITLE, "no PBT configurations recorded yet")
    axes = [_axis(k, lines) for k in keys]
    if backend == "plotly":
        return _plotly(lines, axes)
    return _matplotlib(lines, axes)


def _series(ln: _Line, axis: _Axis) -> tuple[list[float], list[float | None]]:
    return ln.steps, [axis.coord(c.get(axis.key)) for c in ln.configs]


def _plotly(lines: list[_Line], axes: list[_Axis]) -> Figure:
    go = import_plotly(_FN)
    fig = plotly_subplots(_FN, rows=len(axes), cols=1, shared_xaxes=True,
                          subplot_titles=[a.key for a in axes], vertical_spacing=min(0.08, 0.4 / len(axes)))
    for r, axis in enumerate(axes, start=1):
        for i, ln in enumerate(lines):
            xs, ys = _series(ln, axis)
            n = ln.trial.number
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines+markers", line_shape="hv", name=f"Trial {n}",
                legendgroup=f"trial-{n}", showlegend=r == 1, line={"color": palette(i)},
                marker={"size": 4},
                hovertemplate=f"Trial {n}<br>step %{{x}}<br>{axis.key}: %{{y}}<extra></extra>",
            ), row=r, col=1)
        if axis.kind == "log":
            fig.update_yaxes(type="log", row=r, col=1)
        elif axis.kind == "categorical":
            fig.update_yaxes(tickmode="array", tickvals=list(range(len(axis.choices))),
                             ticktext=[str(c) for c in axis.choices], row=r, col=1)
        fig.update_yaxes(title_text=axis.key, row=r, col=1)
    fig.update_xaxes(title_text="Step", row=len(axes), col=1)
    fig.update_layout(title=_TITLE, height=max(360, 220 * len(axes)))
    return fig


def _matplotlib(lines: list[_Line], axes: list[_Axis]) -> Figure:
    fig = mpl_figure(_FN, figsize=(7.2, max(3.2, 2.2 * len(axes))))
    grid = fig.subplots(len(axes), 1, sharex=True, squeeze=False)[:, 0]
    for ax, axis in zip(grid, axes):
        for i, ln in enumerate(lines):
            xs, ys = _series(ln, axis)
            (line,) = ax.step(xs, [float("nan") if y is None else y for y in ys], where="post",
                              color=palette(i), label=f"Trial {ln.trial.number}")
            line.set_gid(f"trial-{ln.trial.number}")
        if axis.kind == "log":
            ax.set_yscale("log")
        elif axis.kind == "categorical":
            ax.set_yticks(range(len(axis.choices)), [str(c) for c in axis.choices])
        ax.set_ylabel(axis.key)
    grid[-1].set_xlabel("Step")
    if len(lines) <= _MPL_LEGEND_MAX:
        grid[0].legend(fontsize=7, ncols=2)
    fig.suptitle(_TITLE)
    return fig
