"""Accuracy part of bench/predict.py: a trained openfield model and its pixel error, fp32 against ours.

The model: the demo checkpoint (assets/demo/checkpoint.pt) when it exists, else a 2-stack network
briefly trained here with hglabel's own trainer on img0000–img0079 (features 64, input 128×128; cached
in bench/.cache/, keyed by the step count). Evaluation: img0080–img0115, crops from the ground-truth
boxes (padding 1.25), final-stack heatmaps decoded with DARK, mean Euclidean error over labelled
keypoints in image pixels.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.codec.heatmap import decode_heatmaps
from model.codec.transforms import (
    apply_affine,
    crop_affine,
    image_to_heatmap_affine,
    invert_affine,
    warp_image,
)
from model.infer.checkpoint import ModelBundle, build_model, load_checkpoint
from model.io.images import read_image
from model.nn.hourglass import StackedHourglass

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo" / "checkpoint.pt"
CACHE = ROOT / "bench" / ".cache"
TRAIN_IMAGES = re.compile(r"img00([0-7]\d)\.png$")  # img0000–img0079
EVAL_RANGE = range(80, 116)  # img0080–img0115
PADDING = 1.25


def openfield_dir() -> Path:
    """openfield_mouse in $HGLABEL_SHARED (as the tests' CI), else in ../shared beside the clone."""
    shared = os.environ.get("HGLABEL_SHARED") or ROOT.parent / "shared"
    return (Path(shared) / "data" / "openfield_mouse").resolve()


def train_small_model(steps: int, out: Path, data: Path) -> Path:
    """Train 2 stacks × 64 features at 128×128 for about `steps` steps of batch 8; the checkpoint path."""
    from model.train.config import ArchOptions, TrainConfig
    from model.train.data import items_from_coco
    from model.train.loop import Trainer
    from model.train.progress import Progress

    skeleton, items = items_from_coco(data / "annotations.json", data / "images")
    train = [it for it in items if TRAIN_IMAGES.search(it.image_key)]
    if not train:
        raise SystemExit(f"{data}: no training images img0000–img0079 in annotations.json")
    epochs = max(1, round(steps / (len(train) // 8)))
    with tempfile.TemporaryDirectory(prefix="hglabel-bench-") as tmp:
        cfg = TrainConfig(out_dir=Path(tmp), epochs=epochs, batch_size=8, lr=2e-3, warmup_steps=20,
                          val_fraction=0.0, device="cpu", workers=0, precision="fp32",
                          arch=ArchOptions(stacks=2, features=64, input_size=128), seed=0)
        result = Trainer(cfg, skeleton, train, [], progress=Progress(enabled=False)).run()
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.best or result.last, out)
    return out


def trained_bundle(steps: int) -> tuple[ModelBundle, str]:
    """(bundle, where it came from): the demo model, else the cached or freshly trained small model."""
    if DEMO.is_file():
        return load_checkpoint(DEMO), f"demo model {DEMO.relative_to(ROOT)}"
    cached = CACHE / f"openfield_hg2_f64_128_s{steps}.pt"
    if cached.is_file():
        return load_checkpoint(cached), f"cached {cached.relative_to(ROOT)} ({steps} steps)"
    log.warning("no demo model: training a small one for %d steps (a few minutes on 2 cores)", steps)
    train_small_model(steps, cached, openfield_dir())
    return load_checkpoint(cached), f"trained now {cached.relative_to(ROOT)} ({steps} steps)"


@dataclass(frozen=True)
class EvalSet:
    """Crops (n, h, w, 3) uint8, heatmap → image affines (n, 2, 3), labels (n, K, 2), labelled mask (n, K)."""

    crops: np.ndarray
    hm_to_image: np.ndarray
    truth: np.ndarray
    labelled: np.ndarray


def eval_set(data: Path, input_size: tuple[int, int], stride: int) -> EvalSet:
    """The evaluation frames img0080–img0115 cropped from their ground-truth boxes."""
    import json

    coco = json.loads((data / "annotations.json").read_text())
    by_name = {im["file_name"]: im["id"] for im in coco["images"]}
    anns = {a["image_id"]: a for a in coco["annotations"]}
    crops, affines, truth, labelled = [], [], [], []
    for i in EVAL_RANGE:
        name = f"img{i:04d}.png"
        if name not in by_name:
            raise SystemExit(f"{data / 'annotations.json'}: evaluation image {name} missing")
        ann = anns[by_name[name]]
        kp = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
        image = read_image(data / "images" / name)
        crops.append(warp_image(image, crop_affine(ann["bbox"], input_size, padding=PADDING), input_size))
        affines.append(invert_affine(image_to_heatmap_affine(ann["bbox"], input_size, stride, PADDING)))
        truth.append(kp[:, :2])
        labelled.append(kp[:, 2] > 0)
    return EvalSet(np.stack(crops), np.stack(affines), np.stack(truth), np.stack(labelled))


def predict_keypoints(run: Callable[[torch.Tensor], list[torch.Tensor]], bundle: ModelBundle,
                      data: EvalSet, batch: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(n, K, 2) float64 image-pixel keypoints from the final stack of `run` (x → heatmap list), and
    all stacks' heatmaps (n, S, K, h, w) float32."""
    scale, shift = (torch.from_numpy(v).view(1, 3, 1, 1) for v in bundle.normalization.scale_and_shift())
    out, maps = [], []
    for start in range(0, len(data.crops), batch):
        x = torch.from_numpy(data.crops[start:start + batch]).permute(0, 3, 1, 2).float() * scale + shift
        with torch.inference_mode():
            stacks = torch.stack([o.float() for o in run(x.contiguous())], 1).numpy()
        coords, _ = decode_heatmaps(stacks[:, -1], "dark")
        out.append(np.stack([apply_affine(m, c) for m, c in zip(data.hm_to_image[start:start + batch],
                                                                coords, strict=True)]))
        maps.append(stacks)
    return np.concatenate(out), np.concatenate(maps)


def mean_error(pred: np.ndarray, data: EvalSet) -> float:
    """Mean Euclidean distance (image px) over labelled keypoints."""
    return float(np.linalg.norm(pred - data.truth, axis=-1)[data.labelled].mean())


def accuracy(prepare: dict[str, Callable[[StackedHourglass], Callable]], steps: int) -> dict:
    """fp32 eager vs each `prepare[name](model)` on the evaluation frames; figures for the report:
    per name mean error, its difference from fp32, largest keypoint shift, max |Δ| of the heatmaps."""
    bundle, source = trained_bundle(steps)
    model = build_model(bundle)
    data = eval_set(openfield_dir(), bundle.config.input_size, bundle.config.stride)
    fp32, fp32_maps = predict_keypoints(model, bundle, data)
    e32 = mean_error(fp32, data)
    out = {"accuracy_model": source, "accuracy_input": list(bundle.config.input_size),
           "eval_images": len(data.crops), "error_fp32_px": e32}
    for name, make in prepare.items():
        mine, maps = predict_keypoints(make(model), bundle, data)
        out[name] = {"error_px": mean_error(mine, data), "error_delta_px": mean_error(mine, data) - e32,
                     "max_kpt_shift_px": float(np.linalg.norm(mine - fp32, axis=-1).max()),
                     "max_abs_delta": float(np.abs(maps - fp32_maps).max()),
                     "fp32_heatmap_max": float(np.abs(fp32_maps).max())}
    return out
