"""Torch side of the training data: the augmented-crop Dataset, image cache, resumable sampler, loader.

Each sample's randomness comes from (seed, epoch, index) only, so results do not depend on the
number of loader workers or on where a run was resumed.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from model.codec.spec import HeatmapSpec
from model.infer.normalization import Normalization
from model.io.frames import read_source
from model.train.augment import AugmentConfig, make_sample, sample_params, sample_rng
from model.train.data import TrainItem

log = logging.getLogger(__name__)

CACHE_BYTES = 1 << 30  # decoded images kept per process


class ImageCache:
    """Decoded images (H, W, 3) uint8 by path, least recently used dropped beyond `max_bytes`."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._images: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, path) -> np.ndarray:
        key = str(path)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)
            return image
        image = read_source(path)
        self._images[key] = image
        self._bytes += image.nbytes
        while self._bytes > self.max_bytes and len(self._images) > 1:
            _, old = self._images.popitem(last=False)
            self._bytes -= old.nbytes
        return image


class KeypointDataset(Dataset):
    """Items → dicts of image (3, h, w) float32 normalised, target (K, h/4, w/4) float32, weight (K,)."""

    def __init__(self, items: list[TrainItem], spec: HeatmapSpec, flip_index: np.ndarray,
                 normalization: Normalization, augment: AugmentConfig, seed: int = 0) -> None:
        self.items = items
        self.spec = spec
        self.flip_index = np.asarray(flip_index, np.int64)
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0
        scale, shift = normalization.scale_and_shift()
        self._scale, self._shift = scale.reshape(3, 1, 1), shift.reshape(3, 1, 1)
        self.cache = ImageCache()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        item = self.items[index]
        image = self.cache.get(item.image_path)
        params = sample_params(sample_rng(self.seed, self.epoch, index), self.augment)
        crop, target, weight = make_sample(image, item.xy, item.vis, item.box, self.spec,
                                           self.flip_index, params)
        chw = crop.transpose(2, 0, 1).astype(np.float32) * self._scale + self._shift
        return {
            "image": torch.from_numpy(np.ascontiguousarray(chw, np.float32)),
            "target": torch.from_numpy(target),
            "weight": torch.from_numpy(weight),
            "index": index,
        }


class ResumableSampler(Sampler[int]):
    """A DistributedSampler (also for one process) whose first `skip` indices of an epoch are dropped,
    so a run stopped mid-epoch resumes with the same batches it had not yet seen."""

    def __init__(self, size: int, rank: int, world_size: int, seed: int) -> None:
        self.base = DistributedSampler(range(size), num_replicas=world_size, rank=rank, shuffle=True,
                                       seed=seed, drop_last=False)
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.base.set_epoch(epoch)
        self.skip = int(skip)

    def __iter__(self) -> Iterator[int]:
        return iter(list(self.base)[self.skip:])

    def __len__(self) -> int:
        return max(0, len(self.base) - self.skip)

    @property
    def per_rank(self) -> int:
        return len(self.base)


def make_loader(dataset: KeypointDataset, sampler: ResumableSampler, batch_size: int, workers: int,
                pin_memory: bool) -> DataLoader:
    """Batches of `batch_size` (the last partial batch dropped: BatchNorm needs more than one sample)."""
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      drop_last=True, pin_memory=pin_memory, persistent_workers=False)
