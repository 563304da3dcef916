"""Predictor: crop ↔ heatmap ↔ image geometry, whole-image pass + refine, flip test, batching, inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from model.annotations.skeleton import Skeleton
from model.codec.heatmap import decode_heatmaps
from model.codec.transforms import apply_affine
from model.infer.checkpoint import ModelBundle
from model.infer.crops import box_from_keypoints, make_crops
from model.infer.normalization import Normalization
from model.infer.predictor import Predictor
from model.nn.hourglass import HourglassConfig, build_hourglass

CONFIG = HourglassConfig(num_keypoints=3, stacks=2, blocks=1, features=8, input_size=(64, 64))
PLAIN = Skeleton("blobs", ("red", "green", "blue"))
PAIRED = Skeleton("blobs", ("red", "left", "right"), flip_pairs=((1, 2),))
BLOBS = np.array([[50.3, 40.7], [70.0, 60.0], [90.6, 45.2]])  # red, green, blue centres (x, y)


class BlobNet(nn.Module):
    """Stand-in network: heatmap k = 4×4 average of input channel k, the same for every stack.

    With identity normalisation its peaks sit exactly on the colour blobs of the crop, so any
    error in crop / heatmap / image geometry shows up as a keypoint offset.
    """

    def __init__(self, stacks: int = 2) -> None:
        super().__init__()
        self.stacks = stacks
        self.unused = nn.Conv2d(1, 1, 1)  # a parameter, so the predictor can inspect the memory format

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        hm = F.avg_pool2d(x, 4)
        return [hm * (1.0 - 0.1 * i) for i in range(self.stacks)]


def blob_image(
    centres: np.ndarray = BLOBS, size: tuple[int, int] = (160, 120), sigma: float = 6.0
) -> np.ndarray:
    """(H, W, 3) uint8: channel c holds a Gaussian blob of peak 255 at centres[c] (x, y)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float64)
    for c, (cx, cy) in enumerate(centres):
        img[:, :, c] = 255 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    return np.round(img).astype(np.uint8)


def blob_predictor(skeleton: Skeleton = PLAIN, **kwargs) -> Predictor:
    bundle = ModelBundle(CONFIG, skeleton, Normalization((0, 0, 0), (1, 1, 1)), {}, {})
    return Predictor(bundle, device="cpu", network=BlobNet(), **kwargs)


def test_boxed_prediction_lands_on_the_blobs() -> None:
    predictor = blob_predictor()
    box = (30.0, 20.0, 80.0, 60.0)
    (pred,) = predictor.predict([(blob_image(), box)])
    np.testing.assert_allclose(pred.keypoints, BLOBS, atol=1.0)
    assert pred.box == box and pred.flip_disagreement is None
    assert pred.stack_heatmaps.shape == (2, 3, 16, 16) and pred.stack_heatmaps.dtype == np.float32
    assert pred.stack_keypoints.shape == (2, 3, 2)
    np.testing.assert_allclose(pred.stack_keypoints[0], pred.stack_keypoints[1], atol=1e-6)
    np.testing.assert_array_equal(pred.keypoints, pred.stack_keypoints[-1])
    np.testing.assert_allclose(pred.confidence, pred.stack_heatmaps[-1].max(axis=(1, 2)), rtol=1e-6)
    hm_xy, _ = decode_heatmaps(pred.stack_heatmaps[-1])
    np.testing.assert_allclose(apply_affine(pred.heatmap_to_image, hm_xy), pred.keypoints, atol=1e-9)
    assert predictor.precision == "fp32" and predictor.device_name == "cpu"


def test_without_box_whole_image_pass_then_refined_crop() -> None:
    image = blob_image()
    (pred,) = blob_predictor().predict([(image, None)])
    np.testing.assert_allclose(pred.keypoints, BLOBS, atol=1.0)
    x, y, w, h = pred.box
    lo, hi = BLOBS.min(axis=0), BLOBS.max(axis=0)
    # extent padded by max(10 px, 15 %) on each side, around the coarse keypoints
    np.testing.assert_allclose([x, y], lo - np.maximum(10, 0.15 * (hi - lo)), atol=1.5)
    np.testing.assert_allclose([x + w, y + h], hi + np.maximum(10, 0.15 * (hi - lo)), atol=1.5)
    (whole,) = blob_predictor(refine_min_confidence=2.0).predict([(image, None)])
    assert whole.box == (-0.5, -0.5, 160.0, 120.0)  # nothing confident enough: whole-image result kept
    assert whole.stack_heatmaps.shape == (2, 3, 16, 16)


def test_box_from_keypoints_needs_two_confident_points() -> None:
    xy = np.array([[10.0, 10.0], [110.0, 50.0], [300.0, 300.0]])
    assert box_from_keypoints(xy, np.array([0.9, 0.05, 0.9]), (200, 100), 0.1) == (-0.5, -0.5, 200.0, 100.0)
    box = box_from_keypoints(xy, np.array([0.9, 0.9, 0.0]), (200, 100), 0.1)
    # x: 10..110 padded by 15 % (15 px), clipped at -0.5; y: 10..50 padded by the 10 px minimum
    assert box == pytest.approx((-0.5, 0.0, 110.0 + 15.0 + 0.5, 60.0))
    assert box_from_keypoints(xy, np.array([0.9, 0.0, 0.0]), (200, 100), 0.1) is None


def test_flip_test_is_exact_without_pairs_and_swaps_paired_keypoints() -> None:
    image, box = blob_image(), (30.0, 20.0, 80.0, 60.0)
    (plain,) = blob_predictor().predict([(image, box)])
    (flipped,) = blob_predictor(flip_test=True).predict([(image, box)])
    np.testing.assert_allclose(flipped.keypoints, plain.keypoints, atol=0.05)
    assert flipped.flip_disagreement.shape == (3,) and flipped.flip_disagreement.max() < 0.1
    # With (left, right) paired, the mirrored pass's "left" is this stand-in's "right" channel: the
    # disagreement of the pair is the distance between the two blobs; the unpaired one stays ~0.
    (paired,) = blob_predictor(PAIRED, flip_test=True).predict([(image, box)])
    gap = np.linalg.norm(BLOBS[1] - BLOBS[2])
    np.testing.assert_allclose(paired.flip_disagreement, [0.0, gap, gap], atol=1.0)


def test_batching_keeps_order_and_results() -> None:
    rng = np.random.default_rng(3)
    items = []
    for i in range(5):
        size = (120 + 8 * i, 100 + 4 * i)
        centres = BLOBS + rng.uniform(-10, 10, BLOBS.shape)
        items.append((blob_image(centres, size), None if i % 2 else (25.0, 15.0, 90.0, 70.0), centres))
    predictor = blob_predictor()
    one = predictor.predict([(img, box) for img, box, _ in items], batch_size=1)
    many = predictor.predict([(img, box) for img, box, _ in items], batch_size=4)
    for a, b, (_, _, centres) in zip(one, many, items, strict=True):
        np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-9)
        np.testing.assert_allclose(a.keypoints, centres, atol=1.0)


class RecordingNet(nn.Module):
    """Stand-in that keeps its input and returns constant heatmaps of the right shape."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Conv2d(1, 1, 1)
        self.inputs: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        self.inputs.append(x.detach().clone())
        return [torch.zeros(x.shape[0], 3, x.shape[2] // 4, x.shape[3] // 4) for _ in range(CONFIG.stacks)]


def test_input_is_normalised_rgb_in_network_layout() -> None:
    """The network gets exactly the normalised RGB crop as (N, 3, H, W) float32."""
    norm = Normalization((0.4, 0.5, 0.6), (0.2, 0.3, 0.4))
    net = RecordingNet()
    predictor = Predictor(ModelBundle(CONFIG, PLAIN, norm, {}, {}), device="cpu", network=net)
    image = np.random.default_rng(1).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    box = (10.0, 5.0, 50.0, 40.0)
    predictor.predict([(image, box)])
    crops, _ = make_crops([image], [box], CONFIG.input_size, 1.25)
    expected = (torch.from_numpy(crops).float() / 255 - torch.tensor(norm.mean)) / torch.tensor(norm.std)
    (seen,) = net.inputs
    assert seen.dtype == torch.float32 and seen.shape == (1, 3, 64, 64)
    torch.testing.assert_close(seen, expected.permute(0, 3, 1, 2), rtol=1e-6, atol=1e-6)


def test_real_hourglass_runs_with_every_stack() -> None:
    torch.manual_seed(0)
    bundle = ModelBundle(CONFIG, PLAIN, Normalization(), build_hourglass(CONFIG).state_dict(), {})
    predictor = Predictor(bundle, device="cpu", flip_test=True)
    image = np.random.default_rng(2).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    preds = predictor.predict([(image, None), (image, (10.0, 5.0, 50.0, 40.0))], batch_size=1)
    for pred in preds:
        assert pred.stack_heatmaps.shape == (2, 3, 16, 16) and np.isfinite(pred.stack_heatmaps).all()
        assert pred.stack_keypoints.shape == (2, 3, 2) and pred.flip_disagreement.shape == (3,)
    assert predictor.precision in ("fp32", "bf16", "fp16")


def test_bad_arguments_are_rejected() -> None:
    predictor = blob_predictor()
    good = blob_image()
    with pytest.raises(ValueError, match="item 1: image must be"):
        predictor.predict([(good, None), (good.astype(np.float32), None)])
    with pytest.raises(ValueError, match=r"item 0: box must be .*w, h > 0"):
        predictor.predict([(good, (0, 0, 0, 10))])
    with pytest.raises(ValueError, match="decode must be"):
        blob_predictor(decode="mean")
    with pytest.raises(ValueError, match="batch_size"):
        predictor.predict([(good, None)], batch_size=0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            Predictor(predictor.bundle, device="cuda", network=BlobNet())
    assert predictor.predict([]) == []


def test_argmax_decoding_is_coarser_but_close() -> None:
    image, box = blob_image(), (30.0, 20.0, 80.0, 60.0)
    (dark,) = blob_predictor().predict([(image, box)])
    (arg,) = blob_predictor(decode="argmax").predict([(image, box)])
    err_dark = np.abs(dark.keypoints - BLOBS).max()
    err_arg = np.abs(arg.keypoints - BLOBS).max()
    assert err_arg < 3.5 and err_dark < err_arg
