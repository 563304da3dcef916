"""Bundled skeleton presets (coco17, mpii16) and name-or-file resolution."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from model.annotations.skeleton import Skeleton, SkeletonError, skeleton_from_json

PRESET_NAMES = ("coco17", "mpii16")


def load_preset(name: str) -> Skeleton:
    """One of PRESET_NAMES, read from the package's JSON file."""
    if name not in PRESET_NAMES:
        raise SkeletonError(f"unknown skeleton preset {name!r}; presets: {', '.join(PRESET_NAMES)}")
    text = resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8")

    return Skeleton.from_dict(json.loads(text))


def resolve_skeleton(name_or_path: str | Path) -> Skeleton:
    """A preset name ('mpii16'), the path of a skeleton JSON file or of a COCO keypoints file (its
    first keypoint category)."""
    text = str(name_or_path)
    if text in PRESET_NAMES:
        return load_preset(text)
    path = Path(text)
    if not path.is_file():
        raise SkeletonError(
            f"{text}: not a skeleton preset ({', '.join(PRESET_NAMES)}) nor an existing JSON file"
        )
    return skeleton_from_json(path)
