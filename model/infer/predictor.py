"""Predictor: run a checkpoint on (image, box) items and return per-instance Predictions.

Top-down: each instance is cropped (box × padding, aspect kept) to the network input, normalised and
batched; every stack's heatmaps are decoded and mapped back to image pixels. Items without a box get
a whole-image pass, a box from its confident keypoints (extent padded by max(10 px, 15 %)) and a crop
pass that refines them. Optional flip test averages with the mirrored crop (skeleton flip pairs).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.annotations.skeleton import Skeleton
from model.annotations.types import Prediction
from model.codec.transforms import WHOLE_IMAGE_PADDING
from model.device import describe_device, resolve_device
from model.infer.absent import absent_mask, thresholds_from_meta
from model.infer.checkpoint import ModelBundle, build_model, load_checkpoint
from model.infer.crops import Box, box_from_keypoints, check_box, check_image, make_crops, whole_image_box
from model.infer.decoding import decode_stacks, flip_disagreement, heatmap_to_image_affines, merge_flipped
from model.infer.runtime import prepare_for_inference
from model.nn.hourglass import StackedHourglass

log = logging.getLogger(__name__)

Item = tuple[np.ndarray, Sequence[float] | None]
DECODE_METHODS = ("dark", "argmax")


def _fallback_runtime(model: nn.Module, device: torch.device) -> tuple[nn.Module, str, Callable]:
    """Plain settings for a module that is not a StackedHourglass (a stand-in in tests): fp32 on the
    CPU; channels_last + bf16/fp16 autocast on CUDA."""
    if device.type != "cuda":
        return model, "fp32", contextlib.nullcontext
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    model = model.to(memory_format=torch.channels_last)
    name = "bf16" if dtype == torch.bfloat16 else "fp16"
    return model, name, lambda: torch.autocast("cuda", dtype=dtype)


def prepare_runtime(model: nn.Module, device: torch.device,
                    engine: str | None = None) -> tuple[nn.Module, str, Callable, str]:
    """The single hook choosing engine, kernels and precision: (model, precision, autocast, engine).

    A StackedHourglass goes through `model.infer.runtime.prepare_for_inference` (OpenVINO on the CPU
    when installed and verified, else torch); any other module gets plain torch settings.
    """
    if not isinstance(model, StackedHourglass):
        return (*_fallback_runtime(model, device), "torch")
    rt = prepare_for_inference(model, device, engine=engine)
    return rt.model, rt.precision, rt.autocast, rt.backend


def _memory_format(model: nn.Module) -> torch.memory_format:
    for param in model.parameters():
        if param.ndim == 4:
            cl = param.is_contiguous(memory_format=torch.channels_last) and not param.is_contiguous()
            return torch.channels_last if cl else torch.contiguous_format
    return torch.contiguous_format


class Predictor:
    """Runs one checkpoint; attributes `skeleton`, `config`, `device_name`, `precision`, `engine`."""

    def __init__(
        self,
        checkpoint: str | Path | ModelBundle,
        device: str | torch.device = "auto",
        flip_test: bool = False,
        decode: str | None = None,
        *,
        skeleton: Skeleton | str | Path | None = None,
        network: nn.Module | None = None,
        padding: float | None = None,
        whole_image_padding: float = WHOLE_IMAGE_PADDING,
        refine_min_confidence: float = 0.1,
        engine: str | None = None,
        finder: str | Path | ModelBundle | None = None,
    ) -> None:
        """`skeleton` is passed to load_checkpoint (required for pytorch-pose files); `network`
        replaces the bundle's weights with a ready module of the same config (e.g. during training);
        `engine` "auto" (default, env HGLABEL_ENGINE) | "openvino" | "torch" (see model.infer.runtime);
        `finder`: an instance-finder checkpoint (default: the one the checkpoint holds, if any).
        `decode` and `padding` default to the checkpoint's heatmap spec (`bundle.heatmap`)."""
        if decode is not None and decode not in DECODE_METHODS:
            raise ValueError(f"decode must be one of {DECODE_METHODS}, got {decode!r}")
        bundle = checkpoint if isinstance(checkpoint, ModelBundle) else load_checkpoint(checkpoint, skeleton)
        self.bundle = bundle
        self.config = bundle.config
        self.skeleton = bundle.skeleton
        self.spec = bundle.heatmap
        self.flip_test, self.decode = bool(flip_test), decode or self.spec.decoder
        self.padding = float(self.spec.padding if padding is None else padding)
        self.whole_image_padding = float(whole_image_padding)
        self.refine_min_confidence = float(refine_min_confidence)
        self.device = resolve_device(device)
        self.device_name = describe_device(self.device)
        model = (network if network is not None else build_model(bundle)).eval().to(self.device)
        self.model, self.precision, self._autocast, self.engine = prepare_runtime(model, self.device, engine)
        self._memory_format = _memory_format(self.model)
        scale, shift = bundle.normalization.scale_and_shift()
        self._scale = torch.from_numpy(scale).view(1, 3, 1, 1).to(self.device)
        self._shift = torch.from_numpy(shift).view(1, 3, 1, 1).to(self.device)
        self._flip_index = self.skeleton.flip_index()
        self.absent_threshold = thresholds_from_meta(bundle.meta, self.config.num_keypoints)
        if self.engine != "torch":
            self.device_name = f"{self.device_name} ({self.engine})"
        self.finder = None
        if finder is not None or bundle.finder is not None:
            from model.infer.finder import Finder

            self.finder = Finder(finder if finder is not None else bundle.finder, self.device)
        log.info("predictor: %s, %s, %s on %s", Path(bundle.source).name or "in-memory model",
                 self.config, self.precision, self.device_name)

    # ---- public ----------------------------------------------------------------------------------
    def predict(self, items: Sequence[Item], batch_size: int = 8) -> list[Prediction]:
        """One Prediction per (image (H, W, 3) uint8 RGB, box [x, y, w, h] or None), in order."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        images = [check_image(item[0], i) for i, item in enumerate(items)]
        boxes = [None if item[1] is None else check_box(item[1], i) for i, item in enumerate(items)]
        results: list[Prediction | None] = [None] * len(images)
        boxed = [i for i, b in enumerate(boxes) if b is not None]
        self._fill(results, boxed, images, [boxes[i] for i in boxed], self.padding, batch_size)
        free = [i for i, b in enumerate(boxes) if b is None]
        whole = [whole_image_box(images[i]) for i in free]
        self._fill(results, free, images, whole, self.whole_image_padding, batch_size)
        refine, found = [], []
        for i in free:
            h, w = images[i].shape[:2]
            pred = results[i]
            box = box_from_keypoints(pred.keypoints, pred.confidence, (w, h), self.refine_min_confidence)
            if box is not None:
                refine.append(i)
                found.append(box)
        self._fill(results, refine, images, found, self.padding, batch_size)
        return results  # type: ignore[return-value]

    def predict_image(self, image: np.ndarray,
                      boxes: Sequence[Box] = ()) -> list[tuple[int | None, Prediction]]:
        """Every instance of one image: the given boxes, plus (with a finder) the instances not already
        there; [(box index or None for a new instance, Prediction)]. See model.infer.finder."""
        from model.infer.finder import predict_image

        return predict_image(self, image, boxes)

    def predict_boxes(
        self, images: Sequence[np.ndarray], boxes: Sequence[Box], padding: float, batch_size: int = 8
    ) -> list[Prediction]:
        """Predictions for crops of `boxes` (one per image) at the given padding, batched."""
        out: list[Prediction] = []
        for start in range(0, len(images), batch_size):
            stop = start + batch_size
            size = self.config.input_size
            crops, affines = make_crops(images[start:stop], boxes[start:stop], size, padding)
            out.extend(self._predict_crops(crops, affines, boxes[start:stop]))
        return out

    # ---- internals -------------------------------------------------------------------------------
    def _fill(self, results: list, indices: list[int], images: list, boxes: list[Box], padding: float,
              batch_size: int) -> None:
        """Predict images[indices] with boxes (aligned with indices) into results[indices]."""
        preds = self.predict_boxes([images[i] for i in indices], boxes, padding, batch_size)
        for i, pred in zip(indices, preds, strict=True):
            results[i] = pred

    def _predict_crops(
        self, crops: np.ndarray, affines: np.ndarray, boxes: Sequence[Box]
    ) -> list[Prediction]:
        """Crops (n, h, w, 3) uint8 with their image → input affines (n, 2, 3) → n Predictions."""
        hm_to_image = heatmap_to_image_affines(affines, self.config.stride)
        heatmaps = self._run(crops)
        disagreement = None
        if self.flip_test:
            flipped = self._run(np.ascontiguousarray(crops[:, :, ::-1]))
            disagreement = flip_disagreement(
                heatmaps[:, -1], flipped[:, -1], self._flip_index, hm_to_image, self.spec, self.decode
            )
            heatmaps = merge_flipped(heatmaps, flipped, self._flip_index)
        stack_xy, peaks = decode_stacks(heatmaps, hm_to_image, self.spec, self.decode)
        return [
            Prediction(
                keypoints=stack_xy[i, -1], confidence=peaks[i, -1], stack_heatmaps=heatmaps[i],
                stack_keypoints=stack_xy[i], heatmap_to_image=hm_to_image[i], box=tuple(boxes[i]),
                flip_disagreement=None if disagreement is None else disagreement[i],
                absent=None if self.absent_threshold is None else absent_mask(peaks[i, -1],
                                                                               self.absent_threshold),
            )
            for i in range(len(crops))
        ]

    def _run(self, crops: np.ndarray) -> np.ndarray:
        """Crops (n, h, w, 3) uint8 RGB → heatmaps (n, S, K, h/4, w/4) float32 of every stack."""
        with torch.inference_mode():
            x = torch.from_numpy(crops).to(self.device, non_blocking=True)
            x = x.permute(0, 3, 1, 2).float().mul_(self._scale).add_(self._shift)
            x = x.contiguous(memory_format=self._memory_format)
            with self._autocast():
                outputs = self.model(x)
            heatmaps = torch.stack([o.float() for o in outputs], dim=1).cpu().numpy()
        cfg = self.config
        expected = (len(crops), cfg.stacks, cfg.num_keypoints, cfg.heatmap_size[1], cfg.heatmap_size[0])
        if heatmaps.shape != expected:
            raise RuntimeError(f"network returned heatmaps {heatmaps.shape}, expected {expected}")
        return heatmaps


def load_predictor(path: str | Path, project_skeleton: Skeleton | None, device: str = "auto",
                   flip_test: bool = False, decode: str | None = None) -> Predictor:
    """A Predictor for a project: our own format keeps its skeleton (whose keypoints must be the
    project's); a pytorch-pose file takes the project's skeleton. Raises CheckpointError or ValueError."""
    from model.infer.checkpoint import SkeletonNeededError

    try:
        bundle = load_checkpoint(path)
    except SkeletonNeededError:
        if project_skeleton is None:
            raise
        bundle = load_checkpoint(path, project_skeleton)
    if project_skeleton is not None and bundle.skeleton.keypoints != project_skeleton.keypoints:
        raise ValueError(
            f"{path}: the checkpoint's keypoints {list(bundle.skeleton.keypoints)} differ from the "
            f"project's {list(project_skeleton.keypoints)}"
        )
    return Predictor(bundle, device=device, flip_test=flip_test, decode=decode)
