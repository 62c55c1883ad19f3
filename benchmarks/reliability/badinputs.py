"""Bad inputs for the reliability benchmark: random invalid calls of the public API
and random invalid command lines, each checked for a clear error and an
unchanged storage.

Every generated case is invalid by construction.  Three kinds:

* ``error``: the call must raise a clear exception (``ValueError``,
  ``TypeError``, ``KeyError`` or a hypersearch error, with a message) and leave the
  storage exactly as it was (every study, trial, attribute and the trial being
  suggested on);
* ``recorded``: the input belongs to a trial (the objective raised, or returned
  NaN/inf/a string/the wrong number of values, or ``tell`` got such a value): the
  study must gain exactly one FAIL trial whose ``fail_reason`` names the problem,
  and nothing else may change;
* ``cli``: ``hypersearch ...`` must exit with status 1 or 2 and one
  ``hypersearch: error: ...`` line (no traceback), and the storage must be unchanged.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypersearch as hs
from hypersearch.exceptions import HyperSearchError

CLEAR_TYPES = (ValueError, TypeError, KeyError, HyperSearchError)
INTERNAL_HINTS = (
    "object has no attribute",
    "'NoneType' object",
    "not subscriptable",
    "unsupported operand",
    "object is not iterable",
    "takes no arguments",
    "positional argument",
    "unhashable type",
    "can't multiply",
    "not supported between",
)


def snapshot(storage) -> Any:
    """Every study of the storage with its attributes and trials (what an error must
    not change)."""
    out = []
    for s in sorted(storage.list_studies(), key=lambda s: s.name):
        info = storage.get_study(s.name)
        trials = storage.get_trials(info.study_id)
        out.append(
            (
                s.name,
                [d.name for d in info.directions],
                sorted(info.user_attrs.items()),
                repr(sorted(info.system_attrs.items())),
                [
                    (
                        t.number,
                        t.state.name,
                        t.values,
                        repr(sorted(t.params.items())),
                        repr(sorted((k, repr(v)) for k, v in t.distributions.items())),
                        repr(sorted(t.user_attrs.items())),
                        repr(sorted(t.system_attrs.items())),
                        sorted(t.intermediate_values.items()),
                    )
                    for t in trials
                ],
            )
        )
    return out


def _clear(e: BaseException) -> tuple[bool, str]:
    msg = str(e)
    if isinstance(e, KeyError) and e.args:
        msg = str(e.args[0])
    if not isinstance(e, CLEAR_TYPES):
        return (
            False,
            f"{type(e).__name__} (not a ValueError/TypeError/hypersearch error): {msg[:120]}",
        )
    if len(msg.strip()) < 8:
        return False, f"{type(e).__name__} with an empty or terse message: {msg!r}"
    if any(h in msg for h in INTERNAL_HINTS) and not isinstance(e, HyperSearchError):
        return False, f"{type(e).__name__} leaking an internal error: {msg[:120]}"
    return True, ""


# -- random invalid values -------------------------------------------------------------------------

WRONG_TYPES: list[Any] = [None, "abc", [1.0], {"a": 1}, object(), b"1", (1, 2), {1, 2}]
NAN, INF = float("nan"), float("inf")


def _bad_float_bounds(rng: random.Random) -> tuple[tuple, dict, str]:
    lo = rng.uniform(-1e6, 1e6)
    kind = rng.randrange(9)
    if kind == 0:
        return (lo, lo - rng.uniform(1e-6, 1e6)), {}, "low > high"
    if kind == 1:
        return (NAN, lo), {}, "NaN low"
    if kind == 2:
        return (lo, rng.choice([INF, NAN])), {}, "non-finite high"
    if kind == 3:
        return (-INF, lo), {}, "infinite low"
    if kind == 4:
        return (rng.choice(WRONG_TYPES), 1.0), {}, "wrong type of low"
    if kind == 5:
        return (0.0, 1.0), {"step": rng.choice([0.0, -rng.uniform(0, 1), NAN])}, "bad step"
    if kind == 6:
        return (rng.uniform(-10, 0), rng.uniform(1, 10)), {"log": True}, "log with low <= 0"
    if kind == 7:
        return (1e-3, 1.0), {"log": True, "step": 0.1}, "log and step together"
    return (0.0, 1.0), {"step": rng.choice(WRONG_TYPES[1:4])}, "wrong type of step"


def _bad_int_bounds(rng: random.Random) -> tuple[tuple, dict, str]:
    lo = rng.randint(-(10**6), 10**6)
    kind = rng.randrange(7)
    if kind == 0:
        return (lo, lo - rng.randint(1, 10**6)), {}, "low > high"
    if kind == 1:
        return (lo + rng.choice([0.5, 0.25]), lo + 10), {}, "fractional low"
    if kind == 2:
        return (rng.choice(WRONG_TYPES), 10), {}, "wrong type of low"
    if kind == 3:
        return (0, 10), {"step": rng.choice([0, -rng.randint(1, 5)])}, "bad step"
    if kind == 4:
        return (rng.randint(-10, 0), 10), {"log": True}, "log with low <= 0"
    if kind == 5:
        return (0, rng.choice([NAN, INF])), {}, "non-finite high"
    return (1, 100), {"log": True, "step": 2}, "log and step together"


def _bad_choices(rng: random.Random) -> tuple[Any, str]:
    return rng.choice(
        [
            ([], "no choices"),
            ([[1, 2]], "a list as a choice"),
            ([{"a": 1}], "a dict as a choice"),
            ([object()], "an object as a choice"),
            (None, "None as the choices"),
            (5, "a number as the choices"),
        ]
    )


def _bad_name(rng: random.Random) -> Any:
    return rng.choice(["", None, 5, 1.5, ("x",)])


# -- the API cases ---------------------------------------------------------------------------------


class ApiCases:
    """Random invalid calls against one storage; see the module docstring."""

    def __init__(self, url: str, rng: random.Random) -> None:
        from hypersearch.storage.sql import SQLStorage

        self.url = url
        self.rng = rng
        self.storage = SQLStorage(url)
        self.study = hs.create_study(
            "bad-inputs", self.storage, sampler=hs.samplers.RandomSampler(seed=0)
        )
        self.study.set_user_attr("note", "bad inputs must not change me")
        self.study.optimize(
            lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("k", 1, 5), n_trials=5
        )
        self.study.enqueue_trial({"x": 0.5, "k": 2})
        # enqueue_trial and add_trial cases go to a study of their own: a bad
        # configuration wrongly accepted there must not poison the trials here
        self.scratch = hs.create_study(
            "bad-inputs-queue", self.storage, sampler=hs.samplers.RandomSampler(seed=0)
        )
        self.probe = self.study.ask()  # a running trial bad suggestions are made on
        self.probe.suggest_float("x", 0.0, 1.0)
        self.probe.flush()
        self.counts = {"error": 0, "recorded": 0}
        self.problems: list[str] = []
        self.examples: dict[str, str] = {}

    # -- runners --------------------------------------------------------------------------------
    def expect_error(self, label: str, fn: Callable[[], Any]) -> None:
        self.counts["error"] += 1
        before = snapshot(self.storage)
        probe_before = (self.probe.params, self.probe.user_attrs, self.probe.intermediate_values)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn()
        except BaseException as e:  # noqa: B036 - SystemExit would be a finding too
            ok, why = _clear(e)
            if not ok:
                self.problems.append(f"{label}: {why}")
            else:
                self.examples.setdefault(label.split(":")[0], f"{type(e).__name__}: {str(e)[:140]}")
        else:
            self.problems.append(f"{label}: accepted without an error")
        self.probe.flush()
        if snapshot(self.storage) != before:
            self.problems.append(f"{label}: the storage changed")
        if (
            self.probe.params,
            self.probe.user_attrs,
            self.probe.intermediate_values,
        ) != probe_before:
            self.problems.append(f"{label}: the running trial changed")

    def expect_recorded(
        self,
        label: str,
        run: Callable[[hs.Study], Any],
        words: tuple[str, ...],
        raises: type[BaseException] | None = None,
    ) -> None:
        self.counts["recorded"] += 1
        study = self.study
        before = snapshot(self.storage)
        n0 = len(study.get_trials(deepcopy=False))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run(study)
        except BaseException as e:  # noqa: B036
            if raises is None or not isinstance(e, raises):
                self.problems.append(f"{label}: raised {type(e).__name__}: {str(e)[:120]}")
        else:
            if raises is not None:
                self.problems.append(f"{label}: did not re-raise {raises.__name__}")
        trials = study.get_trials(deepcopy=False)
        new = trials[n0:]
        if len(new) != 1 or new[0].state != hs.TrialState.FAIL:
            self.problems.append(
                f"{label}: expected one new FAIL trial, got {[t.state.name for t in new]}"
            )
        else:
            reason = new[0].fail_reason or ""
            if not any(w.lower() in reason.lower() for w in words):
                self.problems.append(f"{label}: fail_reason {reason!r} does not say {words}")
            else:
                self.examples.setdefault(label.split(":")[0], reason[:140])
        after = {s[0]: s for s in snapshot(self.storage)}
        before_d = {s[0]: s for s in before}
        me = study.study_name
        # the other studies, this study's attributes and its earlier trials are untouched
        if (
            {k: v for k, v in after.items() if k != me}
            != {k: v for k, v in before_d.items() if k != me}
            or after[me][:4] != before_d[me][:4]
            or after[me][4][:n0] != before_d[me][4][:n0]
        ):
            self.problems.append(f"{label}: earlier trials or the study changed")

    # -- the generators ---------------------------------------------------------------------------
    def suggest_bounds(self) -> None:
        r = self.rng
        if r.random() < 0.5:
            args, kw, what = _bad_float_bounds(r)
            self.expect_error(
                f"suggest_float: {what} {args} {kw}",
                lambda: self.probe.suggest_float(f"f{r.randrange(10**6)}", *args, **kw),
            )
        else:
            args, kw, what = _bad_int_bounds(r)
            self.expect_error(
                f"suggest_int: {what} {args} {kw}",
                lambda: self.probe.suggest_int(f"i{r.randrange(10**6)}", *args, **kw),
            )

    def suggest_other(self) -> None:
        r = self.rng
        k = r.randrange(4)
        if k == 0:
            choices, what = _bad_choices(r)
            self.expect_error(
                f"suggest_categorical: {what}",
                lambda: self.probe.suggest_categorical(f"c{r.randrange(10**6)}", choices),
            )
        elif k == 1:
            name = _bad_name(r)
            self.expect_error(
                f"suggest name: {name!r}", lambda: self.probe.suggest_float(name, 0, 1)
            )
        elif k == 2:  # "x" was suggested from [0, 1]: another range that excludes its value
            lo = r.uniform(2, 100)
            self.expect_error(
                "suggest: same name, disjoint range",
                lambda: self.probe.suggest_float("x", lo, lo + r.uniform(1, 10)),
            )
        else:
            step = r.choice([-1, 1.5, "a", None])
            self.expect_error(f"report: bad step {step!r}", lambda: self.probe.report(0.5, step))

    def attrs(self) -> None:
        r = self.rng
        k = r.randrange(4)
        value = r.choice([object(), {1, 2}, b"x", lambda: 0, complex(1, 2)])
        key = r.choice(["", None, 5])
        if k == 0:
            self.expect_error(
                "study.set_user_attr: non-JSON value", lambda: self.study.set_user_attr("k", value)
            )
        elif k == 1:
            self.expect_error(
                f"study.set_user_attr: key {key!r}", lambda: self.study.set_user_attr(key, 1)
            )
        elif k == 2:
            self.expect_error(
                "trial.set_user_attr: non-JSON value",
                lambda: (self.probe.set_user_attr("k", value), self.probe.flush()),
            )
        else:
            self.expect_error(
                "trial.report: non-number value",
                lambda: self.probe.report(
                    r.choice(["abc", None, [1], {}]), r.randrange(100, 10**6)
                ),
            )

    def optimize_args(self) -> None:
        r = self.rng
        good = {"n_trials": 1}
        bad = r.choice(
            [
                ("n_trials", r.choice([-1, "3", 1.5, True])),
                ("timeout", r.choice([0, -1.0, "10", NAN])),
                ("n_jobs", r.choice([0, -2, "2", 1.5])),
                ("catch", r.choice([[int], "ValueError", [ValueError()], 5])),
                ("retries", r.choice([-1, "2", 1.5, True])),
                ("heartbeat_interval", r.choice([0, -1, "x", NAN])),
                ("heartbeat_grace", r.choice([0, -5.0, "x"])),
                ("trial_timeout", r.choice([0, -1, "x"])),
                ("resources_per_trial", r.choice([{"cpu": -1}, {"gpu": "x"}, {"tpu": 1}, 5])),
            ]
        )
        kw = {**good, bad[0]: bad[1]}
        self.expect_error(
            f"optimize: {bad[0]}={bad[1]!r}",
            lambda: self.study.optimize(lambda t: t.suggest_float("x", 0, 1), **kw),
        )

    def bad_objective(self) -> None:
        r = self.rng
        obj = r.choice([None, 5, "objective", [lambda t: 0]])
        self.expect_error(
            f"optimize: objective {obj!r}", lambda: self.study.optimize(obj, n_trials=1)
        )

    def enqueue(self) -> None:
        r = self.rng
        params = r.choice(
            [
                None,
                "x=1",
                [("x", 1)],
                {"x": NAN},
                {"x": object()},
                {"": 1},
                {1: 2},
                {"x": {1, 2}},
                {"x": INF},
            ]
        )
        self.expect_error(f"enqueue_trial: {params!r}", lambda: self.scratch.enqueue_trial(params))

    def add_trial(self) -> None:
        r = self.rng
        case = r.choice(
            [
                ("value NaN", lambda: self.scratch.add_trial({"x": 0.1}, NAN)),
                ("value inf", lambda: self.scratch.add_trial({"x": 0.1}, -INF)),
                ("value a string", lambda: self.scratch.add_trial({"x": 0.1}, "1.0")),
                ("state RUNNING", lambda: self.scratch.add_trial({"x": 0.1}, 1.0, state="RUNNING")),
                ("state bogus", lambda: self.scratch.add_trial({"x": 0.1}, 1.0, state="DONE")),
                (
                    "param outside its distribution",
                    lambda: self.scratch.add_trial(
                        {"x": 5.0}, 1.0, distributions={"x": hs.FloatDistribution(0, 1)}
                    ),
                ),
                ("params not a dict", lambda: self.scratch.add_trial([("x", 1)], 1.0)),
                (
                    "two values for one objective",
                    lambda: self.scratch.add_trial({"x": 0.1}, [1.0, 2.0]),
                ),
            ]
        )
        self.expect_error(f"add_trial: {case[0]}", case[1])

    def tell_errors(self) -> None:
        r = self.rng
        done = self.study.get_trials([hs.TrialState.COMPLETE], deepcopy=False)[0].number
        case = r.choice(
            [
                ("tell: a finished trial", lambda: self.study.tell(done, 1.0)),
                ("tell: an unknown trial number", lambda: self.study.tell(10**6, 1.0)),
                ("tell: a string instead of a trial", lambda: self.study.tell("0", 1.0)),
                ("tell: state RUNNING", lambda: self.study.tell(self.probe, 1.0, state="RUNNING")),
                ("tell: state bogus", lambda: self.study.tell(self.probe, 1.0, state="FINISHED")),
            ]
        )
        self.expect_error(case[0], case[1])

    def studies(self) -> None:
        r = self.rng
        url = self.url
        name = f"never-{r.randrange(10**9)}"
        case = r.choice(
            [
                (
                    "create_study: bad direction",
                    lambda: hs.create_study(
                        name, url, direction=r.choice(["up", 5, "maximum", ""])
                    ),
                ),
                (
                    "create_study: bad directions",
                    lambda: hs.create_study(
                        name,
                        url,
                        directions=r.choice([[], "minimize", ["minimize", "sideways"], [None]]),
                    ),
                ),
                (
                    "create_study: direction and directions",
                    lambda: hs.create_study(
                        name, url, direction="minimize", directions=["minimize"]
                    ),
                ),
                ("create_study: bad name", lambda: hs.create_study(r.choice(["", "  ", 5]), url)),
                (
                    "create_study: bad storage",
                    lambda: hs.create_study(name, r.choice([123, "not a url", ["sqlite://"]])),
                ),
                ("create_study: existing name", lambda: hs.create_study("bad-inputs", url)),
                (
                    "create_study: existing name, other direction",
                    lambda: hs.create_study(
                        "bad-inputs", url, direction="maximize", load_if_exists=True
                    ),
                ),
                (
                    "create_study: sampler not a sampler",
                    lambda: hs.create_study(name, url, sampler="tpe"),
                ),
                (
                    "create_study: scheduler not a scheduler",
                    lambda: hs.create_study(name, url, scheduler="asha"),
                ),
                ("load_study: unknown name", lambda: hs.load_study(name, url)),
                ("load_study: bad name", lambda: hs.load_study(r.choice(["", None, 5]), url)),
                ("delete_study: unknown name", lambda: hs.delete_study(name, url)),
            ]
        )
        self.expect_error(case[0], case[1])

    def tune_args(self) -> None:
        r = self.rng
        name = f"never-tune-{r.randrange(10**9)}"

        def train(config):
            hs.report(loss=config["a"])

        space = {"a": hs.uniform(0, 1)}
        case = r.choice(
            [
                ("tune: no metric", dict(mode="min")),
                ("tune: bad mode", dict(metric="loss", mode=r.choice(["up", None, 1]))),
                (
                    "tune: bad num_samples",
                    dict(metric="loss", mode="min", num_samples=r.choice([0, -1, "2", 1.5])),
                ),
                (
                    "tune: bad max_concurrent",
                    dict(metric="loss", mode="min", max_concurrent=r.choice([0, -3, "2"])),
                ),
                (
                    "tune: bad time_budget_s",
                    dict(metric="loss", mode="min", time_budget_s=r.choice([0, -1, "9"])),
                ),
                ("tune: bad retries", dict(metric="loss", mode="min", retries=r.choice([-1, "1"]))),
                (
                    "tune: bad heartbeat_interval",
                    dict(metric="loss", mode="min", heartbeat_interval=r.choice([0, -2])),
                ),
                (
                    "tune: bad trial_timeout",
                    dict(metric="loss", mode="min", trial_timeout=r.choice([0, -1])),
                ),
                (
                    "tune: bad executor",
                    dict(metric="loss", mode="min", executor=r.choice(["nope", 5])),
                ),
                (
                    "tune: bad stop",
                    dict(metric="loss", mode="min", stop=r.choice([5, "loss", [1]])),
                ),
                (
                    "tune: resume without a name",
                    dict(metric="loss", mode="min", resume=True, name=None),
                ),
                ("tune: resume of an unknown study", dict(metric="loss", mode="min", resume=True)),
            ]
        )
        kw = {"name": name, **case[1]}
        self.expect_error(
            case[0], lambda: hs.tune(train, space, storage=self.url, show_progress_bar=False, **kw)
        )

    def domains(self) -> None:
        r = self.rng
        case = r.choice(
            [
                ("hs.uniform: low > high", lambda: hs.uniform(1.0, 0.0)),
                ("hs.loguniform: low <= 0", lambda: hs.loguniform(0.0, 1.0)),
                ("hs.randint: empty range", lambda: hs.randint(5, 5)),
                ("hs.choice: no choices", lambda: hs.choice([])),
                ("hs.uniform: NaN", lambda: hs.uniform(NAN, 1.0)),
                ("hs.grid: no values", lambda: hs.grid([])),
            ]
        )
        self.expect_error(case[0], case[1])

    # -- cases recorded as a FAIL trial -----------------------------------------------------------
    def objective_values(self) -> None:
        r = self.rng
        value, words = r.choice(
            [
                (NAN, ("nan",)),
                (INF, ("inf",)),
                (-INF, ("inf",)),
                ("0.5", ("str", "number")),
                (None, ("None",)),
                ([1.0, 2.0], ("2 value",)),
                (object(), ("number", "object")),
                ([], ("0 value",)),
                (True, ("bool",)),
            ]
        )

        def obj(t):
            t.suggest_float("x", 0, 1)
            return value

        self.expect_recorded(
            f"objective returned {value!r}", lambda s: s.optimize(obj, n_trials=1), words
        )

    def tell_values(self) -> None:
        r = self.rng
        value, words = r.choice(
            [
                (NAN, ("nan",)),
                (INF, ("inf",)),
                ("abc", ("str",)),
                (None, ("None",)),
                ([1.0, 2.0], ("2 value",)),
            ]
        )

        def run(s):
            t = s.ask()
            t.suggest_float("x", 0, 1)
            s.tell(t, value)

        self.expect_recorded(f"tell: value {value!r}", run, words)

    def user_exceptions(self) -> None:
        r = self.rng
        exc = r.choice(
            [
                ValueError("bad config"),
                KeyError("missing"),
                ZeroDivisionError("division by zero"),
                RuntimeError("boom"),
                MemoryError("out of memory"),
                RecursionError("too deep"),
                AssertionError("assertion"),
                type("CustomError", (Exception,), {})("custom"),
            ]
        )
        catch = r.random() < 0.5

        def obj(t):
            t.suggest_float("x", 0, 1)
            raise exc

        name = type(exc).__name__
        self.expect_recorded(
            f"objective raised {name} ({'caught' if catch else 'not caught'})",
            lambda s: s.optimize(obj, n_trials=1, catch=(Exception,) if catch else ()),
            (name,),
            raises=None if catch else type(exc),
        )

    def run(self, n: int) -> dict[str, Any]:
        gens = [
            self.suggest_bounds,
            self.suggest_bounds,
            self.suggest_other,
            self.attrs,
            self.optimize_args,
            self.bad_objective,
            self.enqueue,
            self.add_trial,
            self.tell_errors,
            self.studies,
            self.tune_args,
            self.domains,
            self.objective_values,
            self.tell_values,
            self.user_exceptions,
        ]
        for _ in range(n):
            self.rng.choice(gens)()
        # the probe trial still works after all that
        self.probe.suggest_int("k", 1, 5)
        self.study.tell(self.probe, 0.25)
        final_ok = (
            self.study.get_trials(deepcopy=False)[self.probe.number].state == hs.TrialState.COMPLETE
        )
        if not final_ok:
            self.problems.append("the probe trial could not be completed after the bad inputs")
        self.storage.close()
        return {
            "tried": sum(self.counts.values()),
            "counts": dict(self.counts),
            "problems": dedupe(self.problems),
            "n_problems": len(self.problems),
            "examples": self.examples,
        }


# -- the CLI cases ---------------------------------------------------------------------------------


def run_cli(url: str, n: int, rng: random.Random, objective: Path, tmp: Path) -> dict[str, Any]:
    """Random invalid ``hypersearch`` command lines, run in this process."""
    from hypersearch.cli import main
    from hypersearch.storage.sql import SQLStorage

    study = "cli-bad"
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(["--storage", url, "create-study", "--study", study]) == 0
        assert main(
            [
                "--storage",
                url,
                "optimize",
                "--study",
                study,
                "--objective",
                f"{objective}:objective",
                "--n-trials",
                "1",
                "--sampler",
                "random",
            ]
        ) in (0, 1)
    storage = SQLStorage(url)
    obj = f"{objective}:objective"
    missing_file = tmp / "no_such_objective.py"
    templates: list[tuple[str, list[str], list[str]]] = [
        # (name, argv after the storage, corruption kinds that apply)
        ("studies", ["studies"], ["storage", "option", "format"]),
        (
            "trials",
            ["trials", "--study", study],
            ["storage", "study", "option", "format", "state", "limit"],
        ),
        ("best-trial", ["best-trial", "--study", study], ["storage", "study", "option", "format"]),
        (
            "export",
            ["export", "--study", study, "--format", "json"],
            ["storage", "study", "option", "format"],
        ),
        (
            "delete-study",
            ["delete-study", "--study", study, "--yes"],
            ["storage", "study", "noyes", "option"],
        ),
        ("create-study", ["create-study", "--study", study], ["exists"]),
        (
            "create-study",
            ["create-study", "--study", f"{study}-new"],
            ["direction", "storage", "option"],
        ),
        (
            "optimize",
            [
                "optimize",
                "--study",
                study,
                "--objective",
                obj,
                "--n-trials",
                "1",
                "--sampler",
                "random",
            ],
            [
                "storage",
                "objective",
                "n_trials",
                "n_jobs",
                "sampler",
                "seed",
                "timeout",
                "direction_mismatch",
                "option",
                "retries",
                "heartbeat",
            ],
        ),
        (
            "worker",
            [
                "worker",
                "--study",
                study,
                "--objective",
                obj,
                "--n-trials",
                "1",
                "--sampler",
                "random",
            ],
            [
                "storage",
                "study",
                "objective",
                "n_trials",
                "n_jobs",
                "sampler",
                "seed",
                "timeout",
                "option",
                "retries",
                "heartbeat",
                "max_trials",
                "nostop",
            ],
        ),
    ]

    def corrupt(argv: list[str], kind: str) -> tuple[list[str], str | None]:
        a = list(argv)

        def set_opt(opt: str, value: str) -> None:
            if opt in a:
                a[a.index(opt) + 1] = value
            else:
                a.extend([opt, value])

        storage_url: str | None = None
        if kind == "storage":
            storage_url = rng.choice(
                [
                    "not-a-url",
                    "foo://bar",
                    f"sqlite:///{tmp}/no/such/dir/x.db",
                    "sqlite:",
                    "postgresql+nodriver://x/y",
                    "://",
                ]
            )
        elif kind == "study":
            set_opt("--study", rng.choice([f"no-such-study-{rng.randrange(10**6)}", "", "cli_bad"]))
        elif kind == "option":
            a.insert(
                rng.randrange(1, len(a) + 1),
                rng.choice(["--frobnicate", "--n-trails", "-Z", "--yes-please"]),
            )
        elif kind == "format":
            set_opt("--format", rng.choice(["xml", "yaml", "", "JSON5"]))
        elif kind == "state":
            a.extend(["--state", rng.choice(["DONE", "complete-ish", "7", ""])])
        elif kind == "limit":
            a.extend(["--limit", rng.choice(["0", "-3", "ten", "1.5"])])
        elif kind == "noyes":
            a.remove("--yes")
        elif kind == "exists":
            pass  # the study exists already
        elif kind == "direction":
            a.extend(["--direction", rng.choice(["up", "minimise", "", "maximum"])])
        elif kind == "direction_mismatch":
            a.extend(["--direction", "maximize"])
        elif kind == "objective":
            set_opt(
                "--objective",
                rng.choice(
                    [
                        f"{missing_file}:objective",
                        f"{objective}:no_such_function",
                        f"{objective}",
                        "no_such_module_xyz:f",
                        ":objective",
                        f"{objective}:",
                    ]
                ),
            )
        elif kind == "n_trials":
            set_opt("--n-trials", rng.choice(["0", "-1", "many", "1.5", ""]))
        elif kind == "n_jobs":
            set_opt("--n-jobs", rng.choice(["0", "-2", "two"]))
        elif kind == "sampler":
            set_opt("--sampler", rng.choice(["bayes", "TPE", "", "random "]))
        elif kind == "seed":
            set_opt("--seed", rng.choice(["-1", "x", "1.5"]))
        elif kind == "timeout":
            set_opt("--timeout", rng.choice(["0", "-5", "soon", "nan"]))
        elif kind == "retries":
            set_opt("--retries", rng.choice(["-1", "x"]))
        elif kind == "heartbeat":
            set_opt("--heartbeat-interval", rng.choice(["0", "-1", "x", "nan"]))
        elif kind == "max_trials":
            set_opt("--max-trials", rng.choice(["0", "-4", "x"]))
        elif kind == "nostop":
            i = a.index("--n-trials")
            del a[i : i + 2]
        return a, storage_url

    problems: list[str] = []
    examples: dict[str, str] = {}
    codes: dict[str, int] = {}
    extra = [["frobnicate"], ["--storage"], ["trials"], ["optimize", "--study", study]]
    for k in range(n):
        if k % 10 == 9:  # now and then a command line that is wrong as a whole
            argv, label = list(rng.choice(extra)), "whole"
            argv = ["--storage", url, *argv] if argv != ["--storage"] else argv
        else:
            name, base, kinds = rng.choice(templates)
            kind = rng.choice(kinds)
            body, bad_url = corrupt(base, kind)
            argv = ["--storage", bad_url or url, *body]
            label = f"{name}/{kind}"
        before = snapshot(storage)
        err, out = io.StringIO(), io.StringIO()
        with (
            contextlib.redirect_stderr(err),
            contextlib.redirect_stdout(out),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            try:
                code = main(argv)
            except BaseException as e:  # noqa: B036 - a traceback escaping main is a finding
                code = -1
                err.write(f"{type(e).__name__}: {e}")
        text = err.getvalue()
        codes[str(code)] = codes.get(str(code), 0) + 1
        if code not in (1, 2):
            problems.append(f"{label} {argv[2:]}: exit status {code}: {text.strip()[-160:]}")
        elif "Traceback" in text or "hypersearch: error:" not in text:
            problems.append(f"{label} {argv[2:]}: no one-line error: {text.strip()[-160:]}")
        else:
            line = [x for x in text.splitlines() if "error:" in x][-1]
            examples.setdefault(label.split("/")[-1], line[:160])
        if snapshot(storage) != before:
            problems.append(f"{label} {argv[2:]}: the storage changed")
    storage.close()
    return {
        "tried": n,
        "exit_codes": codes,
        "problems": dedupe(problems),
        "n_problems": len(problems),
        "examples": examples,
    }


def dedupe(problems: list[str]) -> list[str]:
    """One line per kind of problem (numbers and addresses folded), with a count."""
    seen: dict[str, list] = {}
    for p in problems:
        key = re.sub(r"0x[0-9a-f]+|-?\d+(\.\d+)?(e[-+]?\d+)?", "N", p)
        seen.setdefault(key, [p, 0])[1] += 1
    return [f"{p} (x{c})" if c > 1 else p for p, c in seen.values()]


def is_nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)
