"""Checks run when a project opens: SQLite's quick_check, every stored value, every row checksum.

A damaged project (a bit flip on disk, an outside edit, a half-copied file) raises one
ProjectDamagedError naming the file, the first bad row and what is wrong with it, instead of a
KeyError or a wrong export later. Cost: one pass over the rows (~0.1 s for 10 000 images × 2
instances on the reference machine).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from model.annotations.types import ReviewStatus, Source
from model.io.names import name_problem
from model.project import rows, schema
from model.project.connection import ProjectError

AFTER_DAMAGE = "restore it from a backup, or re-import your last COCO export (see README, Project file)"
_STATUSES = tuple(str(s) for s in ReviewStatus)
_SOURCES = tuple(str(s) for s in Source)


class ProjectDamagedError(ProjectError):
    """The project file is damaged; the message names the file and the first bad row."""


def _damaged(path: Path, what: str) -> ProjectDamagedError:
    return ProjectDamagedError(f"{path}: damaged project file: {what}; {AFTER_DAMAGE}")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _image_problems(conn: sqlite3.Connection) -> tuple[int, str] | None:
    checks = (
        (f"status NOT IN {_in(_STATUSES)}", "review status {!r} is not one of " + ", ".join(_STATUSES),
         "status"),
        ("missing NOT IN (0, 1)", "missing flag {!r} is not 0 or 1", "missing"),
        ("width IS NOT NULL AND (typeof(width) != 'integer' OR width < 1)", "width {!r} is not a positive "
         "integer", "width"),
        ("height IS NOT NULL AND (typeof(height) != 'integer' OR height < 1)", "height {!r} is not a "
         "positive integer", "height"),
        ("typeof(path) != 'text'", "file name {!r} is not text", "path"),
    )
    for cond, text, col in checks:
        # NOT INDEXED: read the table itself, not a covering index that may still hold the old value
        row = conn.execute(f"SELECT id, {col} FROM images NOT INDEXED WHERE {cond} LIMIT 1").fetchone()
        if row is not None:
            return row[0], text.format(row[1])
    for image_id, path in conn.execute("SELECT id, path FROM images NOT INDEXED"):
        problem = name_problem(path)
        if problem:
            return image_id, f"file name {path!r} {problem}"
    return None


def _instance_problems(conn: sqlite3.Connection, k: int) -> tuple[int, str] | None:
    size = k * rows.KP_DTYPE.itemsize
    checks = (
        (f"source NOT IN {_in(_SOURCES)}", "source {!r} is not human or model", "source"),
        (f"typeof(keypoints) != 'blob' OR length(keypoints) != {size}",
         f"keypoint data of {{!r}} bytes, expected {size} ({k} keypoints)", "length(keypoints)"),
        ("image_id NOT IN (SELECT id FROM images)", "belongs to image {!r}, which does not exist",
         "image_id"),
        ("typeof(x) != 'real' OR typeof(y) != 'real' OR typeof(w) != 'real' OR typeof(h) != 'real'"
         " OR w < 0 OR h < 0", "box is not four numbers with w, h >= 0 ({!r})", "x || ',' || y || ',' || w "
         "|| ',' || h"),
    )
    for cond, text, col in checks:
        row = conn.execute(f"SELECT id, {col} FROM instances NOT INDEXED WHERE {cond} LIMIT 1").fetchone()
        if row is not None:
            return row[0], text.format(row[1])
    ids, blobs = [], []
    for iid, blob in conn.execute("SELECT id, keypoints FROM instances ORDER BY id"):
        ids.append(iid)
        blobs.append(blob)
    kp = np.frombuffer(b"".join(blobs), rows.KP_DTYPE).reshape(len(ids), k)
    labelled = kp["v"] > 0
    bad = ~np.isin(kp["v"], (0, 1, 2)) | ~np.isin(kp["human"], (0, 1))
    bad |= labelled & ~(np.isfinite(kp["x"]) & np.isfinite(kp["y"]))
    if bad.any():
        n, j = map(int, np.argwhere(bad)[0])
        v = int(kp["v"][n, j])
        return ids[n], f"keypoint {j} has visibility {v} (not 0, 1 or 2) or no finite position"
    return None


def _checksums(conn: sqlite3.Connection) -> str | None:
    for table, cols in (("images", schema.IMAGE_CRC_COLUMNS), ("instances", schema.INSTANCE_CRC_COLUMNS)):
        row = conn.execute(f"SELECT id FROM {table} WHERE crc IS NOT hg_crc({cols}) LIMIT 1").fetchone()
        if row is not None:
            what = "image" if table == "images" else "instance"
            return (f"{what} {row[0]} does not match its checksum (a bit flip, or an edit made outside "
                    "hglabel)")
    return None


def verify(conn: sqlite3.Connection, path: Path, num_keypoints: int) -> None:
    """Raise ProjectDamagedError for the first problem found; return quietly for a healthy file."""
    try:
        result = "; ".join(r[0] for r in conn.execute("PRAGMA quick_check").fetchall())
        if result != "ok":
            raise _damaged(path, f"SQLite quick_check: {result[:200]}")
        found = _image_problems(conn)
        if found:
            raise _damaged(path, f"image {found[0]}: {found[1]}")
        found = _instance_problems(conn, num_keypoints)
        if found:
            raise _damaged(path, f"instance {found[0]}: {found[1]}")
        problem = _checksums(conn)
        if problem:
            raise _damaged(path, problem)
    except sqlite3.DatabaseError as exc:
        if schema.is_busy(exc):
            raise ProjectError(f"{path}: {schema.BUSY_MESSAGE}") from exc
        raise _damaged(path, str(exc)) from exc
