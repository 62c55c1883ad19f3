"""Fixtures for the training helpers' tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def torch():
    """PyTorch limited to one thread: the models here are tiny, and on a shared CPU more
    threads only wait for each other."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(before)
