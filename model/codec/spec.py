"""HeatmapSpec: one object owns how keypoints become training targets and how heatmaps are decoded.

It travels with the checkpoint (its "heatmap" entry), so training, prediction and decoding use the
same input size, stride, Gaussian sigma, crop padding and decoder (MMPose's codec idea). numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.codec.heatmap import decode_heatmaps, encode_heatmaps
from model.codec.transforms import BOX_PADDING, apply_affine, input_to_heatmap_affine

DECODERS = ("dark", "argmax")


class HeatmapSpecError(ValueError):
    """A heatmap spec (e.g. a checkpoint's "heatmap" entry) is malformed or does not fit the network."""


@dataclass(frozen=True)
class HeatmapSpec:
    """Input size (w, h) and stride of the network, target sigma (heatmap px), crop padding, decoder."""

    input_size: tuple[int, int] = (256, 256)
    stride: int = 4
    sigma: float = 1.0
    padding: float = BOX_PADDING
    decoder: str = "dark"

    def __post_init__(self) -> None:
        w, h = (int(v) for v in self.input_size)
        object.__setattr__(self, "input_size", (w, h))
        if int(self.stride) != self.stride or self.stride < 1 or w % self.stride or h % self.stride:
            raise HeatmapSpecError(f"stride {self.stride!r} must be a positive divisor of input {w}×{h}")
        if not (math.isfinite(self.sigma) and 0.1 <= self.sigma <= 32):
            raise HeatmapSpecError(f"sigma {self.sigma!r} must be 0.1..32 heatmap pixels")
        if not (math.isfinite(self.padding) and 1.0 <= self.padding <= 4.0):
            raise HeatmapSpecError(f"padding {self.padding!r} must be 1..4")
        if self.decoder not in DECODERS:
            raise HeatmapSpecError(f"decoder {self.decoder!r} must be one of {DECODERS}")

    @property
    def heatmap_size(self) -> tuple[int, int]:
        """(w, h) of the heatmaps."""
        return (self.input_size[0] // self.stride, self.input_size[1] // self.stride)

    def encode(self, points_input: np.ndarray, vis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Targets for K points (K, 2) in network-input px with visibility (K,):
        ((K, h, w) float32 Gaussians, (K,) float32 weights)."""
        pts = apply_affine(input_to_heatmap_affine(self.stride), np.asarray(points_input, np.float64))
        return encode_heatmaps(pts, vis, self.heatmap_size, sigma=self.sigma)

    def decode(self, heatmaps: np.ndarray, decoder: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps (..., K, h, w) → (coords (..., K, 2) float64 heatmap px, maxvals (..., K) float32);
        `decoder` overrides the spec's (e.g. "argmax" for a comparison)."""
        return decode_heatmaps(heatmaps, decoder or self.decoder, sigma=self.sigma)

    def to_dict(self) -> dict:
        return {"input_size": list(self.input_size), "stride": self.stride, "sigma": self.sigma,
                "padding": self.padding, "decoder": self.decoder}

    @classmethod
    def from_dict(cls, data: object) -> HeatmapSpec:
        """The spec a checkpoint stored; HeatmapSpecError names the bad field."""
        if not isinstance(data, dict):
            raise HeatmapSpecError(f"'heatmap' must be a dictionary, got {type(data).__name__}")
        size = data.get("input_size")
        if not (isinstance(size, list | tuple) and len(size) == 2 and all(type(v) is int for v in size)):
            raise HeatmapSpecError(f"heatmap input_size {size!r} must be two integers")
        for key, kind in (("stride", int), ("sigma", (int, float)), ("padding", (int, float)),
                          ("decoder", str)):
            if key in data and (not isinstance(data[key], kind) or isinstance(data[key], bool)):
                raise HeatmapSpecError(f"heatmap {key} {data[key]!r} has the wrong type")
        defaults = cls(tuple(size))
        return cls(tuple(size), data.get("stride", defaults.stride), float(data.get("sigma", defaults.sigma)),
                   float(data.get("padding", defaults.padding)), data.get("decoder", defaults.decoder))
