"""Running an objective away from its study: the worker-side trial proxy and the
parent-side loop that serves it.

The study, its sampler and its scheduler stay in the process that owns the
optimize loop.  A worker (a process, a Ray actor) runs the objective with a
:class:`RemoteTrial`, whose ``suggest_*``, ``report``, ``should_prune`` and
attribute calls are forwarded over a channel to the real :class:`Trial`, one
round trip each.  So every executor gives the same sampling decisions and the
same storage writes as running in-process, and define-by-run spaces work
unchanged.

Messages (tuples) from the worker: ``("call", name, args, kwargs)``,
``("done", value)``, ``("raised", packed exception)``; answers to calls:
``("ok", value)`` or ``("err", packed exception)``.
"""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from hypersearch.space.distributions import (
    BaseDistribution,
)
from hypersearch.trial._suggest import SuggestMethods

__all__ = ["Channel", "RemoteTrial", "pack_exception", "run_objective", "serve", "unpack_exception"]

#: Trial methods a worker may call (everything else stays in the parent).
_METHODS = frozenset(
    {
        "suggest",
        "report",
        "should_prune",
        "decide",
        "set_user_attr",
        "set_system_attr",
        "flush",
        "_tune_report",
        "_tune_stop",
        "_pbt_plan",
        "_trial_state",
        "_resample",
    }
)
#: Read-only trial properties a worker may read.
_PROPERTIES = frozenset(
    {"params", "distributions", "user_attrs", "system_attrs", "intermediate_values", "attempt", "_fixed"}
)


class Channel(Protocol):
    def send(self, obj: Any) -> None: ...

    def recv(self) -> Any: ...


# -- exceptions across processes ---------------------------------------------------------------


def pack_exception(e: BaseException) -> tuple[bytes | None, str, str, dict[str, Any]]:
    """``(pickled exception or None, type name, message, extra attributes)`` plus the
    remote traceback in the message's attributes, so the parent re-raises the same
    type where it can and a faithful description where it cannot."""
    attrs = {k: v for k, v in vars(e).items() if isinstance(v, (bool, int, float, str))} if hasattr(e, "__dict__") else {}
    attrs["remote_traceback"] = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    attrs["remote_types"] = [_type_name(c) for c in type(e).__mro__]
    blob: bytes | None = None
    try:
        if type(e).__module__ == "__main__":
            # a class of the user's script: plain pickle would look it up in this
            # worker's __main__, which imports the script on demand (_worker)
            raise TypeError("sent by value")
        blob = pickle.dumps(e)
        pickle.loads(blob)
    except Exception:
        # An exception class of the user's script reached this worker by value with
        # the objective; cloudpickle sends it back the same way, and the parent gets
        # its own class again (so ``catch=(MyError,)`` matches).
        try:
            import cloudpickle

            blob = cloudpickle.dumps(e)
            pickle.loads(blob)
        except Exception:
            blob = None
    return blob, type(e).__name__, str(e), attrs


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def caught(e: BaseException, catch: tuple[type[BaseException], ...]) -> bool:
    """Whether ``e`` is an :class:`Exception` of one of the ``catch`` classes, also
    when it came from a worker process as a stand-in (an exception that could not be
    rebuilt here) whose class, or a base of it, has one of their names."""
    if not isinstance(e, Exception):
        return False
    if isinstance(e, catch):
        return True
    remote = getattr(e, "remote_types", None)
    return isinstance(remote, list) and any(_type_name(c) in remote for c in catch)


def unpack_exception(packed: tuple[bytes | None, str, str, dict[str, Any]]) -> BaseException:
    blob, name, msg, attrs = packed
    exc: BaseException | None = None
    if blob is not None:
        try:
            exc = pickle.loads(blob)
        except Exception:
            exc = None
    if exc is None:
        exc = RuntimeError(f"{name}: {msg}")
    for k, v in attrs.items():
        try:
            setattr(exc, k, v)
        except (AttributeError, TypeError):  # pragma: no cover - exotic exception types
            pass
    return exc


# -- worker side ----------------------------------------------------------------------------------


class RemoteTrial(SuggestMethods):
    """What an objective receives in a worker: the :class:`~hypersearch.Trial` API,
    forwarded to the study's process.  Bounds and names are validated here, so
    bad arguments raise in the objective as they would in-process."""

    def __init__(self, channel: Channel, info: dict[str, Any]) -> None:
        self._channel = channel
        self.number: int = info["number"]
        self.datetime_start = info.get("datetime_start")
        self.resources: dict[str, Any] = info.get("resources") or {}
        self._pausable = bool(info.get("pausable", False))
        self._params_cache: dict[str, Any] = {}

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self._channel.send(("call", name, args, kwargs))
        tag, payload = self._channel.recv()
        if tag == "ok":
            return payload
        raise unpack_exception(payload)

    # the sampling API
    def suggest(self, name: str, distribution: BaseDistribution) -> Any:
        if name in self._params_cache:
            # the same name again: the parent checks the distribution; values are final
            return self._call("suggest", name, distribution)
        value = self._call("suggest", name, distribution)
        self._params_cache[name] = value
        return value

    # reporting and attributes
    def report(self, value: float, step: int) -> None:
        self._call("report", value, step)

    def should_prune(self) -> bool:
        return self._call("should_prune")

    def decide(self):
        return self._call("decide")

    def set_user_attr(self, key: str, value: Any) -> None:
        self._call("set_user_attr", key, value)

    def set_system_attr(self, key: str, value: Any) -> None:
        self._call("set_system_attr", key, value)

    def flush(self) -> None:
        self._call("flush")

    def _tune_report(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("_tune_report", *args, **kwargs)

    def _tune_stop(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("_tune_stop", *args, **kwargs)

    def _pbt_plan(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("_pbt_plan", *args, **kwargs)

    def _trial_state(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("_trial_state", *args, **kwargs)

    def _resample(self) -> None:
        """A declarative space's constraint rejected the configuration: the parent
        discards it and the sampler proposes again."""
        self._call("_resample")
        self._params_cache.clear()

    def __getattr__(self, name: str) -> Any:
        if name in _PROPERTIES:
            return self._call("__property__", name)
        if name == "study":
            raise AttributeError(
                "trial.study is not available in a worker process; the study lives in the "
                "process that runs optimize (use executor='thread' to share it)"
            )
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"RemoteTrial(number={self.number})"


def run_objective(channel: Channel, objective: Callable[[Any], Any], info: dict[str, Any]) -> None:
    """Worker side of one trial: run ``objective`` and send its outcome."""
    trial = RemoteTrial(channel, info)
    try:
        value = objective(trial)
    except BaseException as e:  # every outcome goes back to the parent
        channel.send(("raised", pack_exception(e)))
        return
    try:
        channel.send(("done", value))
    except Exception as e:  # an unpicklable return value
        channel.send(("raised", pack_exception(TypeError(
            f"the objective returned {type(value).__name__}, which cannot be sent back from the "
            f"worker ({e}); return a number"
        ))))


# -- parent side ----------------------------------------------------------------------------------


def trial_info(trial: Any, pausable: bool = False, resources: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "number": trial.number,
        "datetime_start": trial.datetime_start,
        "pausable": pausable,
        "resources": resources or {},
    }


def serve(trial: Any, recv: Callable[[], Any], send: Callable[[Any], None]) -> Any:
    """Answer a worker's calls on ``trial`` until it finishes; return the objective's
    value or raise what it raised."""
    while True:
        msg = recv()
        kind = msg[0]
        if kind == "call":
            _, name, args, kwargs = msg
            try:
                if name == "__property__":
                    if args[0] not in _PROPERTIES:
                        raise AttributeError(f"trial property {args[0]!r} is not available")
                    result = getattr(trial, args[0])
                elif name in _METHODS:
                    result = getattr(trial, name)(*args, **kwargs)
                else:
                    raise AttributeError(f"trial method {name!r} cannot be called from a worker")
            except Exception as e:
                send(("err", pack_exception(e)))
            else:
                send(("ok", result))
        elif kind == "done":
            return msg[1]
        elif kind == "raised":
            raise unpack_exception(msg[1])
        else:  # pragma: no cover - protocol error
            raise RuntimeError(f"unexpected message from a worker: {msg!r}")
