"""Training the instance finder: whole-image samples → one centre heatmap, the pose training's parts.

A sample is one whole image (every labelled instance of it) warped to the finder input with the pose
training's augmentation (`sample_params`/`sample_affine` in whole-image mode: scale, rotation, flip,
brightness/contrast) and a target of one Gaussian per instance centre (model.finder.centres). The
loss is the pose training's heatmap MSE over every stack; the schedule its warm-up + cosine. The
result is our ordinary checkpoint with a one-keypoint skeleton and meta["kind"] = "instance-finder",
plus the crop size the predictor puts around each found centre (the largest training box side).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from model.annotations.skeleton import Skeleton
from model.codec.spec import HeatmapSpec
from model.codec.transforms import warp_image
from model.finder.centres import FINDER_KIND, FINDER_SIGMA, centre_targets, instance_centre
from model.infer.checkpoint import save_checkpoint
from model.infer.normalization import Normalization
from model.nn.hourglass import HourglassConfig, build_hourglass
from model.train.augment import AugmentConfig, photometric, sample_affine, sample_params, sample_rng
from model.train.config import lr_at
from model.train.data import TrainItem
from model.train.dataset import ImageCache
from model.train.loss import heatmap_loss
from model.train.progress import Progress
from model.train.state import zero_heads

log = logging.getLogger(__name__)

FINDER_SKELETON = Skeleton("instance-centre", ("centre",))


@dataclass(frozen=True, eq=False)
class FinderImage:
    """One training image: a file (or pixels (H, W, 3) uint8) and its instance centres (N, 2) image px,
    plus their boxes (N, 4) for the crop size."""

    source: Path | np.ndarray
    centres: np.ndarray
    boxes: np.ndarray


@dataclass(frozen=True)
class FinderConfig:
    """Network and run options of a finder training."""

    out: Path
    input_size: tuple[int, int] = (256, 192)
    stacks: int = 1
    features: int = 32
    depth: int = 4  # 3 allows input sides that are multiples of 32
    epochs: int = 30
    batch_size: int = 8
    lr: float = 2e-3
    warmup_steps: int = 20
    seed: int = 0
    time_budget_s: float | None = None  # stop (and save) after this much training time
    save_every_s: float | None = None  # also write cfg.out this often while training
    augment: AugmentConfig = AugmentConfig(rotation_deg=20.0, whole_image_prob=1.0)


def images_from_items(items: list[TrainItem]) -> list[FinderImage]:
    """Group pose TrainItems (one per instance) by image into FinderImages (every instance a centre)."""
    grouped: dict[str, list[TrainItem]] = {}
    for it in items:
        grouped.setdefault(it.image_key, []).append(it)
    out = []
    for group in grouped.values():
        centres = np.stack([instance_centre(it.xy, it.vis, it.box) for it in group])
        out.append(FinderImage(group[0].image_path, centres, np.stack([it.box for it in group])))
    return out


class FinderDataset(Dataset):
    """FinderImages → dicts of image (3, h, w) float32 normalised, target (1, h/4, w/4), weight (1,)."""

    def __init__(self, images: list[FinderImage], cfg: FinderConfig, stride: int,
                 norm: Normalization) -> None:
        self.images, self.cfg, self.stride, self.epoch = images, cfg, stride, 0
        scale, shift = norm.scale_and_shift()
        self._scale, self._shift = scale.reshape(3, 1, 1), shift.reshape(3, 1, 1)
        self.cache = ImageCache()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        item = self.images[index]
        pixels = item.source if isinstance(item.source, np.ndarray) else self.cache.get(item.source)
        params = sample_params(sample_rng(self.cfg.seed, self.epoch, index), self.cfg.augment)
        params = replace(params, whole_image=True)
        h, w = pixels.shape[:2]
        m = sample_affine(np.zeros(4), (w, h), self.cfg.input_size, params)
        crop = photometric(warp_image(pixels, m, self.cfg.input_size), params)
        target = centre_targets(item.centres, m, self.cfg.input_size, self.stride)
        chw = crop.transpose(2, 0, 1).astype(np.float32) * self._scale + self._shift
        return {"image": torch.from_numpy(np.ascontiguousarray(chw, np.float32)),
                "target": torch.from_numpy(target), "weight": torch.ones(1)}


def crop_size(images: list[FinderImage]) -> list[float]:
    """[w, h] of the box put around each found centre: the 95th percentile of the training boxes' longer
    side, for both (an instance can turn any way)."""
    boxes = np.concatenate([im.boxes for im in images])
    side = float(np.percentile(np.maximum(boxes[:, 2], boxes[:, 3]), 95))
    return [side, side]


def _schedule_step(step: int, total: int, start: float, cfg: FinderConfig) -> int:
    """The step the learning-rate schedule is at: with a time budget, the further of steps and time."""
    if cfg.time_budget_s is None:
        return step
    by_time = int(total * (time.monotonic() - start) / max(cfg.time_budget_s, 1e-9))
    return max(step, min(total, by_time)) if step >= cfg.warmup_steps else step


def _save(net, config: HourglassConfig, norm: Normalization, cfg: FinderConfig, images: list[FinderImage],
          step: int, epoch: int, loss: float) -> None:
    meta = {"kind": FINDER_KIND, "crop_size": crop_size(images), "steps": step,
            "epochs": epoch + 1, "train_images": len(images), "train_loss": loss}
    spec = HeatmapSpec(tuple(config.input_size), config.stride, FINDER_SIGMA)
    save_checkpoint(cfg.out, net.eval(), config, FINDER_SKELETON, norm, meta, heatmap=spec)


def train_finder(images: list[FinderImage], cfg: FinderConfig, progress: Progress | None = None) -> Path:
    """Train a finder on `images`; writes and returns cfg.out (an hglabel checkpoint)."""
    if len(images) < 2:
        raise ValueError(f"the finder needs at least 2 labelled images, got {len(images)}")
    progress = progress or Progress(enabled=False)
    torch.manual_seed(cfg.seed)
    config = HourglassConfig(num_keypoints=1, stacks=cfg.stacks, blocks=1, features=cfg.features,
                             depth=cfg.depth, input_size=tuple(cfg.input_size))
    net = build_hourglass(config)
    zero_heads(net)
    norm = Normalization()
    data = FinderDataset(images, cfg, config.stride, norm)
    batch = min(cfg.batch_size, len(images))
    loader = DataLoader(data, batch_size=batch, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(cfg.seed))
    total = cfg.epochs * len(loader)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    progress.set_total_steps(total)
    progress.emit("start", kind=FINDER_KIND, config=config.to_dict(), images=len(images), total_steps=total)
    step, start, loss_value, epoch = 0, time.monotonic(), float("nan"), 0
    saved = start
    net.train()
    for epoch in range(cfg.epochs):
        data.epoch = epoch
        for sample in loader:
            for group in opt.param_groups:
                group["lr"] = lr_at(_schedule_step(step, total, start, cfg), total, cfg.lr, cfg.warmup_steps)
            loss = heatmap_loss(net(sample["image"]), sample["target"], sample["weight"].reshape(-1, 1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step, loss_value = step + 1, float(loss.detach())
            progress.emit("step", epoch=epoch, step=step, loss=loss_value)
            if cfg.save_every_s is not None and time.monotonic() - saved > cfg.save_every_s:
                _save(net, config, norm, cfg, images, step, epoch, loss_value)
                net.train()
                saved = time.monotonic()
            if cfg.time_budget_s is not None and time.monotonic() - start > cfg.time_budget_s:
                break
        else:
            continue
        break
    _save(net, config, norm, cfg, images, step, epoch, loss_value)
    progress.emit("done", kind=FINDER_KIND, step=step, loss=loss_value, out=str(cfg.out),
                  elapsed_s=time.monotonic() - start)
    return cfg.out
