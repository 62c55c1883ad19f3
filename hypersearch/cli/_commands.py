"""The subcommands.  Each ``cmd_*`` takes the parsed arguments and returns an exit code.

hypersearch's study and storage modules (and SQLAlchemy, through them) are
imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from hypersearch.cli._errors import EXIT_USAGE, CLIError, one_line
from hypersearch.cli._output import (
    dump_json,
    fmt_datetime,
    fmt_duration,
    fmt_number,
    fmt_param,
    fmt_params,
    fmt_values,
    record_fields,
    render_fields,
    render_table,
    truncate,
    write_csv,
)
from hypersearch.cli._parser import DEFAULT_STORAGE, STORAGE_ENV, TRIAL_STATES
from hypersearch.trial._json import trial_dict
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.storage.base import BaseStorage
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial

FAIL_REASON_WIDTH = 60


# -- storage and studies ------------------------------------------------------------------


def storage_url(args: argparse.Namespace) -> str:
    """``--storage``, else ``$HYPERSEARCH_STORAGE``, else the default SQLite file."""
    url = getattr(args, "storage", None) or os.environ.get(STORAGE_ENV, "").strip()
    return url or DEFAULT_STORAGE


def open_storage(url: str) -> BaseStorage:
    """The storage at ``url``, with its failures turned into :class:`CLIError`."""
    from hypersearch.exceptions import SchemaVersionError, StorageError
    from hypersearch.storage import get_storage

    try:
        return get_storage(url)
    except SchemaVersionError as e:
        raise CLIError(one_line(str(e))) from e
    except StorageError as e:  # cannot connect / open the file (after retrying)
        cause = getattr(e.__cause__, "orig", None) or e.__cause__ or e
        raise CLIError(f"cannot open storage {url!r}: {one_line(str(cause))}") from e
    except ValueError as e:  # not a URL at all
        raise CLIError(f"invalid storage URL: {one_line(str(e))}", EXIT_USAGE) from e
    except ImportError as e:  # e.g. no PostgreSQL driver
        raise CLIError(f"cannot open storage {url!r}: {one_line(str(e))}") from e
    except Exception as e:
        import sqlalchemy.exc as sa_exc

        if isinstance(e, sa_exc.ArgumentError):  # malformed URL, unknown database type
            raise CLIError(f"invalid storage URL {url!r}: {one_line(str(e))}", EXIT_USAGE) from e
        if isinstance(e, sa_exc.SQLAlchemyError):  # cannot connect / open the file
            orig = getattr(e, "orig", None)
            raise CLIError(f"cannot open storage {url!r}: {one_line(str(orig or e))}") from e
        raise


def _not_found(storage: BaseStorage, url: str, name: str) -> CLIError:
    import difflib

    msg = f"no study named {name!r} in {url}"
    try:
        names = [s.name for s in storage.list_studies()]
    except Exception:  # the hint is optional
        names = []
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        msg += f"; did you mean {close[0]!r}?"
    else:
        msg += " (see 'hypersearch studies')"
    return CLIError(msg)


def load(args: argparse.Namespace, keep_trials: bool = True, **kwargs: Any) -> Study:
    """The study ``--study`` of ``--storage`` (``CLIError`` when absent).  Commands
    that only read get a sampler that costs nothing to attach (the default one
    imports its models and replays the whole study).  ``keep_trials=False`` opens
    it without reading its finished trials (for commands that read a few trials or
    only the best one: O(unfinished trials) instead of O(study))."""
    from hypersearch.exceptions import StudyNotFoundError
    from hypersearch.samplers.base import ReadOnlySampler
    from hypersearch.study._study import load_study

    if "sampler" not in kwargs:
        kwargs["sampler"] = ReadOnlySampler()
        kwargs["sampler"].needs_finished_trials = keep_trials
    url = storage_url(args)
    storage = open_storage(url)
    try:
        return load_study(args.study, storage, **kwargs)
    except StudyNotFoundError:
        raise _not_found(storage, url, args.study) from None


# -- trials as rows / objects ---------------------------------------------------------------


def _duration_s(t: FrozenTrial) -> float | None:
    d = t.duration
    return None if d is None else d.total_seconds()


def trial_object(t: FrozenTrial, n_objectives: int) -> dict[str, Any]:
    """A trial as a JSON object (nested params and user attributes)."""
    return trial_dict(t, n_objectives)


def trials_table(trials: list[FrozenTrial], n_objectives: int) -> str:
    headers = ["NUMBER", "STATE", "VALUE" if n_objectives == 1 else "VALUES", "DURATION", "PARAMS"]
    with_reason = any(t.fail_reason for t in trials)
    if with_reason:
        headers.append("FAIL REASON")
    rows = []
    for t in trials:
        row = [t.number, t.state.name, fmt_values(t.values), fmt_duration(_duration_s(t))]
        row.append(fmt_params(t.params))
        if with_reason:
            row.append(truncate(t.fail_reason, FAIL_REASON_WIDTH) if t.fail_reason else "")
        rows.append(row)
    right = [0, 3] + ([2] if n_objectives == 1 else [])
    return render_table(headers, rows, right=right)


def _directions_text(study: Study) -> str:
    return ", ".join(d.name.lower() for d in study.directions)


def render_best(study: Study, fmt: str) -> str | None:
    """The best trial / Pareto front of ``study`` in ``fmt``; ``None`` when no trial
    has completed."""
    n = len(study.directions)
    if n == 1:
        study.history.refresh()
        t = study.history.best_trial
        if t is None:
            return None
        if fmt == "json":
            return _json_text(trial_object(t, 1))
        items: list[tuple[str, Any]] = [
            ("study", f"{study.study_name} ({_directions_text(study)})"),
            ("best trial", t.number),
            ("value", fmt_number(t.value)),
            ("params", [f"{k} = {fmt_param(v)}" for k, v in t.params.items()]),
        ]
        if t.user_attrs:
            items.append(("user attrs", [f"{k} = {fmt_param(v)}" for k, v in t.user_attrs.items()]))
        items += [
            ("started", fmt_datetime(t.datetime_start)),
            ("duration", fmt_duration(_duration_s(t))),
        ]
        return render_fields(items)
    front = study.best_trials
    if not front:
        return None
    if fmt == "json":
        return _json_text([trial_object(t, n) for t in front])
    head = (
        f"Pareto front of study {study.study_name!r} ({_directions_text(study)}): "
        f"{len(front)} trial{'s' if len(front) != 1 else ''}"
    )
    return head + "\n\n" + trials_table(front, n)


def _json_text(obj: Any) -> str:
    import io

    buf = io.StringIO()
    dump_json(obj, buf)
    return buf.getvalue().rstrip("\n")


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _note(text: str) -> None:
    sys.stderr.write(text + "\n")


def _no_completed(study: Study) -> CLIError:
    n = len(study.get_trials(deepcopy=False))
    done = study._storage.count_trials(study._study_id, [TrialState.COMPLETE])
    if done:
        return CLIError(
            f"study {study.study_name!r} has no feasible trial: all {done} completed trial"
            f"{'s' if done != 1 else ''} violate their constraints (see 'hypersearch trials')"
        )
    return CLIError(
        f"study {study.study_name!r} has no completed trial yet ({n} trial{'s' if n != 1 else ''} "
        "in total; see 'hypersearch trials')"
    )


# -- commands --------------------------------------------------------------------------------


def cmd_studies(args: argparse.Namespace) -> int:
    url = storage_url(args)
    summaries = open_storage(url).list_studies()
    objs = []
    for s in summaries:
        single = len(s.directions) == 1
        objs.append(
            {
                "name": s.name,
                "directions": [d.name.lower() for d in s.directions],
                "n_trials": s.n_trials,
                "state_counts": {st: s.state_counts.get(st, 0) for st in TRIAL_STATES},
                "best_value": s.best_values[0] if single and s.best_values else None,
                "datetime_start": s.datetime_start,
            }
        )
    if args.format == "json":
        dump_json(objs, sys.stdout)
    elif args.format == "csv":
        fields = ["name", "directions", "n_trials"]
        fields += [f"n_{st.lower()}" for st in TRIAL_STATES] + ["best_value", "datetime_start"]
        rows = []
        for o in objs:
            r = {k: o[k] for k in ("name", "n_trials", "best_value", "datetime_start")}
            r["directions"] = ",".join(o["directions"])
            r.update({f"n_{st.lower()}": c for st, c in o["state_counts"].items()})
            rows.append(r)
        write_csv(sys.stdout, rows, fields)
    elif not objs:
        _print(f"no studies in {url}")
    else:
        headers = ["NAME", "DIRECTIONS", "TRIALS", *TRIAL_STATES, "BEST", "STARTED"]
        rows = [
            [
                o["name"],
                ",".join(o["directions"]),
                o["n_trials"],
                *(o["state_counts"][st] for st in TRIAL_STATES),
                fmt_number(o["best_value"]),
                fmt_datetime(o["datetime_start"]),
            ]
            for o in objs
        ]
        _print(render_table(headers, rows, right=range(2, 3 + len(TRIAL_STATES) + 1)))
    return 0


def cmd_trials(args: argparse.Namespace) -> int:
    study = load(args, keep_trials=args.limit is None)
    if args.limit is not None:
        trials = _first_trials(study, args.state, args.limit)
    else:
        trials = study.get_trials(args.state, deepcopy=False)
    n = len(study.directions)
    if args.format == "json":
        dump_json([trial_object(t, n) for t in trials], sys.stdout)
    elif args.format == "csv":
        from hypersearch.study._study import trials_to_records

        records = trials_to_records(trials, study.directions)
        write_csv(sys.stdout, records, record_fields(records) or ["number", "state"])
    elif not trials:
        which = f" in state {' or '.join(args.state)}" if args.state else ""
        _print(f"study {study.study_name!r} has no trials{which}")
    else:
        _print(trials_table(trials, n))
    return 0


def _first_trials(study: Study, states: list[str] | None, limit: int) -> list[FrozenTrial]:
    """The first ``limit`` trials (in ``states``) by number, read in chunks of trial
    numbers, so that listing a few trials of a large study reads a few rows."""
    from hypersearch.storage.base import _MAX_NUMBER


    sset = None if states is None else [TrialState.parse(x) for x in states]
    total = len(study.history.trials)
    out: list[FrozenTrial] = []
    start, chunk = 0, min(max(limit, 100), 500)
    while len(out) < limit and start < total:
        stop = min(start + chunk, total)
        out += study._storage.get_trials(
            study._study_id, after_number=_MAX_NUMBER, numbers=range(start, stop), states=sset
        )
        start, chunk = stop, min(chunk * 4, 500)  # bound parameters per query stay few
    return out[:limit]


def cmd_best_trial(args: argparse.Namespace) -> int:
    study = load(args, keep_trials=False)
    text = render_best(study, args.format)
    if text is None:
        raise _no_completed(study)
    _print(text)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from hypersearch.study._study import trials_to_records

    fmt = args.format
    if fmt is None:
        fmt = "json" if args.output and args.output.lower().endswith(".json") else "csv"
    study = load(args)
    records = trials_to_records(study.get_trials(deepcopy=False), study.directions)

    def write(out) -> None:
        if fmt == "json":
            doc = {
                "study": study.study_name,
                "directions": [d.name.lower() for d in study.directions],
                "trials": records,
            }
            dump_json(doc, out)
        else:
            fields = record_fields(records)
            if not fields:  # no trial: still give the fixed header
                fields = ["number", "state"]
                fields += (
                    ["value"]
                    if len(study.directions) == 1
                    else [f"values_{i}" for i in range(len(study.directions))]
                )
                fields += ["datetime_start", "datetime_complete", "duration_s"]
            write_csv(out, records, fields)

    if args.output is None or args.output == "-":
        write(sys.stdout)
        return 0
    try:
        with open(args.output, "w", newline="", encoding="utf-8") as f:
            write(f)
    except OSError as e:
        raise CLIError(f"cannot write {args.output!r}: {e.strerror or e}") from e
    _note(
        f"exported {len(records)} trial{'s' if len(records) != 1 else ''} of study "
        f"{study.study_name!r} to {args.output} ({fmt})"
    )
    return 0


def cmd_delete_study(args: argparse.Namespace) -> int:
    from hypersearch.exceptions import StudyNotFoundError

    url = storage_url(args)
    storage = open_storage(url)
    try:
        info = storage.get_study(args.study)
    except StudyNotFoundError:
        raise _not_found(storage, url, args.study) from None
    n = storage.count_trials(info.study_id)
    trials = f"{n} trial{'s' if n != 1 else ''}"
    if not args.yes:
        raise CLIError(
            f"refusing to delete study {args.study!r} ({trials}) without --yes; "
            "deleting cannot be undone",
            EXIT_USAGE,
        )
    storage.delete_study(info.study_id)
    _print(f"deleted study {args.study!r} ({trials})")
    return 0


def _directions_arg(args: argparse.Namespace) -> tuple[str | None, list[str] | None]:
    return args.direction, args.directions


def cmd_create_study(args: argparse.Namespace) -> int:
    from hypersearch.exceptions import DuplicatedStudyError
    from hypersearch.study._study import create_study

    url = storage_url(args)
    storage = open_storage(url)
    direction, directions = _directions_arg(args)
    try:
        study = create_study(
            args.study,
            storage,
            direction,
            directions=directions,
            load_if_exists=args.skip_if_exists,
        )
    except DuplicatedStudyError:
        raise CLIError(
            f"a study named {args.study!r} already exists in {url} "
            "(pass --skip-if-exists to accept an existing study)"
        ) from None
    _print(study.study_name)
    return 0


def _make_sampler(args: argparse.Namespace, module) -> Any:
    from hypersearch import samplers
    from hypersearch.samplers import GridSampler, QMCSampler, RandomSampler

    named = {"auto": "AutoSampler", "tpe": "TPESampler", "gp": "GPSampler"}
    if args.sampler in named:
        return getattr(samplers, named[args.sampler])(seed=args.seed)
    if args.sampler == "grid":
        from hypersearch.cli._objective import grid_space

        return GridSampler(grid_space(module, args.objective), seed=args.seed)
    if args.sampler == "qmc":
        return QMCSampler(seed=args.seed)
    return RandomSampler(seed=args.seed)


def cmd_optimize(args: argparse.Namespace) -> int:
    from hypersearch.cli._objective import load_objective
    from hypersearch.exceptions import StudyNotFoundError
    from hypersearch.study._study import create_study, load_study

    if args.n_trials is None and args.timeout is None and args.sampler != "grid":
        raise CLIError(
            "optimize needs --n-trials or --timeout (or both) to know when to stop", EXIT_USAGE
        )
    url = storage_url(args)
    storage = open_storage(url)
    objective, module = load_objective(args.objective)
    sampler = _make_sampler(args, module)
    direction, directions = _directions_arg(args)

    created = False
    try:
        info = storage.get_study(args.study)
    except StudyNotFoundError:
        info = None
    if info is None or direction is not None or directions is not None:
        # create, or check the requested directions against the existing study
        created = info is None
        study = create_study(
            args.study,
            storage,
            direction,
            directions=directions,
            sampler=sampler,
            load_if_exists=True,
        )
    else:
        study = load_study(args.study, storage, sampler=sampler)
    if created:
        _note(f"created study {args.study!r} ({_directions_text(study)}) in {url}")

    _run_trials(study, objective, args)
    text = render_best(study, args.format)
    if text is None:
        raise _no_completed(study)
    _print(text)
    return 0


def _run_trials(study: Study, objective: Any, args: argparse.Namespace, extra_callbacks=()) -> list[FrozenTrial]:
    """Run ``study.optimize`` as the CLI options say; turn the objective's own
    exception into a one-line error; print what ran."""
    ran: list[FrozenTrial] = []
    failure: dict[str, Any] = {}
    executor = getattr(args, "executor", None)

    def run(trial):
        try:
            return objective(trial)
        except BaseException as e:  # remember which exceptions came from the objective
            failure.setdefault("error", (trial.number, e))
            raise

    # in-process: wrapped to tell the objective's exceptions apart; in workers the
    # objective's exceptions come back as they are
    target = run if (args.n_jobs == 1 and executor is None) or executor == "thread" else objective
    try:
        study.optimize(
            target,
            n_trials=args.n_trials,
            timeout=args.timeout,
            n_jobs=args.n_jobs,
            catch=(Exception,) if args.catch else (),
            callbacks=[lambda _study, frozen: ran.append(frozen), *extra_callbacks],
            show_progress_bar=args.progress_bar,
            executor=executor,
            retries=getattr(args, "retries", 0),
            heartbeat_interval=getattr(args, "heartbeat_interval", 30.0),
        )
    except Exception as e:
        number, err = failure.get("error", (None, None))
        if err is not e and not (target is objective and not isinstance(e, CLIError)):
            raise
        where = f" in trial {number}" if number is not None else ""
        raise CLIError(
            f"the objective raised {type(e).__name__}{where}: {one_line(str(e))} "
            "(the trial is recorded as FAIL; pass --catch to go on after failing trials, "
            "--traceback to see where it was raised)"
        ) from e

    counts: dict[str, int] = {}
    for t in ran:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    detail = ", ".join(f"{c} {s.lower()}" for s, c in sorted(counts.items()))
    total = len(study.get_trials(deepcopy=False))
    _note(
        f"study {study.study_name!r}: ran {len(ran)} trial{'s' if len(ran) != 1 else ''}"
        f"{f' ({detail})' if detail else ''}; {total} in total"
    )
    return ran


def cmd_worker(args: argparse.Namespace) -> int:
    """Join a study as one of many workers sharing its storage."""
    from hypersearch.cli._objective import load_objective
    from hypersearch.exceptions import StudyNotFoundError
    from hypersearch.study._study import load_study


    if args.n_trials is None and args.timeout is None and args.max_trials is None:
        raise CLIError(
            "worker needs --n-trials, --timeout or --max-trials to know when to stop", EXIT_USAGE
        )
    url = storage_url(args)
    storage = open_storage(url)
    objective, module = load_objective(args.objective)
    sampler = _make_sampler(args, module)
    try:
        study = load_study(args.study, storage, sampler=sampler)
    except StudyNotFoundError:
        raise CLIError(
            f"no study {args.study!r} in {url}; create it first ('hypersearch create-study "
            f"--study {args.study}') so that every worker joins the same study"
        ) from None
    extra = []
    if args.max_trials is not None:
        done_states = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING]
        started = storage.count_trials(study._study_id, done_states)
        if started >= args.max_trials:
            _note(f"study {args.study!r} already has {args.max_trials} trials; nothing to do")
            return 0
        # This worker never starts more than the study still lacks (its --n-jobs slots
        # would otherwise all start before the first finished trial is counted).
        left = args.max_trials - started
        args.n_trials = left if args.n_trials is None else min(args.n_trials, left)

        def enough(st, _frozen) -> None:  # the study-wide budget of the whole fleet
            # The study as of this worker's last ask (no extra query per trial): other
            # workers' newest trials show at the next ask, hence the documented
            # overshoot of at most one trial per slot of the other workers.
            if st.history.n_started() >= args.max_trials:
                st.stop()

        extra.append(enough)
    _run_trials(study, objective, args, extra)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from hypersearch.reporting import write_report

    study = load(args)
    path = write_report(study, args.output)
    _note(f"report of study {study.study_name!r} ({len(study.get_trials(deepcopy=False))} trials) written to {path}")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    import os

    from hypersearch.dashboard import serve

    url = storage_url(args)
    storage = open_storage(url)
    token = args.token or os.environ.get("HYPERSEARCH_DASHBOARD_TOKEN") or None
    serve(storage, host=args.host, port=args.port, token=token, refresh_interval=args.refresh)
    return 0


COMMANDS = {
    "studies": cmd_studies,
    "trials": cmd_trials,
    "best_trial": cmd_best_trial,
    "export": cmd_export,
    "delete_study": cmd_delete_study,
    "create_study": cmd_create_study,
    "optimize": cmd_optimize,
    "worker": cmd_worker,
    "report": cmd_report,
    "dashboard": cmd_dashboard,
}
