"""BatchNorm-folded StackedHourglass on oneDNN kernels with fused ReLU / residual add (CPU inference).

Used by model.infer.runtime; every function keeps the network's inputs/outputs: (N, 3, H, W) float →
S heatmap tensors (N, K, H/4, W/4) float32.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from model.nn.hourglass import Bottleneck, StackedHourglass


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight (O, I, kh, kw) and bias (O,) float32 of `bn(conv(x))` as one convolution."""
    w = conv.weight.detach().float()
    b = conv.bias.detach().float() if conv.bias is not None else torch.zeros(w.shape[0], device=w.device)
    if bn is None:
        return w.clone(), b.clone()
    scale = bn.weight.detach().float() / torch.sqrt(bn.running_var.float() + bn.eps)
    return w * scale.view(-1, 1, 1, 1), (b - bn.running_mean.float()) * scale + bn.bias.detach().float()


# ---- fused network ---------------------------------------------------------------------------------
def fused_kernels_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


class _Conv(nn.Module):
    """A (BN-folded) convolution as a oneDNN kernel with a fused ReLU or residual add.

    With `prepack`, the weight is reordered once per input shape into oneDNN's preferred blocked layout
    (which depends on the shape) instead of on every call; the last PACKED_SHAPES shapes are kept.
    """

    PACKED_SHAPES = 2

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d | None, dtype: torch.dtype,
                 prepack: bool) -> None:
        super().__init__()
        w, b = fold_conv_bn(conv, bn)
        self.weight = nn.Parameter(w.to(dtype).contiguous(memory_format=torch.channels_last), False)
        self.bias = nn.Parameter(b.to(dtype), requires_grad=False)
        self.padding, self.stride = list(conv.padding), list(conv.stride)
        self.prepack = prepack
        self._packed: dict[tuple[int, ...], torch.Tensor] = {}

    def _weight(self, x: torch.Tensor) -> torch.Tensor:
        if not self.prepack:
            return self.weight
        key = tuple(x.shape)
        packed = self._packed.get(key)
        if packed is None:
            if len(self._packed) >= self.PACKED_SHAPES:
                self._packed.pop(next(iter(self._packed)))
            packed = torch.ops.mkldnn._reorder_convolution_weight(
                self.weight, self.padding, self.stride, [1, 1], 1, list(key))
            self._packed[key] = packed
        return packed

    def forward(self, x: torch.Tensor, relu: bool = False) -> torch.Tensor:
        attr = "relu" if relu else "none"
        return torch.ops.mkldnn._convolution_pointwise(
            x, self._weight(x), self.bias, self.padding, self.stride, [1, 1], 1, attr, [], ""
        )

    def add(self, x: torch.Tensor, other: torch.Tensor, inplace: bool) -> torch.Tensor:
        """conv(x) + other; `inplace` writes into `other` (only when nothing else reads it)."""
        args = (self._weight(x), self.bias, self.padding, self.stride, [1, 1], 1, "add", None, None, [], None)
        if inplace:
            return torch.ops.mkldnn._convolution_pointwise_.binary(other, x, *args)
        return torch.ops.mkldnn._convolution_pointwise.binary(x, other, *args)


class _BnRelu(nn.Module):
    """relu(bn(x)) as relu(x · scale + shift): two passes over x, the second in place."""

    def __init__(self, bn: nn.BatchNorm2d, dtype: torch.dtype) -> None:
        super().__init__()
        scale = bn.weight.detach().float() / torch.sqrt(bn.running_var.float() + bn.eps)
        shift = bn.bias.detach().float() - bn.running_mean.float() * scale
        self.register_buffer("scale", scale.view(1, -1, 1, 1).to(dtype))
        self.register_buffer("shift", shift.view(1, -1, 1, 1).to(dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.shift, x, self.scale).relu_()


class _Block(nn.Module):
    """Bottleneck: bn1-relu, conv1(+bn2)+relu, conv2(+bn3)+relu, conv3 + shortcut fused."""

    def __init__(self, block: Bottleneck, dtype: torch.dtype, pack: bool) -> None:
        super().__init__()
        self.pre = _BnRelu(block.bn1, dtype)
        self.conv1 = _Conv(block.conv1, block.bn2, dtype, pack)
        self.conv2 = _Conv(block.conv2, block.bn3, dtype, pack)
        self.conv3 = _Conv(block.conv3, None, dtype, pack)
        self.down = _Conv(block.downsample[0], None, dtype, pack) if block.downsample is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(self.conv1(self.pre(x), relu=True), relu=True)
        if self.down is not None:
            return self.conv3.add(h, self.down(x), inplace=True)
        return self.conv3.add(h, x, inplace=False)  # x is still read by the caller (hourglass skip)


def _chain(seq: nn.Sequential, dtype: torch.dtype, pack: bool) -> nn.Sequential:
    return nn.Sequential(*(_Block(b, dtype, pack) for b in seq))


class _Hourglass(nn.Module):
    def __init__(self, hourglass: nn.Module, dtype: torch.dtype, pack: bool) -> None:
        super().__init__()
        self.depth = hourglass.depth
        self.hg = nn.ModuleList(
            nn.ModuleList(_chain(c, dtype, pack) for c in level) for level in hourglass.hg
        )

    def _level(self, level: int, x: torch.Tensor) -> torch.Tensor:
        chains = self.hg[level]
        up1 = chains[0](x)
        low = chains[1](F.max_pool2d(x, 2, stride=2))
        low = self._level(level - 1, low) if level > 0 else chains[3](low)
        return up1.add_(F.interpolate(chains[2](low), scale_factor=2, mode="nearest"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._level(self.depth - 1, x)


CACHE_BUDGET_BYTES = 16 * 2**20  # activations per sub-batch that should stay in the CPU caches


class FusedHourglass(nn.Module):
    """Inference-only copy of a StackedHourglass on oneDNN kernels; same inputs/outputs, fp32 out.

    A batch runs in sub-batches of `micro_batch` images (default: as many as keep about four trunk
    activations within CACHE_BUDGET_BYTES; None = whole batch): per image, large batches are slower on a
    CPU because the 1/4-resolution activations no longer fit in the caches. `prepack` keeps each conv
    weight also in oneDNN's blocked layout for the input shapes seen (one extra copy of the weights with
    fp32 sub-batches of 1; measured 5–6 % faster on 2 threads, no difference on 1).
    """

    def __init__(self, model: StackedHourglass, dtype: torch.dtype = torch.float32,
                 prepack: bool = True, micro_batch: int | None | str = "auto") -> None:
        super().__init__()
        self.config, self.dtype, p = model.config, dtype, prepack
        self.micro_batch = self.auto_micro_batch(model, dtype) if micro_batch == "auto" else micro_batch
        self.stem = _Conv(model.conv1, model.bn1, dtype, p)
        self.layer1, self.layer2, self.layer3 = (_chain(m, dtype, p) for m in (model.layer1, model.layer2,
                                                                                model.layer3))
        self.hg = nn.ModuleList(_Hourglass(h, dtype, p) for h in model.hg)
        self.res = nn.ModuleList(_chain(r, dtype, p) for r in model.res)
        self.fc = nn.ModuleList(_Conv(f[0], f[1], dtype, p) for f in model.fc)
        self.score = nn.ModuleList(_Conv(s, None, dtype, p) for s in model.score)
        self.fc_ = nn.ModuleList(_Conv(c, None, dtype, p) for c in model.fc_)
        self.score_ = nn.ModuleList(_Conv(c, None, dtype, p) for c in model.score_)

    @staticmethod
    def auto_micro_batch(model: StackedHourglass, dtype: torch.dtype) -> int:
        w, h = model.config.heatmap_size
        per_image = 4 * 2 * model.config.features * w * h * torch.empty(0, dtype=dtype).element_size()
        return max(1, CACHE_BUDGET_BYTES // per_image)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (N, 3, H, W) float → S × (N, K, H/4, W/4) float32, contiguous."""
        step = self.micro_batch or len(x)
        if len(x) <= step:
            return self._forward(x)
        parts = [self._forward(x[i:i + step]) for i in range(0, len(x), step)]
        return [torch.cat(stack) for stack in zip(*parts, strict=True)]

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x.to(self.dtype, memory_format=torch.channels_last)
        x = F.max_pool2d(self.layer1(self.stem(x, relu=True)), 2, stride=2)
        x = self.layer3(self.layer2(x))
        outputs = []
        for i in range(self.config.stacks):
            y = self.fc[i](self.res[i](self.hg[i](x)), relu=True)
            score = self.score[i](y)
            outputs.append(score.float().contiguous())
            if i < self.config.stacks - 1:
                x = self.fc_[i].add(y, x, inplace=True)  # nothing reads this stack's input any more
                x = self.score_[i].add(score, x, inplace=True)
        return outputs
