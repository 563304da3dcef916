"""Synthetic multi-animal scenes from single-animal labelled frames (numpy + OpenCV), for tests, benchmarks.

Frames of one static camera share their background, so the labelled animal of one frame can be
pasted into another frame where that part of the floor is empty: the pixels of the source that are
clearly darker (or lighter) than the target's floor there are blended in with a soft mask, and the
keypoints come with them. `compose_scene` keeps the animal where it was (pairs whose boxes do not
touch); `paste_moved` shifts it (for sequences over an empty background, e.g. the median of frames).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from model.annotations.boxes import iou_matrix, keypoint_box

BLEND_LOW, BLEND_HIGH = 8.0, 32.0  # grey-level difference where the source starts / fully shows


@dataclass(frozen=True, eq=False)
class Animal:
    """One labelled instance: xy (K, 2) float64 image px, vis (K,) int8, box (4,) float64 [x, y, w, h]."""

    xy: np.ndarray
    vis: np.ndarray
    box: np.ndarray

    def moved(self, offset: np.ndarray) -> Animal:
        off = np.asarray(offset, np.float64)
        xy = np.where(self.vis[:, None] > 0, self.xy + off, self.xy)
        return Animal(xy, self.vis, self.box + np.array([off[0], off[1], 0.0, 0.0]))


@dataclass(frozen=True, eq=False)
class Frame:
    """An image (H, W, 3) uint8 RGB with its labelled animals and a name."""

    name: str
    image: np.ndarray
    animals: tuple[Animal, ...]


def load_coco_frames(coco_path: Path, images_dir: Path, names: set[str] | None = None) -> list[Frame]:
    """Frames of a COCO keypoints file (optionally only the file names in `names`), in file order."""
    from model.io.images import read_image

    data = json.loads(Path(coco_path).read_text())
    by_image: dict[int, list[Animal]] = {}
    for ann in data["annotations"]:
        flat = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
        vis = flat[:, 2].astype(np.int8)
        box = keypoint_box(flat[:, :2], vis) or tuple(ann["bbox"])
        by_image.setdefault(ann["image_id"], []).append(Animal(flat[:, :2], vis, np.asarray(box, np.float64)))
    frames = []
    for im in data["images"]:
        if names is not None and im["file_name"] not in names:
            continue
        image = read_image(Path(images_dir) / im["file_name"])
        frames.append(Frame(im["file_name"], image, tuple(by_image.get(im["id"], ()))))
    return frames


def _region(box: np.ndarray, size: tuple[int, int], margin: float = 6.0) -> tuple[int, int, int, int]:
    x0 = int(max(0, np.floor(box[0] - margin)))
    y0 = int(max(0, np.floor(box[1] - margin)))
    x1 = int(min(size[0], np.ceil(box[0] + box[2] + margin)))
    y1 = int(min(size[1], np.ceil(box[1] + box[3] + margin)))
    return x0, y0, x1, y1


def paste_moved(target: np.ndarray, source: np.ndarray, animal: Animal,
                offset=(0, 0)) -> tuple[np.ndarray, Animal]:
    """target (H, W, 3) uint8 with the animal of `source` (same size) moved by an integer offset (dx, dy).

    Only pixels that differ clearly from the target's background there are blended in (soft mask);
    returns (new image, the moved Animal)."""
    h, w = target.shape[:2]
    dx, dy = (int(round(v)) for v in offset)
    x0, y0, x1, y1 = _region(animal.box, (w, h))
    tx0, ty0 = max(0, x0 + dx), max(0, y0 + dy)
    tx1, ty1 = min(w, x1 + dx), min(h, y1 + dy)
    out = target.copy()
    if tx1 <= tx0 or ty1 <= ty0:
        return out, animal.moved((dx, dy))
    src = source[ty0 - dy:ty1 - dy, tx0 - dx:tx1 - dx].astype(np.float32)
    dst = out[ty0:ty1, tx0:tx1].astype(np.float32)
    diff = np.abs(src.mean(axis=2) - dst.mean(axis=2))
    alpha = np.clip((diff - BLEND_LOW) / (BLEND_HIGH - BLEND_LOW), 0.0, 1.0)
    alpha = cv2.GaussianBlur(alpha, (5, 5), 0)[:, :, None]
    out[ty0:ty1, tx0:tx1] = np.clip(np.rint(dst * (1 - alpha) + src * alpha), 0, 255).astype(np.uint8)
    return out, animal.moved((dx, dy))


def apart(a: Animal, others: list[Animal], gap: float = 8.0) -> bool:
    """True when a's box, grown by `gap` px on each side, touches none of the others' boxes."""
    if not others:
        return True
    grown = a.box + np.array([-gap, -gap, 2 * gap, 2 * gap])
    return bool((iou_matrix(grown[None], np.stack([o.box for o in others])) == 0).all())


def compose_scene(base: Frame, donors: list[Frame]) -> Frame:
    """base with the first animal of each donor pasted where it stood (donors must be `apart`)."""
    image, animals = base.image, list(base.animals)
    for donor in donors:
        image, moved = paste_moved(image, donor.image, donor.animals[0])
        animals.append(moved)
    names = "+".join([base.name.rsplit(".", 1)[0]] + [d.name.rsplit(".", 1)[0] for d in donors])
    return Frame(names + ".png", image, tuple(animals))


def two_animal_scenes(frames: list[Frame], count: int, seed: int = 0) -> list[Frame]:
    """`count` scenes: frame i % n as base and one other frame whose animal stands apart from it."""
    rng = np.random.default_rng(seed)
    usable = [f for f in frames if len(f.animals) == 1]
    scenes = []
    for i in range(count):
        base = usable[i % len(usable)]
        partners = [f for f in usable if f is not base and apart(f.animals[0], list(base.animals))]
        if partners:
            scenes.append(compose_scene(base, [partners[int(rng.integers(len(partners)))]]))
    return scenes


def median_background(frames: list[Frame]) -> np.ndarray:
    """(H, W, 3) uint8 per-pixel median of the frames: the empty arena when the animal moves about."""
    return np.median(np.stack([f.image for f in frames]), axis=0).astype(np.uint8)


def write_coco(frames: list[Frame], folder: Path, keypoint_names: list[str], edges=()) -> Path:
    """Write frames as folder/images/*.png + folder/annotations.json (COCO keypoints); returns the json."""
    images_dir = Path(folder) / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(images_dir / frame.name), cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
        h, w = frame.image.shape[:2]
        images.append({"id": i, "file_name": frame.name, "width": w, "height": h})
        for a in frame.animals:
            flat = np.column_stack([np.where(a.vis[:, None] > 0, a.xy, 0.0), a.vis]).reshape(-1)
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1, "iscrowd": 0,
                         "keypoints": [float(v) for v in flat], "num_keypoints": int((a.vis > 0).sum()),
                         "bbox": [float(v) for v in a.box], "area": float(a.box[2] * a.box[3])})
    category = {"id": 1, "name": "animal", "keypoints": list(keypoint_names),
                "skeleton": [[int(a) + 1, int(b) + 1] for a, b in edges]}
    path = Path(folder) / "annotations.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [category]}))
    return path
