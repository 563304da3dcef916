"""Applies edit objects to an open project connection (inside a transaction the caller holds).

A dispatch table maps each edit class to one function `(conn, edit) -> applied edit`. Every
function first checks that the file still holds the edit's old state and raises StaleEditError
otherwise, so an undo never clobbers work it does not know about.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace

from model.annotations.edits import (
    AcceptPrediction,
    AddInstance,
    ApplyPrediction,
    Batch,
    Edit,
    RemoveInstance,
    SetBox,
    SetKeypoint,
    SetStatus,
    SetTrack,
    UpdateInstance,
)
from model.annotations.types import ReviewStatus
from model.errors import HglabelError
from model.project import rows


class StaleEditError(HglabelError):
    """The project no longer holds the state an edit expects (e.g. an undo out of order)."""


def _instance_row(conn: sqlite3.Connection, image_id: int, instance_id: int) -> rows.InstanceRow:
    row = conn.execute(
        f"SELECT {rows.INSTANCE_COLUMNS} FROM instances WHERE id=? AND image_id=?", (instance_id, image_id)
    ).fetchone()
    if row is None:
        raise StaleEditError(f"instance {instance_id} of image {image_id} does not exist")
    return rows.InstanceRow._make(row)


def _set_keypoint(conn: sqlite3.Connection, edit: SetKeypoint) -> Edit:
    row = conn.execute(
        "SELECT keypoints FROM instances WHERE id=? AND image_id=?", (edit.instance_id, edit.image_id)
    ).fetchone()
    if row is None:
        raise StaleEditError(f"instance {edit.instance_id} of image {edit.image_id} does not exist")
    arr = rows.decode_array(row[0])
    if not 0 <= edit.k < len(arr):
        raise StaleEditError(f"keypoint {edit.k} out of range (instance has {len(arr)})")
    if not rows.get_value(arr, edit.k).same_as(edit.old):
        raise StaleEditError(
            f"keypoint {edit.k} of instance {edit.instance_id} changed since the edit was made"
        )
    if edit.new.v not in (0, 1, 2):
        raise ValueError(f"visibility must be 0, 1 or 2, got {edit.new.v!r}")
    rows.set_value(arr, edit.k, edit.new)
    conn.execute("UPDATE instances SET keypoints=? WHERE id=?", (arr.tobytes(), edit.instance_id))
    if edit.new_box is not None:
        _check_box(conn, edit.image_id, edit.instance_id, edit.old_box)
        conn.execute("UPDATE instances SET x=?, y=?, w=?, h=? WHERE id=?",
                     (*map(float, edit.new_box), edit.instance_id))
    return edit


def _check_box(conn: sqlite3.Connection, image_id: int, instance_id: int, old, old_set=None) -> None:
    row = _instance_row(conn, image_id, instance_id)
    if row.box != tuple(float(v) for v in old) or (old_set is not None and bool(row.box_set) != old_set):
        raise StaleEditError(f"box of instance {instance_id} changed since the edit was made")


def _set_box(conn: sqlite3.Connection, edit: SetBox) -> Edit:
    _check_box(conn, edit.image_id, edit.instance_id, edit.old, bool(edit.old_set))
    conn.execute(
        "UPDATE instances SET x=?, y=?, w=?, h=?, box_set=? WHERE id=?",
        (*map(float, edit.new), 1 if edit.new_set else 0, edit.instance_id),
    )
    return edit


def _set_track(conn: sqlite3.Connection, edit: SetTrack) -> Edit:
    row = _instance_row(conn, edit.image_id, edit.instance_id)
    if row.track_id != edit.old:
        raise StaleEditError(f"track of instance {edit.instance_id} is {row.track_id}, expected {edit.old}")
    conn.execute("UPDATE instances SET track_id=? WHERE id=?", (edit.new, edit.instance_id))
    return edit


def _set_status(conn: sqlite3.Connection, edit: SetStatus) -> Edit:
    row = conn.execute("SELECT status FROM images WHERE id=?", (edit.image_id,)).fetchone()
    if row is None:
        raise StaleEditError(f"image {edit.image_id} does not exist")
    if row[0] != ReviewStatus(edit.old):
        raise StaleEditError(f"status of image {edit.image_id} is {row[0]}, expected {edit.old}")
    conn.execute("UPDATE images SET status=? WHERE id=?", (str(ReviewStatus(edit.new)), edit.image_id))
    return edit


def _add_instance(conn: sqlite3.Connection, edit: AddInstance) -> Edit:
    if conn.execute("SELECT 1 FROM images WHERE id=?", (edit.image_id,)).fetchone() is None:
        raise StaleEditError(f"image {edit.image_id} does not exist")
    params = rows.instance_params(edit.image_id, edit.instance)
    try:
        cur = conn.execute(rows.INSERT_INSTANCE, params)
    except sqlite3.IntegrityError as exc:
        raise StaleEditError(f"instance {edit.instance.instance_id} already exists") from exc
    if edit.instance.instance_id is None:
        return replace(edit, instance=replace(edit.instance, instance_id=int(cur.lastrowid)))
    return edit


def _remove_instance(conn: sqlite3.Connection, edit: RemoveInstance) -> Edit:
    iid = edit.instance.instance_id
    if iid is None:
        raise ValueError("RemoveInstance needs an instance with instance_id")
    current = rows.row_to_instance(_instance_row(conn, edit.image_id, iid))
    if not rows.same_instance(current, edit.instance):
        raise StaleEditError(f"instance {iid} changed since the edit was made")
    conn.execute("DELETE FROM instances WHERE id=?", (iid,))
    return edit


def _update_instance(conn: sqlite3.Connection, edit: UpdateInstance) -> Edit:
    current = rows.row_to_instance(_instance_row(conn, edit.image_id, edit.instance_id))
    if not rows.same_instance(current, edit.old):
        raise StaleEditError(f"instance {edit.instance_id} changed since the edit was made")
    p = rows.instance_params(edit.image_id, edit.new)
    conn.execute(
        "UPDATE instances SET category_id=?, x=?, y=?, w=?, h=?, score=?, source=?, keypoints=?, box_set=?,"
        " track_id=? WHERE id=?",
        (*p[2:], edit.instance_id),
    )
    return edit


def _batch(conn: sqlite3.Connection, edit: Batch) -> Edit:
    applied = tuple(apply_edit(conn, e) for e in edit.edits)
    unchanged = all(a is e for a, e in zip(applied, edit.edits, strict=True))
    return edit if unchanged else replace(edit, edits=applied)


APPLIERS: dict[type, Callable[[sqlite3.Connection, Edit], Edit]] = {
    SetKeypoint: _set_keypoint,
    SetBox: _set_box,
    SetTrack: _set_track,
    SetStatus: _set_status,
    AddInstance: _add_instance,
    RemoveInstance: _remove_instance,
    UpdateInstance: _update_instance,
    ApplyPrediction: _update_instance,
    AcceptPrediction: _update_instance,
    Batch: _batch,
}


def apply_edit(conn: sqlite3.Connection, edit: Edit) -> Edit:
    """Apply one edit (no transaction handling here); returns the edit as applied (ids filled in)."""
    fn = APPLIERS.get(type(edit))
    if fn is None:
        raise TypeError(f"no applier for edit type {type(edit).__name__}")
    return fn(conn, edit)
