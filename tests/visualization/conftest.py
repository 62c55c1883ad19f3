"""Small studies with known contents, and helpers that look at rendered images.

The studies are session-scoped (plots only read them) to keep the folder fast.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import math
from pathlib import Path

import numpy as np
import pytest

import hypersearch as hs

#: The optional plotting libraries (``hypersearch[viz]``) this machine lacks.
MISSING = [m for m in ("plotly", "matplotlib") if importlib.util.find_spec(m) is None]


def pytest_collection_modifyitems(config, items):
    """Skip this folder's tests, visibly, where the viz extra is not installed
    (the test that the package imports without them still runs)."""
    if not MISSING:
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"needs {', '.join(MISSING)}: pip install 'hypersearch[viz]'")
    for item in items:
        if here in Path(str(item.fspath)).parents and "does_not_import" not in item.name:
            item.add_marker(skip)

N_TRIALS = 16
FAILED = {4, 9, 14}  # number % 5 == 4: raise ValueError before reporting
PRUNED = {3, 7, 11, 15}  # number % 4 == 3 (and not failed): pruned at step 2
COMPLETE = sorted(set(range(N_TRIALS)) - FAILED - PRUNED)


def objective(trial: hs.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    opt = trial.suggest_categorical("opt", ["sgd", "adam"])
    n = trial.suggest_int("n", 1, 8)
    value = (x - 1) ** 2 + abs(math.log10(lr) + 2) + (0.5 if opt == "sgd" else 0.0) + 0.1 * n
    if trial.number % 5 == 4:
        raise ValueError(f"boom in trial {trial.number}")
    for step in range(4):
        trial.report(value + (4 - step), step)
        if trial.number % 4 == 3 and step == 2:
            raise hs.TrialPruned()
    return value


@pytest.fixture(scope="session")
def study() -> hs.Study:
    """16 trials of a 4-parameter objective (float, log float, categorical, int):
    3 failed, 4 pruned after reporting steps 0-2, 9 complete with steps 0-3."""
    s = hs.create_study(study_name="viz-main", sampler=hs.samplers.RandomSampler(seed=0))
    s.optimize(objective, n_trials=N_TRIALS, catch=(ValueError,))
    states = {t.number: t.state for t in s.trials}
    assert sorted(n for n, st in states.items() if st == hs.TrialState.COMPLETE) == COMPLETE
    return s


@pytest.fixture(scope="session")
def empty_study() -> hs.Study:
    return hs.create_study(study_name="viz-empty")


@pytest.fixture(scope="session")
def mo_study() -> hs.Study:
    """Two objectives (minimize x, maximize sqrt(x) + y): a real trade-off."""
    s = hs.create_study(study_name="viz-mo", directions=["minimize", "maximize"],
                        sampler=hs.samplers.RandomSampler(seed=0))
    s.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("x", 0, 1) ** 0.5 + t.suggest_float("y", 0, 1)),
               n_trials=20)
    return s


def _frozen(values, params, *, constraints=None, start=None, seconds=1.0, state=hs.TrialState.COMPLETE,
           worker=None, fail_reason=None, intermediate=None, user_attrs=None, system_attrs=None):
    """A finished trial to record with ``study.add_trial``."""
    system = dict(system_attrs or {})
    if constraints is not None:
        system["constraints"] = list(constraints)
    if worker is not None:
        system["worker"] = worker
    if fail_reason is not None:
        system["fail_reason"] = fail_reason
    start_dt = None if start is None else dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=start)
    return hs.FrozenTrial(
        number=-1, state=state, values=None if values is None else list(values), params=dict(params),
        distributions={k: hs.FloatDistribution(-100, 100) for k in params if isinstance(params[k], float)},
        intermediate_values=dict(intermediate or {}), user_attrs=dict(user_attrs or {}), system_attrs=system,
        datetime_start=start_dt,
        datetime_complete=None if start_dt is None else start_dt + dt.timedelta(seconds=seconds),
    )


@pytest.fixture(scope="session")
def make_trial():
    """``make_trial(values, params, constraints=..., start=seconds, worker=..., ...)``:
    a finished FrozenTrial to record with ``study.add_trial`` (times from
    2024-01-01 00:00 UTC + ``start`` seconds, lasting ``seconds``)."""
    return _frozen


@pytest.fixture(scope="session")
def record_trial():
    """``record_trial(study, frozen)``: store a finished trial with its own start and
    completion times (``Study.add_trial`` stamps them with "now"), straight
    through the study's storage."""

    def record(study: hs.Study, trial: hs.FrozenTrial) -> None:
        study._storage.add_trial(study._study_id, trial)
        study.history.refresh()

    return record


# -- looking at rendered matplotlib figures --------------------------------------------------


def _render_png(fig) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.image import imread

    FigureCanvasAgg(fig)  # a Figure made without pyplot gets its canvas here
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    buf.seek(0)
    return imread(buf)[..., :3]  # float RGB in [0, 1]


def _mask(img: np.ndarray, hex_color: str, tol: float = 0.09) -> np.ndarray:
    rgb = np.array([int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.all(np.abs(img - rgb) <= tol, axis=-1)


def _regions(mask: np.ndarray) -> int:
    from scipy import ndimage

    _, n = ndimage.label(mask)
    return int(n)


@pytest.fixture
def png():
    """``png(fig) -> H x W x 3`` float array of the figure rendered with Agg."""
    return _render_png


@pytest.fixture
def pixels():
    """``pixels(img, "#rrggbb") -> number of pixels of about that colour``."""
    return lambda img, color, tol=0.09: int(_mask(img, color, tol).sum())


@pytest.fixture
def regions():
    """``regions(img, "#rrggbb") -> number of connected blobs of about that colour``."""
    return lambda img, color, tol=0.09: _regions(_mask(img, color, tol))


@pytest.fixture
def svg():
    def render(fig) -> str:
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
        return buf.getvalue()

    return render
