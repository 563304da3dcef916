"""Data of bench/instances.py: two-mouse scenes from the openfield frames (train split img0000–img0079,
held-out img0080–img0115) and the finder training run on the train split."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import numpy as np

from model.finder.centres import instance_centre
from model.finder.scenes import Frame, load_coco_frames, two_animal_scenes

SHARED = Path(os.environ.get("HGLABEL_SHARED", "/work/shared"))
OPENFIELD = SHARED / "data" / "openfield_mouse"
TRAIN_NAMES = {f"img{i:04d}.png" for i in range(80)}
TEST_NAMES = {f"img{i:04d}.png" for i in range(80, 116)}


def frames(names: set[str]) -> list[Frame]:
    return load_coco_frames(OPENFIELD / "annotations.json", OPENFIELD / "images", names)


def finder_images(scenes: list[Frame]):
    from model.finder.train import FinderImage

    return [FinderImage(s.image, np.stack([instance_centre(a.xy, a.vis, a.box) for a in s.animals]),
                        np.stack([a.box for a in s.animals])) for s in scenes]


def train_split_images(scenes_per_frame: int = 4) -> list:
    """The 80 training frames as they are (one mouse) plus scenes_per_frame two-mouse scenes each."""
    train = frames(TRAIN_NAMES)
    scenes = two_animal_scenes(train, scenes_per_frame * len(train), seed=1)
    return finder_images(train + scenes)


def main() -> None:
    import torch

    from model.finder.train import FinderConfig, train_finder
    from model.train.progress import Progress

    p = argparse.ArgumentParser(description="train the benchmark's finder on the train split")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--minutes", type=float, default=25.0)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(args.threads)
    images = train_split_images()
    cfg = FinderConfig(args.out, input_size=(128, 96), depth=3, features=args.features, epochs=400,
                       batch_size=8, time_budget_s=args.minutes * 60.0, save_every_s=300.0)
    train_finder(images, cfg, Progress(bar=False))


if __name__ == "__main__":
    main()
