"""Learning-rate schedules: closed forms, checks, and agreement with PyTorch's schedulers."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys

import pytest

from hypersearch import training as tr


def torch_lrs(make_scheduler, n, lr=0.1, momentum=0.9):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum)
    sched = make_scheduler(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def assert_close(ours, theirs, rel=1e-6, abs_=1e-12):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == pytest.approx(b, rel=rel, abs=abs_), f"step {i}: {a} != {b}"


# -- closed forms ---------------------------------------------------------------------------


def test_constant_step_exponential():
    assert tr.constant(0.1).values(3) == [0.1, 0.1, 0.1]
    s = tr.step_decay(1.0, step_size=3, gamma=0.5)
    assert s.values(7) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    e = tr.exponential(2.0, 0.5)
    assert e(0) == 2.0 and e(3) == 0.25 and e(1.5) == pytest.approx(2 * 0.5**1.5)


def test_cosine_annealing_endpoints_and_hold():
    s = tr.cosine_annealing(1.0, total_steps=10, min_lr=0.1)
    assert s(0) == 1.0
    assert s(5) == pytest.approx(0.55)
    assert s(10) == pytest.approx(0.1) and s(1000) == pytest.approx(0.1)  # held, no wrap-around
    vals = s.values(11)
    assert all(a >= b for a, b in zip(vals, vals[1:], strict=False))


def test_cosine_warm_restarts_fill_the_horizon():
    s = tr.cosine_annealing(1.0, total_steps=70, restarts=2, cycle_mult=2)
    assert s.first_cycle == pytest.approx(10)
    for start in (0, 10, 30):  # cycles of 10, 20 and 40 steps
        assert s(start) == pytest.approx(1.0)
    assert s(9) < 0.05 and s(29) < 0.01 and s(69) < 0.002
    assert s(70) == 0.0


def test_polynomial_and_linear_decay():
    s = tr.polynomial_decay(1.0, total_steps=4, end_lr=0.2)
    assert s.values(6) == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2, 0.2])
    q = tr.polynomial_decay(1.0, total_steps=4, power=2)
    assert q(2) == pytest.approx(0.25)


def test_linear_warmup_shifts_the_wrapped_schedule():
    inner = tr.cosine_annealing(1.0, total_steps=10)
    s = tr.linear_warmup(inner, warmup_steps=4, start_factor=0.2)
    assert s.values(5) == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert s(4 + 5) == pytest.approx(inner(5))
    assert s.base_lr == 1.0
    z = tr.linear_warmup(tr.constant(0.5), 2)
    assert z.values(3) == [0.0, 0.25, 0.5]
    assert tr.linear_warmup(inner, 0)(3) == inner(3)


def test_one_cycle_shape():
    s = tr.one_cycle(1.0, total_steps=100, pct_start=0.25, div_factor=10, final_div_factor=100)
    assert s(0) == pytest.approx(0.1)
    assert s(24) == pytest.approx(1.0)  # the peak is reached at pct_start * total - 1
    assert s(99) == pytest.approx(1e-3)
    assert s(500) == pytest.approx(1e-3)
    assert tr.one_cycle(1.0, 10, pct_start=0.1)(0) == 1.0  # a peak at step 0: no warm-up
    lin = tr.one_cycle(1.0, 100, pct_start=0.25, div_factor=10, anneal="linear")
    assert lin(12) == pytest.approx(0.1 + 0.9 * 12 / 24)


def test_schedules_are_values():
    a = tr.cosine_annealing(0.1, 100, min_lr=0.01)
    assert a == tr.cosine_annealing(0.1, 100, min_lr=0.01)
    assert pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(AttributeError):
        a.base_lr = 1.0  # frozen


@pytest.mark.parametrize(
    "make, param",
    [
        (lambda: tr.constant(0.0), "lr"),
        (lambda: tr.step_decay(0.1, 0), "step_size"),
        (lambda: tr.step_decay(0.1, 2.5), "step_size"),
        (lambda: tr.exponential(0.1, -1), "gamma"),
        (lambda: tr.cosine_annealing(0.1, 0), "total_steps"),
        (lambda: tr.cosine_annealing(0.1, 10, min_lr=0.5), "min_lr"),
        (lambda: tr.cosine_annealing(0.1, 10, restarts=-1), "restarts"),
        (lambda: tr.cosine_annealing(0.1, 3, restarts=5), "restarts"),
        (lambda: tr.linear_warmup(tr.constant(0.1), 5, start_factor=2), "start_factor"),
        (lambda: tr.linear_warmup(lambda s: 0.1, 5), "schedule"),
        (lambda: tr.one_cycle(0.1, 100, pct_start=1.0), "pct_start"),
        (lambda: tr.one_cycle(0.1, 100, anneal="cosine"), "anneal"),
        (lambda: tr.one_cycle(float("nan"), 100), "max_lr"),
        (lambda: tr.polynomial_decay(0.1, 10, power=0), "power"),
        (lambda: tr.constant(True), "lr"),
    ],
)
def test_bad_arguments_name_the_parameter(make, param):
    with pytest.raises(ValueError, match=param):
        make()


def test_bad_steps():
    s = tr.constant(0.1)
    for bad in (-1, float("nan"), "3", None):
        with pytest.raises(ValueError, match="step"):
            s(bad)


def test_integral_floats_from_a_search_space_are_accepted():
    assert tr.cosine_annealing(0.1, 100.0).total_steps == 100
    assert isinstance(tr.step_decay(0.1, 10.0).step_size, int)


# -- PyTorch -------------------------------------------------------------------------------


def test_matches_torch_cosine_annealing_lr(torch):
    ours = tr.cosine_annealing(0.1, 50, min_lr=0.001).values(51)
    lrs = torch.optim.lr_scheduler
    theirs = torch_lrs(lambda o: lrs.CosineAnnealingLR(o, 50, eta_min=0.001), 51)
    assert_close(ours, theirs)


def test_matches_torch_warm_restarts(torch):
    ours = tr.cosine_annealing(0.1, 70, min_lr=0.0, restarts=2, cycle_mult=2).values(70)
    theirs = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2), 70
    )
    assert_close(ours, theirs)


def test_matches_torch_step_exponential_polynomial(torch):
    lrs = torch.optim.lr_scheduler
    assert_close(tr.step_decay(0.1, 7, 0.3).values(40),
                 torch_lrs(lambda o: lrs.StepLR(o, 7, 0.3), 40))
    assert_close(tr.exponential(0.1, 0.9).values(40),
                 torch_lrs(lambda o: lrs.ExponentialLR(o, 0.9), 40))
    assert_close(
        tr.polynomial_decay(0.1, 30, power=2.0).values(35),
        torch_lrs(lambda o: lrs.PolynomialLR(o, total_iters=30, power=2.0), 35),
    )


@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_matches_torch_one_cycle(anneal, torch):
    ours = tr.one_cycle(0.5, 100, pct_start=0.3, div_factor=25, final_div_factor=1e4,
                        anneal=anneal).values(100)
    theirs = torch_lrs(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o, max_lr=0.5, total_steps=100, pct_start=0.3, anneal_strategy=anneal,
            cycle_momentum=False,
        ),
        100,
    )
    assert_close(ours, theirs)


def test_to_torch_scheduler_follows_the_schedule(torch):
    sched = tr.linear_warmup(tr.cosine_annealing(3e-3, 40, min_lr=3e-4), 10)

    def make(opt):
        return tr.to_torch_scheduler(sched, opt)

    assert_close(torch_lrs(make, 60, lr=123.0), sched.values(60))  # the optimizer's lr is replaced


def test_to_torch_scheduler_scale_groups_keeps_ratios_and_state_dict(torch):
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([{"params": [a], "lr": 1e-3}, {"params": [b], "lr": 1e-4}])
    s = tr.step_decay(1e-3, 2, 0.5)
    sch = tr.to_torch_scheduler(s, opt, scale_groups=True)
    for _ in range(4):
        opt.step()
        sch.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(2.5e-4)
    assert opt.param_groups[1]["lr"] == pytest.approx(2.5e-5)
    state = sch.state_dict()
    # a checkpoint holding it loads with torch.load's default (weights_only=True)
    import io

    buf = io.BytesIO()
    torch.save({"scheduler": state}, buf)
    buf.seek(0)
    state = torch.load(buf)["scheduler"]
    opt2 = torch.optim.AdamW([{"params": [a], "lr": 1e-3}, {"params": [b], "lr": 1e-4}])
    sch2 = tr.to_torch_scheduler(s, opt2, scale_groups=True)
    sch2.load_state_dict(state)
    assert sch2.last_epoch == 4
    for _ in range(2):
        opt2.step()
        sch2.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(1.25e-4)  # step 6: the next decay


def test_importing_training_does_not_import_torch_and_errors_are_clear():
    code = (
        "import sys\n"
        "import hypersearch.training as t\n"
        "import hypersearch.presets\n"
        "assert 'torch' not in sys.modules, 'torch imported eagerly'\n"
        "sys.modules['torch'] = None\n"
        "try:\n"
        "    t.to_torch_scheduler(t.constant(0.1), object())\n"
        "except ImportError as e:\n"
        "    print(e)\n"
        "try:\n"
        "    t.lr_finder_torch(None, None, None, [])\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert len(lines) == 2
    assert all("needs PyTorch: pip install 'hypersearch[torch]'" in line for line in lines)


def test_values_are_floats():
    for s in (tr.constant(1), tr.step_decay(1, 2), tr.one_cycle(1, 10), tr.cosine_annealing(1, 5)):
        assert all(isinstance(v, float) and math.isfinite(v) for v in s.values(12))


def test_torch_schedulers_pickle_with_every_protocol(torch):
    import pickle

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sch = tr.to_torch_scheduler(tr.step_decay(0.1, 2, 0.5), opt)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        factor = pickle.loads(pickle.dumps(sch.lr_lambdas[0], protocol=protocol))
        assert factor(4) == pytest.approx(0.25)
