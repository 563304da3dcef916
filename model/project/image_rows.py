"""Image rows of the project file: the ImageRecord value type, reading rows into it, keeping `ord` natural."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from model.annotations.types import ReviewStatus
from model.project.scan import natural_sorted

IMAGE_COLUMNS = "id, path, status, width, height, missing"
_STATUS_OF = {str(s): s for s in ReviewStatus}  # faster than ReviewStatus(value) for 10 000 rows


@dataclass(frozen=True)
class ImageRecord:
    """One image of the project. width/height are None until known (set lazily via set_image_size)."""

    id: int
    path: str  # relative to the image root, POSIX separators
    status: ReviewStatus
    width: int | None
    height: int | None
    missing: bool  # the file vanished from the folder at the last scan (labels are kept)


@dataclass(frozen=True)
class RescanReport:
    added: int
    vanished: int
    returned: int
    total: int


def records(found: list[tuple]) -> list[ImageRecord]:
    """Rows of IMAGE_COLUMNS → ImageRecords."""
    status_of = _STATUS_OF
    return [ImageRecord(i, p, status_of[s], w, h, m == 1) for i, p, s, w, h, m in found]


def insert_paths(conn: sqlite3.Connection, new: list[str]) -> None:
    """Insert new image paths and keep `ord` the natural order of all paths (inside a transaction)."""
    if not new:
        return
    existing = conn.execute("SELECT id, path, ord FROM images").fetchall()
    order = {p: i for i, p in enumerate(natural_sorted([r[1] for r in existing] + new))}
    conn.executemany("INSERT INTO images (path, ord) VALUES (?, ?)", [(p, order[p]) for p in new])
    moved = [(order[p], i) for i, p, o in existing if o != order[p]]
    conn.executemany("UPDATE images SET ord=? WHERE id=?", moved)
