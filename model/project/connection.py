"""Opening project files: connection + migrations, atomic creation, transactions, the image-root record."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from model.annotations.edits import Batch, Edit, SetStatus
from model.annotations.skeleton import Skeleton
from model.annotations.types import ReviewStatus
from model.project import schema


class ProjectError(Exception):
    """A project cannot be opened or changed; the message names the file and the problem."""


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One IMMEDIATE transaction: committed on success, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def connect(path: Path, durability: str) -> sqlite3.Connection:
    """Open a project file (see schema.connect) and migrate it forward; errors become ProjectError."""
    try:
        conn = schema.connect(str(path), durability)
    except sqlite3.Error as exc:
        raise ProjectError(f"{path}: cannot open project file: {exc}") from exc
    except schema.SchemaError as exc:
        raise ProjectError(str(exc)) from exc
    try:
        schema.migrate(conn, str(path))
    except (schema.SchemaError, sqlite3.Error) as exc:
        conn.close()
        raise ProjectError(f"{path}: {exc}" if isinstance(exc, sqlite3.Error) else str(exc)) from exc
    return conn


def marks_done(edit: Edit) -> bool:
    """True for an edit that sets an image's status to done (directly or inside a Batch)."""
    if isinstance(edit, SetStatus):
        return edit.new == ReviewStatus.DONE
    return isinstance(edit, Batch) and any(marks_done(e) for e in edit.edits)


def build_atomically(path: Path, root: Path, skeleton: Skeleton) -> None:
    """Write schema + meta to a side file, then rename it into place: a kill never leaves half a project."""
    tmp = path.with_name(path.name + ".creating")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    conn = connect(tmp, "normal")
    try:
        with transaction(conn):
            conn.execute("INSERT INTO meta VALUES ('skeleton', ?)", (json.dumps(skeleton.to_dict()),))
            conn.execute("INSERT INTO meta VALUES ('image_root', ?)", (root_for_meta(path, root),))
    finally:
        conn.close()  # last connection: SQLite checkpoints the WAL into the file and deletes it
    os.replace(tmp, path)


def root_for_meta(db_path: Path, root: Path) -> str:
    """Image root as stored: relative to the project file's folder when the file lies inside the root
    (the folder can move), else absolute."""
    db_dir = db_path.resolve().parent
    try:
        db_dir.relative_to(root)
    except ValueError:
        return str(root)
    return os.path.relpath(root, db_dir)
