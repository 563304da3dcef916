"""Training loss: heatmap MSE over every stack (intermediate supervision), masked per keypoint."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def heatmap_loss(outputs: Sequence[torch.Tensor], target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Sum over stacks of the mean squared error between each stack's heatmaps and the targets.

    outputs: S tensors (N, K, h, w); target (N, K, h, w) float32; weight (N, K) float32 (0 drops a
    keypoint: its map contributes neither loss nor gradient). The mean is over all N·K·h·w
    entries, so the scale does not depend on how many keypoints are labelled. Computed in float32.
    """
    if not outputs:
        raise ValueError("heatmap_loss needs at least one stack output")
    mask = weight.to(torch.float32)[:, :, None, None]
    total = target.new_zeros((), dtype=torch.float32)
    for out in outputs:
        if out.shape != target.shape:
            raise ValueError(f"stack output {tuple(out.shape)} does not match target {tuple(target.shape)}")
        diff = (out.float() - target) * mask
        total = total + diff.pow(2).mean()
    return total
