"""Unit-cube encoding of whole configurations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypersearch.space import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    UnitCubeEncoder,
)

SPACE = {
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "wd": FloatDistribution(0.0, 0.3, step=0.05),
    "layers": IntDistribution(1, 8),
    "width": IntDistribution(16, 1024, log=True),
    "act": CategoricalDistribution(["relu", "gelu", None]),
}


@pytest.mark.parametrize("onehot", [False, True])
@given(data=st.data())
def test_round_trip(onehot, data):
    enc = UnitCubeEncoder(SPACE, onehot=onehot)
    u = data.draw(st.lists(st.floats(0, 1), min_size=len(SPACE), max_size=len(SPACE)))
    config = {name: d.from_unit(x) for (name, d), x in zip(SPACE.items(), u)}
    x = enc.encode(config)
    assert x.shape == (enc.dim,)
    assert np.all((x >= 0) & (x <= 1))
    back = enc.decode(x)
    assert back.keys() == config.keys()
    for k in ("wd", "layers", "width", "act"):
        assert back[k] == config[k]
    assert np.isclose(back["lr"], config["lr"], rtol=1e-9)


def test_onehot_layout_and_absent_parameters():
    enc = UnitCubeEncoder(SPACE, onehot=True)
    assert enc.dim == 4 + 3
    x = enc.encode({"lr": 1e-3, "act": "gelu"})
    assert list(x[enc.slices["act"]]) == [0.0, 1.0, 0.0]
    assert np.isnan(x[enc.slices["layers"]]).all()
    assert enc.decode(x).keys() == {"lr", "act"}
    assert enc.encode_many([{"lr": 1e-3}, {"lr": 1e-2}]).shape == (2, enc.dim)
    with pytest.raises(ValueError, match="length 7"):
        enc.decode(np.zeros(3))


def test_log_encoding_is_linear_in_log_space():
    enc = UnitCubeEncoder({"lr": FloatDistribution(1e-4, 1e-0, log=True)})
    assert np.isclose(enc.encode({"lr": 1e-2})[0], 0.5)
