"""An ``hs.tune`` run with checkpoints, for the reliability benchmark (started by ``run.py``).

The search space holds ``id = hs.grid(range(K))`` (every id is one grid point, so
a duplicate or a missing id is visible) and a learning rate.  The trainable
reports ``loss`` every iteration with a checkpoint ``{"id", "step", "blob"}`` and,
when resumed, checks that the checkpoint it gets back is one it wrote for its
own id (a torn or foreign checkpoint fails the trial with ``corrupt checkpoint``).

``--p-kill-save``: inside ``CheckpointStore.save`` (in whichever process runs the
trainable: an executor worker with ``--concurrent > 1``), between writing the
temporary file and renaming it into place, the process kills itself with this
probability (logged first as ``kill ckpt-save <trial> <id> <step> <pid>``).

``--scheduler``: ``fifo`` (every trial runs to ``--max-t``), ``asha`` (ASHA,
promotion variant: trials pause at rungs and are resumed from their checkpoint)
or ``pbt`` (population-based training: exploiting copies another trial's
checkpoint).

When the run ends the driver writes ``finished <n trials>`` to the log; an
exception out of ``hs.tune`` is logged as ``error <type> <message>`` (exit 1).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import time

import hypersearch as hs

LOG = os.environ.get("HS_REL_TUNE_LOG", "")
P_KILL = float(os.environ.get("HS_REL_P_KILL_SAVE", "0") or 0)
SLEEP = float(os.environ.get("HS_REL_SLEEP", "0.05") or 0.05)
_installed = False


def _log(*fields) -> None:
    if not LOG:
        return
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (" ".join(str(f) for f in fields) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class _KillingOs:
    """Stands in for ``os`` inside ``hypersearch.tune._checkpoint``: ``replace`` (the
    rename of the finished temporary file) may first kill the process."""

    def __init__(self, where: dict) -> None:
        self._where = where
        self._rng = random.Random(os.getpid())

    def __getattr__(self, name):
        return getattr(os, name)

    def replace(self, src, dst, *args, **kwargs):
        if self._rng.random() < P_KILL:
            w = self._where
            _log("kill", "ckpt-save", w.get("trial"), w.get("id"), w.get("step"), os.getpid())
            os.kill(os.getpid(), signal.SIGKILL)
        return os.replace(src, dst, *args, **kwargs)


_where: dict = {}


def _install() -> None:
    global _installed
    if _installed or P_KILL <= 0:
        return
    from hypersearch.tune import _checkpoint

    _checkpoint.os = _KillingOs(_where)  # type: ignore[attr-defined]
    _installed = True


def _blob(i: int, step: int) -> str:
    return f"weights-of-{i}-at-{step}-" + "w" * 64


def trainable(config) -> None:
    _install()
    from hypersearch.tune._session import current

    i, lr = int(config["id"]), float(config["lr"])
    number = current().trial.number
    max_t = int(os.environ.get("HS_REL_MAX_T", "6"))
    ckpt = hs.get_checkpoint()
    start = 0
    w = lr
    if ckpt is not None:
        if not isinstance(ckpt, dict) or ckpt.get("blob") != _blob(
            int(ckpt.get("id", -1)), int(ckpt.get("step", -1))
        ):
            raise RuntimeError(f"corrupt checkpoint for id {i}: {str(ckpt)[:80]}")
        # a PBT exploit hands over another trial's checkpoint; anything else is our own
        start, w = int(ckpt["step"]), float(ckpt["w"])
    for step in range(start + 1, max_t + 1):
        time.sleep(SLEEP)
        w = w * 0.9 + lr * 0.1
        loss = (i % 7) * 0.1 + 1.0 / step + abs(w - 0.1)
        _where.update(trial=number, id=i, step=step)
        hs.report(loss=loss, checkpoint={"id": i, "step": step, "w": w, "blob": _blob(i, step)})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--study", required=True)
    p.add_argument("--storage-path", required=True)
    p.add_argument("--ids", type=int, default=8)
    p.add_argument("--concurrent", type=int, default=2)
    p.add_argument("--scheduler", choices=["fifo", "asha", "pbt"], default="fifo")
    p.add_argument("--max-t", type=int, default=6)
    p.add_argument("--retries", type=int, default=50)
    p.add_argument("--heartbeat-interval", type=float, default=0.5)
    p.add_argument("--heartbeat-grace", type=float, default=3.0)
    p.add_argument("--resume", action="store_true")
    a = p.parse_args(argv)
    os.environ["HS_REL_MAX_T"] = str(a.max_t)  # inherited by spawned executor workers
    scheduler = None
    if a.scheduler == "asha":
        scheduler = hs.schedulers.ASHA(
            metric="loss",
            mode="min",
            max_t=a.max_t,
            grace_period=1,
            reduction_factor=2,
            variant="promotion",
        )
    elif a.scheduler == "pbt":
        scheduler = hs.schedulers.PopulationBasedTraining(
            metric="loss",
            mode="min",
            perturbation_interval=2,
            hyperparam_mutations={"lr": hs.loguniform(1e-3, 1.0)},
            seed=0,
        )
    _log("driver", os.getpid(), "resume" if a.resume else "start")
    try:
        res = hs.tune(
            trainable,
            config={"id": hs.grid(list(range(a.ids))), "lr": hs.loguniform(1e-3, 1.0)},
            metric="loss",
            mode="min",
            num_samples=1,
            scheduler=scheduler,
            storage=a.url,
            name=a.study,
            resume=a.resume,
            seed=0,
            storage_path=a.storage_path,
            max_concurrent=a.concurrent,
            stop={"training_iteration": a.max_t},
            retries=a.retries,
            heartbeat_interval=a.heartbeat_interval,
            heartbeat_grace=a.heartbeat_grace,
            show_progress_bar=False,
        )
    except Exception as e:
        _log("error", type(e).__name__, str(e).splitlines()[0][:300] if str(e) else "")
        return 1
    _log("finished", len(res.trials))
    return 0


if __name__ == "__main__":
    sys.exit(main())
