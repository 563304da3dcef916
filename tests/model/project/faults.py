"""Helpers that damage a real project file the way disks, sync clients and other processes do."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from model.project.coco_bridge import import_coco


def imported_project(openfield: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(project file, image folder): the 12 openfield frames imported (all done, one instance each)."""
    images = tmp_path / "imgs"
    shutil.copytree(openfield / "images", images)
    report = import_coco(openfield / "annotations.json", images)
    return report.project, images


def patch_bytes(db: Path, old: bytes, new: bytes, near: bytes = b"") -> None:
    """Overwrite the first occurrence of old (followed within 24 bytes by `near`) in the closed file."""
    assert len(old) == len(new)
    data = bytearray(db.read_bytes())
    start = 0
    while True:
        at = data.index(old, start)
        if near in data[at + len(old):at + len(old) + 24]:
            break
        start = at + 1
    data[at:at + len(old)] = new
    db.write_bytes(bytes(data))


def first_blob(db: Path) -> bytes:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT keypoints FROM instances ORDER BY id LIMIT 1").fetchone()[0]
