"""Checkpoints of :func:`hypersearch.tune` trials, kept as files beside the study.

A checkpoint is either a directory (copied), a path to a file (copied; the trial
gets the path of its copy back) or a picklable object (written with pickle).  The
storage records only the checkpoint's path, relative to the artifact root, as
JSON; nothing stored in the database is ever unpickled, and a checkpoint file is
read only when a trial asks for its own checkpoint.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

# The only paths a checkpoint can have (see CheckpointStore.save): a path read back
# from the storage is accepted only in this form, so a crafted database cannot
# make a trial unpickle any other file.
_REL_PATH = re.compile(r"trial_\d{6,}/checkpoint_\d{6,}(\.pkl)?")
# A file checkpoint is kept as a directory holding the file and this marker, which
# names it: loading returns the file's path, as it was handed to ``hs.report``.
_FILE_MARKER = ".hs_file"


class CheckpointStore:
    """Checkpoint files under ``root/trial_<number>/``; keeps the newest ``keep``."""

    def __init__(self, root: str | os.PathLike, keep: int = 2) -> None:
        self.root = Path(root)
        self.keep = keep

    def _trial_dir(self, number: int) -> Path:
        return self.root / f"trial_{number:06d}"

    def _resolve(self, rel: str) -> Path:
        if not isinstance(rel, str) or not _REL_PATH.fullmatch(rel.replace(os.sep, "/")):
            raise ValueError(
                f"checkpoint path {rel!r} is not one hypersearch writes (trial_NNNNNN/checkpoint_NNNNNN[.pkl])"
            )
        p = (self.root / rel).resolve()
        if self.root.resolve() not in p.parents:
            raise ValueError(f"checkpoint path {rel!r} points outside the artifact directory")
        return p

    def save(self, number: int, step: int, checkpoint: Any) -> str:
        d = self._trial_dir(number)
        d.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers(d)
        name = f"checkpoint_{step:06d}"
        is_path = isinstance(checkpoint, (str, os.PathLike))
        if is_path and Path(checkpoint).is_dir():
            target = d / name
            _copy_atomic(Path(checkpoint), target)
        elif is_path and Path(checkpoint).is_file():
            target = d / name
            tmp = Path(tempfile.mkdtemp(dir=d, prefix=".tmp_"))
            src = Path(checkpoint)
            shutil.copy2(src, tmp / src.name)
            (tmp / _FILE_MARKER).write_text(src.name)
            _replace_dir(tmp, target)
        else:
            target = d / f"{name}.pkl"
            fd, tmp_name = tempfile.mkstemp(dir=d, prefix=".tmp_")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(checkpoint, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp_name, target)  # atomic: a reader never sees half a file
        self._prune(d)
        return str(target.relative_to(self.root))

    @staticmethod
    def _remove_leftovers(d: Path) -> None:
        """Temporary files of a writer that was killed mid-save (only one process
        runs a trial at a time, so any ``.tmp_*`` here is such a leftover)."""
        for p in d.glob(".tmp_*"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)

    def _prune(self, d: Path) -> None:
        entries = _checkpoints_in(d)
        for old in entries[: max(len(entries) - self.keep, 0)]:
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)

    def load(self, rel: str) -> Any:
        p = self._resolve(rel)
        if not p.exists():
            raise FileNotFoundError(f"checkpoint {rel!r} is missing from {self.root}")
        if p.is_dir():
            marker = p / _FILE_MARKER
            if marker.is_file():  # a file checkpoint: the path of its copy
                return str(p / marker.read_text())
            return str(p)
        with open(p, "rb") as f:
            return pickle.load(f)

    def clone(self, rel: str, number: int, step: int) -> str:
        """:meth:`clone_with_step` without the donor's step."""
        return self.clone_with_step(rel, number, step)[0]

    def newest_step(self, rel: str, below: int | None = None) -> int | None:
        """Step of the newest checkpoint in the directory of checkpoint ``rel`` (its
        trial keeps saving newer ones while it trains), only those before step
        ``below`` if given."""
        steps = [_step_of(p.name) for p in _checkpoints_in(self._resolve(rel).parent)]
        steps = [s for s in steps if s is not None and (below is None or s < below)]
        return steps[-1] if steps else None

    def clone_with_step(
        self, rel: str, number: int, step: int, below: int | None = None
    ) -> tuple[str, int | None]:
        """Copy another trial's newest checkpoint (at least as new as ``rel``) to
        trial ``number`` (population-based training), named by the donor's step of
        the copy (or ``step`` if that is later); returns its path and the donor's
        step of the copied checkpoint.

        The donor keeps training and pruning its old checkpoints meanwhile, so the
        newest one present is taken (before step ``below``: a checkpoint at max_t
        is a fully trained model, not a state to train on), and a copy that loses
        the race is retried.
        """
        donor_dir = self._resolve(rel).parent
        d = self._trial_dir(number)
        d.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            candidates = _checkpoints_in(donor_dir)[::-1]
            if below is not None:
                candidates = [c for c in candidates if (_step_of(c.name) or 0) < below]
            for src in candidates:
                at = max(step, _step_of(src.name) or 0)
                dst = d / (f"checkpoint_{at:06d}" + src.suffix)
                try:
                    _copy_atomic(src, dst)
                except (FileNotFoundError, shutil.Error):
                    continue  # pruned by the donor while we copied: take the next
                self._prune(d)
                return str(dst.relative_to(self.root)), _step_of(src.name)
        raise FileNotFoundError(f"no checkpoint left to copy in {donor_dir}")


def _checkpoints_in(d: Path) -> list[Path]:
    """The checkpoints of a trial's directory, oldest first (by the step in their
    names: zero-padded to six digits, longer beyond a million steps)."""
    found = [(_step_of(p.name), p) for p in d.iterdir() if p.name.startswith("checkpoint_")]
    return [p for step, p in sorted((s, p) for s, p in found if s is not None)]


def _replace_dir(tmp: Path, target: Path) -> None:
    """Move the finished directory ``tmp`` to ``target`` (replacing it)."""
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    tmp.rename(target)


def _copy_atomic(src: Path, dst: Path) -> None:
    """Copy a checkpoint file or directory so that ``dst`` never holds half a copy:
    into a temporary name beside it first, renamed when complete (a crash or a
    donor that prunes ``src`` meanwhile leaves only a ``.tmp_*`` leftover)."""
    if src.is_dir():
        tmp = Path(tempfile.mkdtemp(dir=dst.parent, prefix=".tmp_"))
        try:
            shutil.copytree(src, tmp, dirs_exist_ok=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _replace_dir(tmp, dst)
    else:
        fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=".tmp_")
        os.close(fd)
        try:
            shutil.copy2(src, tmp_name)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        os.replace(tmp_name, dst)


def _step_of(name: str) -> int | None:
    """Step of a checkpoint file or directory name (``checkpoint_000012[.pkl]``)."""
    try:
        return int(name[len("checkpoint_") :].split(".")[0])
    except ValueError:
        return None


#: File that marks a checkpoint root as taken by a run (created atomically).
CLAIM_FILE = ".hypersearch-run"


def claim_root(base: Path) -> Path:
    """A checkpoint root for a new study: ``base`` unless an earlier run (a deleted
    study of the same name, an in-memory study of a previous process) left
    checkpoints there or another run took it first, else the first free
    ``base-1``, ``base-2``, ...  Files of another run are never mixed in (its
    newer step numbers would make this run's pruning delete the checkpoint just
    saved) nor deleted.  A root is taken by creating :data:`CLAIM_FILE` in it
    exclusively, so two runs started at the same moment never share one."""
    for i in range(10_000):
        cand = base if i == 0 else base.with_name(f"{base.name}-{i}")
        try:
            cand.mkdir(parents=True)
        except FileExistsError:
            if not cand.is_dir() or any(p.name != CLAIM_FILE for p in cand.iterdir()):
                continue  # another run's files
        try:
            (cand / CLAIM_FILE).open("x").close()
            return cand
        except FileExistsError:
            continue  # another run took it
    raise RuntimeError(f"no free checkpoint directory beside {base}")


def release_root(root: Path) -> None:
    """Give back a root taken by :func:`claim_root` that stayed unused."""
    try:
        (root / CLAIM_FILE).unlink()
        root.rmdir()
    except OSError:
        pass


def default_root(storage_url: str | None, study_name: str) -> Path:
    """Artifacts beside a SQLite file (``<file>.artifacts/<study>``), else a temp dir."""
    if storage_url and storage_url.startswith("sqlite:///") and ":memory:" not in storage_url:
        db = Path(storage_url[len("sqlite:///") :])
        return db.with_name(db.name + ".artifacts") / study_name
    return Path(tempfile.gettempdir()) / "hypersearch-artifacts" / study_name
