"""Helpers for the inference tests: tiny networks and running them (eager reference, prepared runtime)."""

from __future__ import annotations

import torch
from torch import nn

from model.nn.hourglass import HourglassConfig, build_hourglass


def tiny_network(seed: int = 0, stacks: int = 2) -> nn.Module:
    """`stacks`-stack, 8-feature, 64×64 network (3 keypoints) with non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    model = build_hourglass(HourglassConfig(num_keypoints=3, stacks=stacks, features=8, input_size=(64, 64)))
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def run(rt, x: torch.Tensor) -> list[torch.Tensor]:
    """Through the predictor's triple, as model/infer/predictor.py calls it."""
    net, _precision, autocast = rt
    with torch.inference_mode(), autocast():
        return [o.float() for o in net(x)]


def reference(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Eager fp32 heatmaps S × (N, K, h, w)."""
    with torch.inference_mode():
        return model(x)


def max_rel(ref: list[torch.Tensor], out: list[torch.Tensor]) -> float:
    """Largest |Δ| relative to the largest |reference| value, over all stacks."""
    return max(float((r - o).abs().max() / r.abs().max()) for r, o in zip(ref, out, strict=True))
