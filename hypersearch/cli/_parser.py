"""The argparse command line (standard library only, so ``--help`` stays fast)."""

from __future__ import annotations

import argparse
import textwrap

from hypersearch.cli._errors import CLIUsageError

PROG = "hypersearch"
DEFAULT_STORAGE = "sqlite:///hypersearch.db"
STORAGE_ENV = "HYPERSEARCH_STORAGE"
TRIAL_STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING", "PAUSED")
DIRECTIONS = ("minimize", "maximize")
SAMPLERS = ("auto", "tpe", "gp", "random", "grid", "qmc")

_STORAGE_HELP = (
    "database URL of the studies, e.g. sqlite:///hs.db or postgresql://user@host/db "
    f"(default: ${STORAGE_ENV} if set, else {DEFAULT_STORAGE})"
)
_TRACEBACK_HELP = "on an error, print the full Python traceback (for debugging)"


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions paragraph by paragraph; paragraphs with indented lines
    (examples) are printed as written."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out = []
        for par in text.split("\n\n"):
            if any(line.startswith(" ") for line in par.splitlines()):
                out.append("\n".join(indent + line for line in par.splitlines()))
            else:
                out.append(
                    textwrap.fill(
                        " ".join(par.split()),
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                    )
                )
        return "\n\n".join(out)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        # argparse measures subcommand names one indent short, which pushes the help
        # of 'delete-study' and 'create-study' to the next line; measure them again.
        if action.help is argparse.SUPPRESS or not hasattr(action, "_get_subactions"):
            return
        indent = self._current_indent + 2 * self._indent_increment
        for sub in action._get_subactions():
            width = len(self._format_action_invocation(sub)) + indent
            self._action_max_length = max(self._action_max_length, width)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become one ``hypersearch: error:`` line."""

    def error(self, message: str):  # type: ignore[override]
        raise CLIUsageError(f"{message} (see '{self.prog} --help')")


# -- argument types ------------------------------------------------------------------


def _port(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _n_jobs(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1 and v != -1:
        raise argparse.ArgumentTypeError(f"expected a positive integer or -1, got {text!r}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def _non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return v


_seed = _non_negative_int


def _state(text: str) -> str:
    v = text.strip().upper()
    if v not in TRIAL_STATES:
        raise argparse.ArgumentTypeError(
            f"unknown trial state {text!r}; expected one of {', '.join(TRIAL_STATES)}"
        )
    return v


def _direction(text: str) -> str:
    v = text.strip().lower()
    v = {"min": "minimize", "max": "maximize"}.get(v, v)
    if v not in DIRECTIONS:
        raise argparse.ArgumentTypeError(f"expected 'minimize' or 'maximize', got {text!r}")
    return v


# -- the parser ------------------------------------------------------------------------------


def _add_execution(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=("process", "thread"), default=None,
                   help="where trials run when --n-jobs > 1: worker processes (default) or threads")
    p.add_argument("--retries", type=_non_negative_int, default=0, metavar="R",
                   help="queue a trial whose worker died again, up to R times (default: 0)")
    p.add_argument("--heartbeat-interval", type=_positive_float, default=30.0, metavar="SECONDS",
                   help="seconds between heartbeats of running trials; trials of any worker "
                   "silent for 4 intervals are failed (default: 30)")


def _add_study(p: argparse.ArgumentParser, required: bool = True, help: str | None = None) -> None:
    p.add_argument(
        "--study",
        "-s",
        metavar="NAME",
        required=required,
        help=help or "name of the study",
    )


def _add_format(p: argparse.ArgumentParser, choices: tuple[str, ...], default: str | None) -> None:
    extra = f" (default: {default})" if default else ""
    p.add_argument(
        "--format",
        "-f",
        choices=choices,
        default=default,
        help=f"output format: {', '.join(choices)}{extra}",
    )


def _add_directions(p: argparse.ArgumentParser, what: str) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--direction",
        type=_direction,
        metavar="{minimize,maximize}",
        help=f"direction of a single-objective study {what} (default: minimize)",
    )
    g.add_argument(
        "--directions",
        type=_direction,
        nargs="+",
        metavar="DIR",
        help=f"one direction (minimize or maximize) per objective, for a multi-objective study {what}",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``hypersearch`` argument parser with all its subcommands."""
    from hypersearch import __version__

    common = _Parser(add_help=False)
    g = common.add_argument_group("global options")
    # SUPPRESS: a value given before the subcommand is kept unless repeated after it.
    g.add_argument("--storage", metavar="URL", default=argparse.SUPPRESS, help=_STORAGE_HELP)
    g.add_argument(
        "--traceback", action="store_true", default=argparse.SUPPRESS, help=_TRACEBACK_HELP
    )

    parser = _Parser(
        prog=PROG,
        formatter_class=_Formatter,
        description="Inspect and run hypersearch studies stored in a database.",
        epilog=(
            "examples:\n"
            "  hypersearch studies --storage sqlite:///hs.db\n"
            "  hypersearch trials --study demo --state COMPLETE --limit 20\n"
            "  hypersearch optimize --study demo --objective train.py:objective --n-trials 50\n"
            "  hypersearch export --study demo --format csv -o demo.csv\n"
            "\n"
            f"The storage URL is taken from --storage, else ${STORAGE_ENV}, else {DEFAULT_STORAGE}.\n\n"
            "Exit status: 0 on success, 1 on a runtime error (e.g. unknown study), "
            "2 on a usage error (e.g. a missing option or a malformed URL)."
        ),
    )
    parser.add_argument("--storage", metavar="URL", default=None, help=_STORAGE_HELP)
    parser.add_argument("--traceback", action="store_true", default=False, help=_TRACEBACK_HELP)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        title="commands",
        help="run 'hypersearch COMMAND --help' for its options",
    )

    def add(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help,
            description=description,
            parents=[common],
            formatter_class=_Formatter,
        )

    # studies
    p = add(
        "studies",
        "list the studies in the storage",
        "List every study in the storage: name, directions, number of trials, trials per "
        "state, best value (single-objective studies) and start time.",
    )
    _add_format(p, ("table", "json", "csv"), "table")
    p.set_defaults(handler="studies")

    # trials
    p = add(
        "trials",
        "show the trials of a study",
        "Show the trials of a study, ordered by number: state, objective value(s), "
        "duration, parameters and, for failed trials, why they failed.\n\n"
        "The json format gives one object per trial with nested params and user_attrs; "
        "the csv format gives the flat columns of 'export'.",
    )
    _add_study(p)
    p.add_argument(
        "--state",
        type=_state,
        action="append",
        metavar="STATE",
        help=(
            "show only trials in this state (COMPLETE, PRUNED, FAIL, RUNNING, WAITING or PAUSED; "
            "any case); repeat the option for several states"
        ),
    )
    p.add_argument(
        "--limit",
        "-n",
        type=_positive_int,
        metavar="N",
        help="show at most the first N matching trials (by trial number)",
    )
    _add_format(p, ("table", "json", "csv"), "table")
    p.set_defaults(handler="trials")

    # best-trial
    p = add(
        "best-trial",
        "show the best trial (or the Pareto front) of a study",
        "Show the best COMPLETE trial of a single-objective study, or the Pareto front "
        "(the trials no other trial dominates) of a multi-objective study.",
    )
    _add_study(p)
    _add_format(p, ("table", "json"), "table")
    p.set_defaults(handler="best_trial")

    # export
    p = add(
        "export",
        "export every trial of a study as CSV or JSON",
        "Write every trial of a study as flat records (number, state, value(s), times, "
        "duration_s, params_*, user_attrs_*, fail_reason).  CSV has one row per trial; "
        "JSON is an object with the study name, its directions and the list of trials, "
        "with times as ISO 8601 strings.",
    )
    _add_study(p)
    _add_format(p, ("csv", "json"), None)
    p.epilog = "The format defaults to json when FILE ends in .json, else csv."
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="file to write (default: standard output); an existing file is overwritten",
    )
    p.set_defaults(handler="export")

    # delete-study
    p = add(
        "delete-study",
        "delete a study and all its trials",
        "Delete a study with all its trials.  This cannot be undone, so --yes is required.",
    )
    _add_study(p)
    p.add_argument(
        "--yes", "-y", action="store_true", help="confirm the deletion (required; nothing is asked)"
    )
    p.set_defaults(handler="delete_study")

    # create-study
    p = add(
        "create-study",
        "create a new, empty study",
        "Create an empty study and print its name (a name is generated when --study is omitted).",
    )
    _add_study(p, required=False, help="name of the new study (default: a generated name)")
    _add_directions(p, "")
    p.add_argument(
        "--skip-if-exists",
        action="store_true",
        help="succeed without changes when a study of that name (and directions) exists",
    )
    p.set_defaults(handler="create_study")

    # optimize
    p = add(
        "optimize",
        "run trials of an objective function",
        "Run trials of an objective function in a study, then print the best trial (or the "
        "Pareto front).  The study is created when it does not exist; when it does, the new "
        "trials are added to it.\n\n"
        "The objective is 'package.module:function' (imported; the current directory is on "
        "the import path) or 'path/to/file.py:function' (loaded from the file).  It takes "
        "a trial and returns a number (or one number per objective).\n\n"
        "With --sampler grid, the objective's module must define a module-level dict:\n\n"
        "  GRID_SPACE = {'param': [values, ...], ...}",
    )
    _add_study(p)
    p.add_argument(
        "--objective",
        required=True,
        metavar="MODULE:FUNCTION",
        help="the objective, 'pkg.module:function' or 'path/to/file.py:function'",
    )
    p.add_argument(
        "--n-trials",
        type=_positive_int,
        metavar="N",
        help="number of trials to run (at least one of --n-trials and --timeout is required, "
        "except with --sampler grid, which stops when the grid is done)",
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="start no new trial after this many seconds",
    )
    p.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=1,
        metavar="K",
        help="trials run at once (worker processes unless --executor thread; -1: one per CPU; default: 1)",
    )
    _add_directions(p, "created by this command (checked against an existing study)")
    p.add_argument(
        "--sampler",
        choices=SAMPLERS,
        default="auto",
        help="search strategy: auto (the default sampler: GP for small flat spaces, TPE "
        "otherwise), tpe, gp, random search, grid search over GRID_SPACE, or quasi-Monte "
        "Carlo (Sobol) search (default: auto)",
    )
    p.add_argument(
        "--seed", type=_seed, metavar="S", help="seed of the sampler, for reproducible runs"
    )
    p.add_argument(
        "--create",
        action="store_true",
        help="create the study if it does not exist (also the default; accepted for "
        "explicit scripts)",
    )
    p.add_argument(
        "--catch",
        action="store_true",
        help="when the objective raises an exception, record the trial as FAIL and go on "
        "(default: stop at the first such exception)",
    )
    p.add_argument(
        "--progress-bar",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: only when stderr is a terminal)",
    )
    _add_format(p, ("table", "json"), "table")
    _add_execution(p)
    p.set_defaults(handler="optimize")

    # worker
    p = add(
        "worker",
        "join a study as one of many workers",
        "Run trials of an objective in an existing study, as one of any number of workers "
        "(on this or other machines) that share the study's storage; they coordinate only "
        "through it.  Start as many as you like:\n\n"
        "  hypersearch create-study --storage postgresql://db/hs --study s\n"
        "  hypersearch worker --storage postgresql://db/hs --study s --objective mod:fn "
        "--max-trials 500\n\n"
        "A worker whose process or machine dies leaves its trial RUNNING until the other "
        "workers see its heartbeat stop; it is then failed (and, with --retries, queued "
        "again).",
    )
    _add_study(p)
    p.add_argument("--objective", required=True, metavar="MODULE:FUNCTION",
                   help="the objective, 'pkg.module:function' or 'path/to/file.py:function'")
    p.add_argument("--n-trials", type=_positive_int, metavar="N", help="trials this worker runs")
    p.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                   help="this worker starts no new trial after this many seconds")
    p.add_argument("--max-trials", type=_positive_int, metavar="N",
                   help="stop once the study holds N started trials, counting every worker's "
                   "(the fleet's budget; workers running at the same time may overshoot it by "
                   "one trial per --n-jobs slot of the others)")
    p.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="K",
                   help="trials this worker runs at once (default: 1)")
    p.add_argument("--sampler", choices=SAMPLERS, default="auto", help="search strategy (default: auto)")
    p.add_argument("--seed", type=_seed, metavar="S", help="seed of the sampler")
    p.add_argument("--catch", action="store_true",
                   help="record trials whose objective raises as FAIL and go on")
    p.add_argument("--progress-bar", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: only when stderr is a terminal)")
    _add_execution(p)
    p.set_defaults(handler="worker")

    # report
    p = add(
        "report",
        "write an HTML report of a study",
        "Write one self-contained HTML file (it opens offline) with the study's summary, "
        "best configuration or Pareto front, every plot that applies and the trial table.  "
        "Needs the viz extra: pip install 'hypersearch[viz]'.",
    )
    _add_study(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    p.set_defaults(handler="report")

    # dashboard
    p = add(
        "dashboard",
        "serve a live web dashboard of the storage",
        "Serve a read-only web dashboard of every study in the storage: study list, live "
        "trial table, plots and trial details; it keeps up while other processes write to "
        "the storage.  Binds to 127.0.0.1 unless --host says otherwise; any other address "
        "needs --token.  Needs the dashboard extra: pip install 'hypersearch[dashboard]'.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8080, help="port (default: 8080; 0 takes a free one)")
    p.add_argument("--token", default=None, metavar="TOKEN",
                   help="access token every request must carry (required off loopback); "
                   "default: $HYPERSEARCH_DASHBOARD_TOKEN")
    p.add_argument("--refresh", type=_positive_float, default=2.0, metavar="SECONDS",
                   help="seconds between the page's polls for new trials (default: 2)")
    p.set_defaults(handler="dashboard")

    return parser
