"""Helpers shared by tests of several packages (test data subsets)."""

from __future__ import annotations

import json
import shutil
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


def labelled_folder(tmp_path: Path, openfield: Path, labelled: int, unlabelled: int) -> Path:
    """tmp_path/images with the first labelled + unlabelled openfield images (by file name); the first
    `labelled` imported from COCO (so done), the rest without labels."""
    from model.project.coco_bridge import import_coco

    folder = tmp_path / "images"
    folder.mkdir()
    for path in sorted((openfield / "images").glob("*.png"))[:labelled + unlabelled]:
        shutil.copy(path, folder / path.name)
    report = import_coco(subset_coco(openfield, tmp_path, labelled), folder)
    assert report.annotations == labelled
    return folder
