"""Helpers shared by tests of several packages (test data subsets)."""

from __future__ import annotations

import json
from pathlib import Path


def subset_coco(openfield: Path, tmp_path: Path, count: int, start: int = 0) -> Path:
    """A COCO file of the openfield images at positions start … start+count-1 of annotations.json
    (sorted by file name; the images stay in openfield/images)."""
    data = json.loads((openfield / "annotations.json").read_text())
    images = sorted(data["images"], key=lambda im: im["file_name"])[start:start + count]
    assert len(images) == count, f"{openfield} has fewer than {start + count} images"
    ids = {im["id"] for im in images}
    data["images"] = images
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] in ids]
    path = tmp_path / f"coco_{start}_{count}.json"
    path.write_text(json.dumps(data))
    return path
