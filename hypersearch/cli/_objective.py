"""Resolve ``--objective`` (``pkg.module:function`` or ``path/to/file.py:function``)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from collections.abc import Callable
from typing import Any

from hypersearch.cli._errors import EXIT_USAGE, CLIError

_FORMS = "'package.module:function' or 'path/to/file.py:function'"


def split_spec(spec: str) -> tuple[str, str]:
    """``(module_or_path, attribute)``; the last colon separates them, so a Windows
    path such as ``C:\\obj.py:f`` works."""
    target, sep, attr = spec.rpartition(":")
    target, attr = target.strip(), attr.strip()
    if not sep:
        raise CLIError(f"--objective {spec!r} has no ':'; expected {_FORMS}", EXIT_USAGE)
    if not target or not attr:
        raise CLIError(f"--objective {spec!r} is incomplete; expected {_FORMS}", EXIT_USAGE)
    return target, attr


def _is_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target


def _load_file(path: str) -> types.ModuleType:
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(full):
        raise CLIError(f"objective file {path!r} does not exist")
    if not os.path.isfile(full):
        raise CLIError(f"objective file {path!r} is not a file")
    stem = os.path.splitext(os.path.basename(full))[0]
    name = "_hypersearch_objective_" + "".join(c if c.isalnum() else "_" for c in stem)
    spec = importlib.util.spec_from_file_location(name, full)
    if spec is None or spec.loader is None:
        raise CLIError(f"cannot load objective file {path!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Like ``python file.py``: the file's directory is importable (sibling modules).
    folder = os.path.dirname(full)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = module  # dataclasses, pickling and threads look modules up here
    try:
        spec.loader.exec_module(module)
    except BaseException as e:
        sys.modules.pop(name, None)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise CLIError(
            f"error while loading objective file {path!r}: {type(e).__name__}: {e}"
        ) from e
    return module


def _import_module(target: str) -> types.ModuleType:
    # Like ``python -m``: modules in the current directory are importable.
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as e:
        if e.name is not None and (target == e.name or target.startswith(e.name + ".")):
            raise CLIError(
                f"cannot import objective module {target!r}: no module named {e.name!r} "
                "(for a file, give its path, e.g. ./objective.py:function)"
            ) from e
        raise CLIError(
            f"error while importing objective module {target!r}: ModuleNotFoundError: {e}"
        ) from e
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:
        raise CLIError(
            f"error while importing objective module {target!r}: {type(e).__name__}: {e}"
        ) from e


def load_objective(spec: str) -> tuple[Callable[..., Any], types.ModuleType]:
    """The objective function and the module that defines it."""
    target, attr = split_spec(spec)
    module = _load_file(target) if _is_path(target) else _import_module(target)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CLIError(
                f"{target!r} has no function {attr!r} (from --objective {spec!r})"
            ) from None
    if not callable(obj):
        raise CLIError(f"--objective {spec!r} is not callable (it is a {type(obj).__name__})")
    return obj, module


def grid_space(module: types.ModuleType, spec: str) -> dict[str, Any]:
    """The module-level ``GRID_SPACE`` dict that ``--sampler grid`` needs."""
    target = split_spec(spec)[0]
    space = getattr(module, "GRID_SPACE", None)
    if space is None:
        raise CLIError(
            f"--sampler grid needs a module-level dict GRID_SPACE = {{'param': [values, ...]}} "
            f"in {target!r}"
        )
    if not isinstance(space, dict) or not space:
        raise CLIError(
            f"GRID_SPACE in {target!r} must be a non-empty dict {{'param': [values, ...]}}, "
            f"got {type(space).__name__}"
        )
    return space
