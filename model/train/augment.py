"""Training crops with augmentation: random box jitter, scale, rotation, flip, photometric change → targets.

Numpy only. One sample is built in the same geometry the predictor uses at inference
(`crop_affine` around the box, padding 1.25, aspect kept) and its targets come from the same codec
that decodes at inference (`encode_heatmaps`), so train and test see one pixel convention.
Horizontal flip is composed into the crop affine (the crop is mirrored about its own centre) and
keypoint identities are swapped with the skeleton's flip_index. With probability
`whole_image_prob` the "box" is the whole image at padding 1.0, as in the predictor's first pass
for images without a box, so the network also learns to find the animal in a full frame.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from model.codec.flip import flip_affine
from model.codec.spec import HeatmapSpec
from model.codec.transforms import (
    BOX_PADDING,
    WHOLE_IMAGE_PADDING,
    apply_affine,
    compose_affine,
    crop_affine,
    warp_image,
)


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random changes; `enabled=False` gives the plain inference crop."""

    enabled: bool = True
    scale: float = 0.25  # padding multiplied by a factor in [1 - scale, 1 + scale]
    rotation_deg: float = 30.0  # uniform in [-rotation_deg, rotation_deg] ...
    rotation_prob: float = 0.6  # ... with this probability, else 0
    shift: float = 0.08  # box centre moved by up to this fraction of the box size
    flip: bool = True  # horizontal flip with probability 0.5
    brightness: float = 0.2  # additive, fraction of 255
    contrast: float = 0.25  # multiplicative factor in [1 - contrast, 1 + contrast]
    whole_image_prob: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CropParams:
    """The random draw for one sample."""

    whole_image: bool = False
    scale: float = 1.0
    rotation_deg: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)
    flip: bool = False
    brightness: float = 0.0
    contrast: float = 1.0


def sample_params(rng: np.random.Generator, cfg: AugmentConfig) -> CropParams:
    """Draw one CropParams from `cfg` (always the same number of draws, so streams stay aligned)."""
    u = rng.random(9)
    if not cfg.enabled:
        return CropParams()
    rotate = u[2] < cfg.rotation_prob
    return CropParams(
        whole_image=bool(u[0] < cfg.whole_image_prob),
        scale=float(1.0 + cfg.scale * (2.0 * u[1] - 1.0)),
        rotation_deg=float(cfg.rotation_deg * (2.0 * u[3] - 1.0)) if rotate else 0.0,
        shift=(float(cfg.shift * (2.0 * u[4] - 1.0)), float(cfg.shift * (2.0 * u[5] - 1.0))),
        flip=bool(cfg.flip and u[6] < 0.5),
        brightness=float(cfg.brightness * 255.0 * (2.0 * u[7] - 1.0)),
        contrast=float(1.0 + cfg.contrast * (2.0 * u[8] - 1.0)),
    )


def sample_affine(
    box_xywh: np.ndarray, image_size: tuple[int, int], input_size: tuple[int, int], params: CropParams,
    padding: float = BOX_PADDING,
) -> np.ndarray:
    """Image → network-input (2, 3) float64 affine for one sample (flip included); `padding`: the
    box crop's (the heatmap spec's), scaled by the sample's scale."""
    if params.whole_image:
        w, h = image_size
        box = np.array([-0.5, -0.5, float(w), float(h)])
        padding = WHOLE_IMAGE_PADDING * (1.0 + 0.5 * (params.scale - 1.0))
    else:
        box = np.asarray(box_xywh, np.float64).copy()
        box[0] += params.shift[0] * box[2]
        box[1] += params.shift[1] * box[3]
        padding = padding * params.scale
    m = crop_affine(box, input_size, padding=padding, rotation_deg=params.rotation_deg)
    if params.flip:
        m = compose_affine(flip_affine(input_size[0]), m)
    return m


def photometric(crop: np.ndarray, params: CropParams) -> np.ndarray:
    """(h, w, 3) uint8 → (h, w, 3) uint8 with contrast about the mean grey, then brightness."""
    if params.contrast == 1.0 and params.brightness == 0.0:
        return crop
    x = crop.astype(np.float32)
    mean = float(x.mean())
    x = (x - mean) * params.contrast + mean + params.brightness
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def make_sample(
    image: np.ndarray,
    xy: np.ndarray,
    vis: np.ndarray,
    box_xywh: np.ndarray,
    spec: HeatmapSpec,
    flip_index: np.ndarray,
    params: CropParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One training sample, its crop and targets made by `spec` (input size, padding, stride, sigma).

    image (H, W, 3) uint8 RGB; xy (K, 2) float64 image px; vis (K,) COCO visibility (0 = unlabelled,
    which gets weight 0); box_xywh (4,). Returns (crop (h, w, 3) uint8, targets (K, h/s, w/s)
    float32, weights (K,) float32).
    """
    h_img, w_img = image.shape[:2]
    m = sample_affine(box_xywh, (w_img, h_img), spec.input_size, params, spec.padding)
    crop = photometric(warp_image(image, m, spec.input_size), params)
    pts = apply_affine(m, np.asarray(xy, np.float64))
    v = np.asarray(vis)
    if params.flip:
        pts, v = pts[flip_index], v[flip_index]
    targets, weights = spec.encode(pts, v)
    return crop, targets, weights


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of sample `index` in `epoch`: independent of worker count and order."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(epoch), int(index)])


def rotation_is_valid(value: float) -> bool:
    return math.isfinite(value) and 0.0 <= value <= 180.0
