"""Fixtures of the inference tests: a tiny network; `engine_defaults` (no engine/precision overrides, so
the product's choice, OpenVINO on the CPU; one torch thread) for the engine tests."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from model.infer import runtime as R
from tests.model.infer.nets import tiny_network


@pytest.fixture(scope="module")
def tiny() -> nn.Module:
    return tiny_network()


@pytest.fixture
def engine_defaults(monkeypatch):
    """No overrides from the environment (the suite sets HGLABEL_ENGINE=torch); one thread (tiny ops,
    shared CPU), restored after."""
    for name in (R.PRECISION_ENV, R.COMPILE_ENV, R.ENGINE_ENV):
        monkeypatch.delenv(name, raising=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
