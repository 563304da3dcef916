"""Stacked Hourglass (Newell et al. 2016) with pytorch-pose-compatible state-dict names.

Layout (features F, trunk width 2F, K keypoints, S stacks, B blocks per residual chain):
stem 7×7/2 conv → bottleneck 64→128 → 2×2 max-pool → bottleneck →2F → bottleneck 2F→2F (1/4
resolution), then per stack: hourglass (depth 4, own residual chains per level) → B bottlenecks
→ `fc` (1×1 conv-BN-ReLU) → `score` (1×1 conv to K); between stacks the input gets
`fc_(y) + score_(score)` added. The state dict matches bearpaw/pytorch-pose name for name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class HourglassConfig:
    """Architecture hyper-parameters; input_size is (width, height) of the network input."""

    num_keypoints: int = 16
    stacks: int = 2
    blocks: int = 1
    features: int = 128
    depth: int = 4
    input_size: tuple[int, int] = (256, 256)

    def __post_init__(self) -> None:
        multiple = self.stride * 2**self.depth
        if any(v <= 0 or v % multiple for v in self.input_size):
            raise ValueError(f"input_size {tuple(self.input_size)} must be positive multiples of {multiple}")
        for name in ("num_keypoints", "stacks", "blocks", "features", "depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @property
    def stride(self) -> int:
        return 4

    @property
    def heatmap_size(self) -> tuple[int, int]:
        """(width, height) of the output heatmaps."""
        return (self.input_size[0] // self.stride, self.input_size[1] // self.stride)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["input_size"] = list(self.input_size)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> HourglassConfig:
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if "input_size" in fields:
            fields["input_size"] = tuple(int(v) for v in fields["input_size"])
        return cls(**fields)


class Bottleneck(nn.Module):
    """Pre-activation bottleneck: (BN-ReLU-conv) ×3, 1×1 → 3×3 → 1×1 (×2), plus shortcut."""

    expansion = 2

    def __init__(self, inplanes: int, planes: int) -> None:
        super().__init__()
        out = planes * self.expansion
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=True)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=True)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, kernel_size=1, bias=True)
        self.downsample = (
            nn.Sequential(nn.Conv2d(inplanes, out, kernel_size=1, bias=True))
            if inplanes != out else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return out + shortcut


def residual_chain(inplanes: int, planes: int, blocks: int) -> nn.Sequential:
    """`blocks` bottlenecks; the first maps inplanes → 2·planes."""
    layers = [Bottleneck(inplanes, planes)]
    layers += [Bottleneck(planes * 2, planes) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class Hourglass(nn.Module):
    """Recursive hourglass; `hg[level]` holds the level's own chains, level 0 innermost.

    Chains per level: 0 skip branch, 1 after max-pool, 2 before upsample, 3 innermost only.
    """

    def __init__(self, blocks: int, planes: int, depth: int) -> None:
        super().__init__()
        self.depth = depth
        width = planes * Bottleneck.expansion
        self.hg = nn.ModuleList(
            nn.ModuleList(
                residual_chain(width, planes, blocks) for _ in range(4 if level == 0 else 3)
            )
            for level in range(depth)
        )

    def _forward_level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        chains = self.hg[level]
        up1 = chains[0](x)
        low = chains[1](F.max_pool2d(x, 2, stride=2))
        low = self._forward_level(level - 1, low) if level > 0 else chains[3](low)
        low = chains[2](low)
        return up1 + F.interpolate(low, scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward_level(self.depth - 1, x)


def _fc(channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, channels, kernel_size=1, bias=True),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    )


class StackedHourglass(nn.Module):
    """Input (N, 3, H, W) float → list of S heatmap tensors (N, K, H/4, W/4), one per stack."""

    def __init__(self, config: HourglassConfig) -> None:
        super().__init__()
        self.config = config
        feats, width, k = config.features, config.features * 2, config.num_keypoints
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=True)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = residual_chain(64, 64, 1)
        self.layer2 = residual_chain(128, 128, 1)
        self.layer3 = residual_chain(256, feats, 1)
        stacks = config.stacks
        self.hg = nn.ModuleList(Hourglass(config.blocks, feats, config.depth) for _ in range(stacks))
        self.res = nn.ModuleList(residual_chain(width, feats, config.blocks) for _ in range(stacks))
        self.fc = nn.ModuleList(_fc(width) for _ in range(stacks))
        self.score = nn.ModuleList(nn.Conv2d(width, k, 1, bias=True) for _ in range(stacks))
        self.fc_ = nn.ModuleList(nn.Conv2d(width, width, 1, bias=True) for _ in range(stacks - 1))
        self.score_ = nn.ModuleList(nn.Conv2d(k, width, 1, bias=True) for _ in range(stacks - 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(self.layer1(x), 2, stride=2)
        x = self.layer3(self.layer2(x))
        outputs = []
        for i in range(self.config.stacks):
            y = self.fc[i](self.res[i](self.hg[i](x)))
            score = self.score[i](y)
            outputs.append(score)
            if i < self.config.stacks - 1:
                x = x + self.fc_[i](y) + self.score_[i](score)
        return outputs


def build_hourglass(config: HourglassConfig) -> StackedHourglass:
    """A freshly initialised network for `config`."""
    return StackedHourglass(config)
