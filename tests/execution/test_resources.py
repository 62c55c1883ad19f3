"""Resource bookkeeping with fake GPU ids (no GPU needed)."""

from __future__ import annotations

import pytest

from hypersearch.execution import ResourcePool
from hypersearch.execution.resources import check_resources


def test_whole_gpus_are_never_shared():
    pool = ResourcePool(cpus=16, gpus=["0", "1", "2", "3"])
    slots = pool.partition(8, {"cpu": 2, "gpu": 1})
    assert len(slots) == 4  # four GPUs: four trials at a time, not eight
    assert [a.gpu_ids for a in slots] == [["0"], ["1"], ["2"], ["3"]]
    assert slots[2].env({})["CUDA_VISIBLE_DEVICES"] == "2"
    two = pool.partition(8, {"gpu": 2})
    assert [a.gpu_ids for a in two] == [["0", "1"], ["2", "3"]]
    assert two[1].env({})["CUDA_VISIBLE_DEVICES"] == "2,3"


def test_fractional_gpus_pack_onto_devices():
    pool = ResourcePool(cpus=8, gpus=["a", "b"])
    slots = pool.partition(10, {"gpu": 0.5})
    assert len(slots) == 4
    per_gpu = {}
    for a in slots:
        assert len(a.gpu_ids) == 1 and a.gpu_share == 0.5
        per_gpu[a.gpu_ids[0]] = per_gpu.get(a.gpu_ids[0], 0) + 1
    assert per_gpu == {"a": 2, "b": 2}
    thirds = pool.partition(10, {"gpu": 0.3, "cpu": 1})
    assert len(thirds) == 6  # three 0.3 shares fit on each GPU


def test_cpus_limit_concurrency_and_set_thread_counts():
    pool = ResourcePool(cpus=6, gpus=[])
    slots = pool.partition(10, {"cpu": 2})
    assert len(slots) == 3
    env = slots[0].env({})
    assert env["OMP_NUM_THREADS"] == "2" and env["CUDA_VISIBLE_DEVICES"] == ""  # GPUs hidden
    assert "OMP_NUM_THREADS" not in slots[0].env({"OMP_NUM_THREADS": "1"})  # the user's setting wins
    assert len(pool.partition(3, None)) == 3


@pytest.mark.parametrize(
    "request_, match",
    [
        ({"gpu": 1}, "no GPU"),
        ({"cpu": 99}, "99 CPUs"),
        ({"tpu": 1}, "unknown resource"),
        ({"gpu": -1}, ">= 0"),
        ({"gpu": 1.5}, "whole number"),
    ],
)
def test_impossible_requests_are_rejected(request_, match):
    with pytest.raises(ValueError, match=match):
        ResourcePool(cpus=4, gpus=[] if "gpu" in request_ and request_["gpu"] == 1 else ["0", "1"]).partition(
            2, request_
        )


def test_check_resources_and_pool_arguments():
    assert check_resources(None) == {}
    assert check_resources({"cpu": 1, "gpu": 0.25}) == {"cpu": 1.0, "gpu": 0.25}
    with pytest.raises(ValueError, match="dict"):
        check_resources([1])
    with pytest.raises(ValueError, match="duplicate"):
        ResourcePool(cpus=1, gpus=["0", "0"])
    with pytest.raises(ValueError, match="cpus"):
        ResourcePool(cpus=0)
