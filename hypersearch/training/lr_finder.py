"""Learning-rate range test ("LR finder", Smith, "Cyclical Learning Rates for
Training Neural Networks", 2017).

Train for a short while with a learning rate that grows exponentially from
``min_lr`` to ``max_lr``, one step per rate, and watch the loss: it stalls at
rates too small to matter, falls fastest where the rate is useful and blows
up past the stable range.  The test costs ``num_steps`` optimizer steps and
narrows a learning-rate search to a decade or so around the suggestion
(``hs.loguniform(s / 10, s * 10)`` is a good space).

The raw loss of single mini-batches is noisy, so the curve is smoothed by an
exponential moving average with bias correction (the average of the first
few steps is not pulled towards zero).  The test stops early once the
smoothed loss exceeds ``diverge_threshold`` times the best seen: the rest of
the range is useless and can wreck the weights.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from hypersearch.training._checks import in_range, integer, positive, require_torch

__all__ = ["LRFinderResult", "lr_finder", "lr_finder_torch"]

SuggestMethod = Literal["steepest", "min/10"]


@dataclass
class LRFinderResult:
    """What a range test saw.

    Attributes:
        lrs: Learning rate of every step run.
        losses: Raw loss returned by each step (``inf``/``nan`` kept as returned).
        smoothed: Bias-corrected exponential moving average of the losses.
        diverged: Whether the test stopped early because the loss blew up.
        skip_start: Points at the start ignored by :meth:`suggest` by default
            (the moving average is least reliable there).
    """

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    diverged: bool = False
    skip_start: int = field(default=0)

    @property
    def suggestion(self) -> float | None:
        """:meth:`suggest` with the default method, ``None`` when the loss never fell."""
        try:
            return self.suggest()
        except ValueError:
            return None

    def suggest(
        self, method: SuggestMethod = "steepest", *, skip_start: int | None = None
    ) -> float:
        """A learning rate read off the curve.

        Args:
            method: ``"steepest"``: where the smoothed loss falls fastest against
                ``log(lr)``, searched before its minimum (the rate that makes the most
                progress per step while still stable).  ``"min/10"``: a tenth of the
                rate at the minimum of the smoothed loss (a conservative choice: the
                minimum itself sits at the edge of instability).
            skip_start: Points ignored at the start (default: the result's).

        Raises:
            ValueError: Unknown method, or a curve without a falling stretch.
        """
        skip = self.skip_start
        if skip_start is not None:
            skip = integer("suggest", "skip_start", skip_start, 0)
        lrs = np.asarray(self.lrs, dtype=float)
        sm = np.asarray(self.smoothed, dtype=float)
        finite = np.isfinite(sm)
        if not finite.any():
            raise ValueError("the range test recorded no finite loss")
        sm_f = np.where(finite, sm, np.inf)
        i_min = int(np.argmin(sm_f))
        if method == "min/10":
            return float(lrs[i_min] / 10.0)
        if method != "steepest":
            raise ValueError(f"suggest: method must be 'steepest' or 'min/10', got {method!r}")
        lo = min(skip, max(i_min - 2, 0))
        if i_min - lo < 2:
            raise ValueError(
                "the smoothed loss reached its minimum within the first points, so there is no "
                "falling stretch to read a rate from: lower min_lr"
            )
        x = np.log(lrs[lo : i_min + 1])
        y = sm[lo : i_min + 1]
        # slope over a few neighbours on each side: single-step differences of a
        # moving average still carry the noise of the newest mini-batch
        k = max(1, len(self.lrs) // 25)
        idx = np.arange(len(x))
        hi_i, lo_i = np.minimum(idx + k, len(x) - 1), np.maximum(idx - k, 0)
        slope = (y[hi_i] - y[lo_i]) / (x[hi_i] - x[lo_i])
        j = int(np.argmin(slope))
        if not slope[j] < 0:
            raise ValueError("the smoothed loss never falls before its minimum: lower min_lr")
        return float(lrs[lo + j])

    def plot(
        self, backend: Literal["matplotlib", "plotly"] = "matplotlib", *, show_raw: bool = True
    ) -> Any:
        """The loss against the learning rate (log scale), with the suggestion marked.

        Returns a ``matplotlib.figure.Figure`` (built without pyplot, so it works
        headless and leaks no global state) or a ``plotly.graph_objects.Figure``.
        """
        sug = self.suggestion
        if backend == "matplotlib":
            try:
                from matplotlib.figure import Figure
            except ImportError as e:
                raise ImportError("plot(backend='matplotlib') needs matplotlib: "
                                  "pip install matplotlib") from e
            fig = Figure(figsize=(6, 4))
            ax = fig.add_subplot()
            if show_raw:
                ax.plot(self.lrs, self.losses, color="0.75", linewidth=1, label="loss")
            ax.plot(self.lrs, self.smoothed, color="C0", linewidth=2, label="smoothed loss")
            if sug is not None:
                ax.axvline(sug, color="C3", linestyle="--", label=f"suggestion {sug:.2e}")
            ax.set_xscale("log")
            ax.set_xlabel("learning rate")
            ax.set_ylabel("loss")
            ax.set_title("learning-rate range test")
            ax.legend()
            return fig
        if backend == "plotly":
            try:
                import plotly.graph_objects as go
            except ImportError as e:
                raise ImportError("plot(backend='plotly') needs plotly: pip install plotly") from e
            fig = go.Figure()
            if show_raw:
                fig.add_trace(go.Scatter(x=self.lrs, y=self.losses, name="loss",
                                         line={"color": "lightgray"}))
            fig.add_trace(go.Scatter(x=self.lrs, y=self.smoothed, name="smoothed loss"))
            if sug is not None:
                fig.add_vline(x=sug, line_dash="dash", line_color="firebrick",
                              annotation_text=f"suggestion {sug:.2e}")
            fig.update_layout(title="learning-rate range test", xaxis_title="learning rate",
                              yaxis_title="loss", xaxis_type="log")
            return fig
        raise ValueError(f"plot: backend must be 'matplotlib' or 'plotly', got {backend!r}")


def _check_args(min_lr: float, max_lr: float, num_steps: int, smooth: float,
                diverge_threshold: float) -> tuple[float, float, int, float, float]:
    fn = "lr_finder"
    min_lr = positive(fn, "min_lr", min_lr)
    max_lr = positive(fn, "max_lr", max_lr)
    if max_lr <= min_lr:
        raise ValueError(f"{fn}: max_lr={max_lr!r} must be greater than min_lr={min_lr!r}")
    num_steps = integer(fn, "num_steps", num_steps, 3)
    smooth = in_range(fn, "smooth", smooth, 0.0, 1.0, high_open=True)
    diverge_threshold = in_range(fn, "diverge_threshold", diverge_threshold, 1.0, math.inf,
                                 low_open=True)
    return min_lr, max_lr, num_steps, smooth, diverge_threshold


def lr_finder(
    step_fn: Callable[[float], float],
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    smooth: float = 0.98,
    diverge_threshold: float = 4.0,
) -> LRFinderResult:
    """Run a learning-rate range test on any training loop.

    Args:
        step_fn: ``step_fn(lr) -> loss``: one optimisation step (on the next
            mini-batch) at rate ``lr``, returning that step's training loss.  The
            test changes whatever ``step_fn`` trains: save and restore it yourself
            (or use :func:`lr_finder_torch`).
        min_lr, max_lr: Range of rates, swept geometrically.
        num_steps: Steps (rates) in the sweep.
        smooth: Weight of the past in the moving average (0: no smoothing).
        diverge_threshold: Stop when the smoothed loss exceeds the best by this
            factor (for a best loss ``b`` the bound is ``b + (threshold - 1) * |b|``,
            which is ``threshold * b`` for positive losses).  A non-finite loss
            stops the test too.

    Returns:
        :class:`LRFinderResult`.
    """
    min_lr, max_lr, num_steps, smooth, threshold = _check_args(
        min_lr, max_lr, num_steps, smooth, diverge_threshold
    )
    if not callable(step_fn):
        raise ValueError(f"lr_finder: step_fn must be callable, got {step_fn!r}")
    ratio = max_lr / min_lr
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    avg, best, diverged = 0.0, math.inf, False
    for i in range(num_steps):
        lr = min_lr * ratio ** (i / (num_steps - 1))
        loss = float(step_fn(lr))
        lrs.append(lr)
        losses.append(loss)
        if not math.isfinite(loss):
            smoothed.append(math.inf if loss > 0 or math.isnan(loss) else loss)
            diverged = True
            break
        avg = smooth * avg + (1.0 - smooth) * loss
        s = avg / (1.0 - smooth ** (i + 1))
        smoothed.append(s)
        if i > 0 and s > best + (threshold - 1.0) * abs(best):
            diverged = True
            break
        best = min(best, s)
    # the bias-corrected average of the first points rests on few mini-batches and
    # jumps with each new one; the steepest slope is read after it has settled
    # (its memory is about 1 / (1 - smooth) points), skipping at most a fifth of the sweep
    skip = min(math.ceil(1.0 / (1.0 - smooth)), num_steps // 5, len(lrs) // 4)
    return LRFinderResult(lrs, losses, smoothed, diverged, skip)


def _batches(data: Iterable[Any]) -> Iterable[Any]:
    """Cycle through ``data`` forever (re-iterating a loader when it runs out)."""
    while True:
        empty = True
        for batch in data:
            empty = False
            yield batch
        if empty:
            raise ValueError("lr_finder_torch: the data yielded no batch")
        if iter(data) is data:  # a one-shot iterator: cannot start over
            raise ValueError("lr_finder_torch: the data iterator ran out before num_steps; "
                             "pass a DataLoader (re-iterable) or more batches")


def _split(batch: Any) -> tuple[Any, Any]:
    if isinstance(batch, Sequence) and not isinstance(batch, (str, bytes)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError("lr_finder_torch: batches must be (inputs, targets) pairs; pass "
                     "unpack=... for other layouts")


def lr_finder_torch(
    model: Any,
    optimizer: Any,
    loss_fn: Callable[[Any, Any], Any],
    data: Iterable[Any],
    *,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    smooth: float = 0.98,
    diverge_threshold: float = 4.0,
    unpack: Callable[[Any], tuple[Any, Any]] | None = None,
    device: Any = None,
    restore: bool = True,
) -> LRFinderResult:
    """Learning-rate range test for a PyTorch model.

    Each step takes the next batch (cycling through ``data``), sets every
    parameter group's rate, and runs ``loss_fn(model(inputs), targets)``,
    backward and ``optimizer.step()``.  Afterwards the model's and the
    optimizer's state (weights, buffers, momentum, rates), the training mode
    and torch's random number generator are restored exactly, so the test
    leaves no trace (gradients are cleared).

    Args:
        model: A ``torch.nn.Module``.
        optimizer: Its optimizer (any ``torch.optim`` optimizer).
        loss_fn: ``loss_fn(outputs, targets) -> scalar tensor``.
        data: A ``DataLoader`` or any iterable of ``(inputs, targets)`` batches.
        min_lr, max_lr, num_steps, smooth, diverge_threshold: As for :func:`lr_finder`.
        unpack: ``unpack(batch) -> (inputs, targets)`` for other batch layouts.
        device: Move inputs and targets there (``None``: leave them).
        restore: Put the original state back (default).

    Returns:
        :class:`LRFinderResult`.
    """
    torch = require_torch("lr_finder_torch")
    _check_args(min_lr, max_lr, num_steps, smooth, diverge_threshold)
    split = unpack or _split
    model_state = copy.deepcopy(model.state_dict())
    optim_state = copy.deepcopy(optimizer.state_dict())
    rng_state = torch.get_rng_state()
    was_training = model.training
    batches = iter(_batches(data))

    def step(lr: float) -> float:
        inputs, targets = split(next(batches))
        if device is not None:
            inputs, targets = inputs.to(device), targets.to(device)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    model.train()
    try:
        return lr_finder(step, min_lr, max_lr, num_steps, smooth, diverge_threshold)
    finally:
        if restore:
            model.load_state_dict(model_state)
            optimizer.load_state_dict(optim_state)
            torch.set_rng_state(rng_state)
            optimizer.zero_grad()
        model.train(was_training)
