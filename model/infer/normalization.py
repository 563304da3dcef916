"""Input normalisation of the network: RGB scaled to [0, 1], minus a per-channel mean, divided by a std."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# pytorch-pose MPII models: mean of the training set, no division by a std (see shared/reference).
MPII_MEAN = (0.4404, 0.4440, 0.4327)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Normalization:
    """Per-channel RGB mean and std applied to pixel values scaled to [0, 1]."""

    mean: tuple[float, float, float] = MPII_MEAN
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        mean = tuple(float(v) for v in self.mean)
        std = tuple(float(v) for v in self.std)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError("normalization needs 3 mean and 3 std values (RGB)")
        if not all(math.isfinite(v) for v in mean) or not all(math.isfinite(v) and v > 0 for v in std):
            raise ValueError(f"normalization must be finite with positive std, got mean {mean} std {std}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @classmethod
    def mpii(cls) -> Normalization:
        """The pytorch-pose MPII convention: mean (0.4404, 0.4440, 0.4327), std 1."""
        return cls(MPII_MEAN, (1.0, 1.0, 1.0))

    @classmethod
    def imagenet(cls) -> Normalization:
        return cls(IMAGENET_MEAN, IMAGENET_STD)

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, data: dict) -> Normalization:
        if not isinstance(data, dict) or "mean" not in data or "std" not in data:
            raise ValueError("normalization needs an object with 'mean' and 'std'")
        return cls(tuple(data["mean"]), tuple(data["std"]))

    def scale_and_shift(self) -> tuple[np.ndarray, np.ndarray]:
        """(3,) float32 scale and (3,) float32 shift so that normalised = uint8 * scale + shift."""
        std = np.asarray(self.std, np.float32)
        scale = (1.0 / (255.0 * std)).astype(np.float32)
        shift = (-np.asarray(self.mean, np.float32) / std).astype(np.float32)
        return scale, shift

    def apply(self, images: np.ndarray) -> np.ndarray:
        """(..., H, W, 3) uint8 RGB → (..., H, W, 3) float32 normalised."""
        scale, shift = self.scale_and_shift()
        return images.astype(np.float32) * scale + shift
