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
from model.errors import HglabelError
from model.project import schema


class ProjectError(HglabelError):
    """A project cannot be opened or changed; the message names the file and the problem."""


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One IMMEDIATE transaction: committed on success, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a failed COMMIT (disk full, I/O error) leaves it open
            conn.execute("ROLLBACK")
        raise


class ProjectReadOnlyError(ProjectError):
    """The project was opened read-only (file, folder or media not writable, disk full): no edits."""


def can_write(path: Path) -> bool:
    """Whether this process may write the file (root may write a 0444 file; a read-only mount no one)."""
    return os.access(path, os.W_OK)


def connect(path: Path, durability: str, timeout: float | None = None,
            read_only: bool = False) -> tuple[sqlite3.Connection, bool]:
    """Open a project file (see schema.connect) and migrate it forward; errors become ProjectError.

    Returns (connection, read_only). A file that cannot be written (read-only file, folder or media,
    full disk) opens read-only instead of failing; so does any file when read_only is asked for.
    timeout: seconds a write waits for another process's transaction (None: schema.BUSY_TIMEOUT_S).
    """
    timeout = schema.BUSY_TIMEOUT_S if timeout is None else timeout
    try:
        if read_only or (path.exists() and not can_write(path)):
            conn, read_only = schema.connect_read_only(str(path)), True
        else:
            try:
                conn = schema.connect(str(path), durability, timeout)
            except sqlite3.OperationalError as exc:
                if not schema.is_read_only_cause(exc):
                    raise
                conn, read_only = schema.connect_read_only(str(path)), True
    except sqlite3.Error as exc:
        raise ProjectError(f"{path}: cannot open project file: {exc}") from exc
    except schema.SchemaError as exc:
        raise ProjectError(str(exc)) from exc
    try:
        if read_only:
            _check_version_read_only(conn, path)
        else:
            schema.migrate(conn, str(path))
    except (schema.SchemaError, ProjectError, sqlite3.Error) as exc:
        conn.close()
        if isinstance(exc, sqlite3.DatabaseError) and schema.is_busy(exc):
            raise ProjectError(f"{path}: {schema.BUSY_MESSAGE}") from exc
        raise ProjectError(f"{path}: {exc}" if isinstance(exc, sqlite3.Error) else str(exc)) from exc
    return conn, read_only


def _check_version_read_only(conn: sqlite3.Connection, path: Path) -> None:
    version = schema.user_version(conn)
    if version == schema.SCHEMA_VERSION:
        return
    if version > schema.SCHEMA_VERSION:
        schema.migrate(conn, str(path))  # raises the "newer than this hglabel" SchemaError
    raise ProjectError(f"{path}: read-only, and written by an older hglabel (format {version}, this one "
                       f"needs {schema.SCHEMA_VERSION}): copy the project folder somewhere writable "
                       "to open it")


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
    conn, _ = connect(tmp, "normal")
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


def write_error(path: Path, exc: sqlite3.DatabaseError) -> ProjectError:
    """The one-line ProjectError for a failed write (locked, read-only, full disk, I/O)."""
    if schema.is_busy(exc):
        return ProjectError(f"{path}: {schema.BUSY_MESSAGE}")
    if schema.is_read_only_cause(exc):
        return ProjectError(f"{path}: cannot write the project file ({exc}): nothing was changed; free disk "
                            "space or make the file writable, then redo the edit")
    return ProjectError(f"{path}: cannot write the project file: {exc}")
