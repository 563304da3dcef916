"""ProjectStore: the SQLite project file, the only writer of project state (images, instances, skeleton).

Every change is either an undoable edit (`apply`, see model.annotations.edits) or a
non-undoable bulk operation (scan, import, skeleton migration, image sizes); each runs in one
transaction and is committed before the call returns. There is no save step.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from model.annotations.edits import Edit
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, ReviewStatus, Source
from model.io.video import VideoError
from model.project import image_rows, integrity, rows, videos
from model.project.applier import StaleEditError, apply_edit
from model.project.connection import (
    ProjectError,
    ProjectReadOnlyError,
    build_atomically,
    connect,
    marks_done,
    root_for_meta,
    transaction,
    write_error,
)
from model.project.guard import FileGuard, ProjectGoneError
from model.project.image_rows import IMAGE_COLUMNS, ImageRecord, RescanReport
from model.project.paths import PathEscapeError, default_project_path, relative_image_path
from model.project.scan import scan_folder
from model.project.skeleton_migration import checked_mapping, migrate_blob
from model.project.videos import VideoRecord

log = logging.getLogger(__name__)

__all__ = ["ImageRecord", "PathEscapeError", "ProjectError", "ProjectGoneError", "ProjectReadOnlyError",
           "ProjectStore", "RescanReport", "StaleEditError", "default_project_path"]


_READABLE_PRAGMAS = ("journal_mode", "synchronous", "page_count", "max_page_count")


class ProjectStore:
    """An open project file. Thread-safe (one connection behind a lock); use as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path, image_root: Path, read_only: bool = False):
        self._conn = conn
        self._full_sync = conn.execute("PRAGMA synchronous").fetchone()[0] >= 2
        self._lock = threading.RLock()
        self.path = path
        self.image_root = image_root
        self._guard = FileGuard(path, read_only)
        self._skeleton = self._load_skeleton()

    @property
    def read_only(self) -> bool:
        """True when the file could only be opened for reading: viewing and export work, edits do not."""
        return self._guard.read_only

    @property
    def gone(self) -> str | None:
        """The message once the file was found removed or replaced (edits refused), else None."""
        return self._guard.gone

    # ---- opening -------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, image_root: str | Path, skeleton: Skeleton, scan: bool = True,
               durability: str = "normal", busy_timeout: float | None = None) -> ProjectStore:
        """Create a new project file at path for images under image_root (scanned unless scan=False)."""
        path = Path(path)
        if path.exists() and path.stat().st_size > 0:
            raise ProjectError(f"{path}: a file already exists there")
        root = Path(image_root).resolve()
        if not root.is_dir():
            raise ProjectError(f"{image_root}: image folder does not exist")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"{path}: cannot create the project folder: {exc}") from exc
        build_atomically(path, root, skeleton)
        store = cls.open(path, durability=durability, busy_timeout=busy_timeout)
        if scan:
            store.rescan()
        return store

    @classmethod
    def open(cls, path: str | Path, image_root: str | Path | None = None, skeleton: Skeleton | None = None,
             durability: str = "normal", busy_timeout: float | None = None,
             read_only: bool = False) -> ProjectStore:
        """Open an existing project (migrating it forward, then checking every row: a damaged file
        raises ProjectDamagedError naming it); create it if missing and both image_root and skeleton
        are given. image_root overrides (and updates) the stored root. A file that cannot be written
        opens read-only (see `read_only`). busy_timeout: seconds a write waits for another process."""
        path = Path(path)
        if not path.exists():
            if image_root is None or skeleton is None:
                raise ProjectError(f"{path}: no such project file")
            return cls.create(path, image_root, skeleton, durability=durability)
        if not path.is_file():
            raise ProjectError(f"{path}: not a project file (a folder or a special file)")
        conn, read_only = connect(path, durability, busy_timeout, read_only)
        try:
            store = cls._checked(conn, path, read_only)
            if image_root is not None:
                store.set_image_root(image_root)
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _checked(cls, conn: sqlite3.Connection, path: Path, read_only: bool) -> ProjectStore:
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise integrity.ProjectDamagedError(f"{path}: damaged project file: {exc}") from exc
        if "skeleton" not in meta or "image_root" not in meta:
            raise ProjectError(f"{path}: project file lacks its skeleton or image root")
        root = (path.resolve().parent / meta["image_root"]).resolve()
        store = cls(conn, path.resolve(), root, read_only)
        integrity.verify(conn, path, store.skeleton.num_keypoints)
        return store

    @classmethod
    def open_folder(cls, folder: str | Path, skeleton: Skeleton | None = None, rescan: bool = True,
                    durability: str = "normal", busy_timeout: float | None = None) -> ProjectStore:
        """Open (or create, when skeleton is given) the default project of an image folder; rescan it."""
        path = default_project_path(folder)
        if not path.exists():
            if skeleton is None:
                raise ProjectError(
                    f"{folder}: no project yet (looked for {path}); give a skeleton to create one"
                )
            return cls.create(path, folder, skeleton, durability=durability, busy_timeout=busy_timeout)
        store = cls.open(path, durability=durability, busy_timeout=busy_timeout)
        if rescan and not store.read_only:
            try:
                store.rescan()
            except ProjectError as exc:  # locked by another writer, folder unreadable: labels still open
                log.warning("%s", exc)
        return store

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- skeleton ------------------------------------------------------------------------------
    @property
    def skeleton(self) -> Skeleton:
        return self._skeleton

    def _load_skeleton(self) -> Skeleton:
        row = self._conn.execute("SELECT value FROM meta WHERE key='skeleton'").fetchone()
        try:
            return Skeleton.from_dict(json.loads(row[0]))
        except (TypeError, ValueError) as exc:
            raise ProjectError(f"{self.path}: stored skeleton is invalid: {exc}") from exc

    def set_skeleton(self, new: Skeleton, old_of_new: list[int | None] | None = None) -> None:
        """Replace the skeleton, migrating every instance in one transaction (not undoable).

        old_of_new[j] is the old index of new keypoint j, or None for an added keypoint (v = 0).
        Old keypoints not listed are removed; renames keep values; order follows new. Default:
        identity (only names/edges/colours change; K must match).
        """
        old_k = self._skeleton.num_keypoints
        old_of_new = checked_mapping(old_of_new, old_k, new.num_keypoints)
        with self._write():
            if list(old_of_new) != list(range(old_k)):
                data = self._conn.execute("SELECT id, keypoints FROM instances").fetchall()
                self._conn.executemany(
                    "UPDATE instances SET keypoints=? WHERE id=?",
                    [(migrate_blob(blob, old_of_new), iid) for iid, blob in data],
                )
            self._conn.execute("UPDATE meta SET value=? WHERE key='skeleton'", (json.dumps(new.to_dict()),))
        self._skeleton = new

    def keypoint_blobs(self) -> dict[int, bytes]:
        """Instance id → packed keypoints of every instance (the undo snapshot of a skeleton change)."""
        with self._lock:
            return dict(self._conn.execute("SELECT id, keypoints FROM instances").fetchall())

    def restore_skeleton(self, skeleton: Skeleton, blobs: dict[int, bytes]) -> None:
        """Put back a skeleton and the packed keypoints of `keypoint_blobs()` (undo of set_skeleton)."""
        with self._write():
            self._conn.executemany("UPDATE instances SET keypoints=? WHERE id=?",
                                   [(blob, iid) for iid, blob in blobs.items()])
            text = json.dumps(skeleton.to_dict())
            self._conn.execute("UPDATE meta SET value=? WHERE key='skeleton'", (text,))
        self._skeleton = skeleton

    # ---- edits ---------------------------------------------------------------------------------
    def apply(self, edit: Edit) -> Edit:
        """Apply edit in one committed transaction; return it as applied (new instance ids filled in).

        Undo is `store.apply(applied.inverse())`. Raises StaleEditError (nothing changed) when the
        file no longer holds the edit's old state. An edit that marks an image done is committed
        with synchronous=FULL, which makes it and every earlier commit survive power loss too.
        """
        if self._full_sync or not marks_done(edit):
            with self._write():
                return apply_edit(self._conn, edit)
        with self._lock:
            self._conn.execute("PRAGMA synchronous=FULL")
            try:
                with self._write():
                    return apply_edit(self._conn, edit)
            finally:
                self._conn.execute("PRAGMA synchronous=NORMAL")

    def set_image_root(self, image_root: str | Path) -> None:
        """Record where the images are now (not undoable; model.project.relink checks the folder first)."""
        root = Path(image_root).resolve()
        with self._write():
            stored = root_for_meta(self.path, root)
            self._conn.execute("UPDATE meta SET value=? WHERE key='image_root'", (stored,))
        self.image_root = root

    def sync(self) -> None:
        """Checkpoint the WAL into the database file and fsync it (e.g. on idle or before a backup)."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(FULL)")

    # ---- diagnostics (the public hooks tests use instead of the connection) ---------------------
    def pragma(self, name: str, value: int | None = None) -> int | str:
        """The connection's PRAGMA `name` (journal_mode, synchronous, page_count, max_page_count).
        value sets max_page_count only: a size cap that fails writes as a full disk does."""
        if name not in _READABLE_PRAGMAS or (value is not None and name != "max_page_count"):
            raise ValueError(f"pragma {name!r} cannot be {'set' if value is not None else 'read'} here")
        with self._lock:
            if value is not None:
                self._conn.execute(f"PRAGMA max_page_count = {int(value)}")
            return self._conn.execute(f"PRAGMA {name}").fetchone()[0]

    def trace(self, callback: Callable[[str], None] | None) -> None:
        """Pass every SQL statement this store runs to callback (diagnostics, tests); None stops."""
        with self._lock:
            self._conn.set_trace_callback(callback)

    # ---- images --------------------------------------------------------------------------------
    def images(
        self, status: ReviewStatus | str | None = None, include_missing: bool = True
    ) -> list[ImageRecord]:
        """All images in natural order, optionally only those with one status."""
        sql = f"SELECT {IMAGE_COLUMNS} FROM images"
        cond, params = [], []
        if status is not None:
            cond.append("status=?")
            params.append(str(ReviewStatus(status)))
        if not include_missing:
            cond.append("missing=0")
        if cond:
            sql += " WHERE " + " AND ".join(cond)
        with self._lock:
            found = self._conn.execute(sql + " ORDER BY ord, id", params).fetchall()
        return image_rows.records(found)

    def image(self, image_id: int) -> ImageRecord:
        with self._lock:
            sql = f"SELECT {IMAGE_COLUMNS} FROM images WHERE id=?"
            row = self._conn.execute(sql, (image_id,)).fetchone()
        if row is None:
            raise KeyError(f"no image with id {image_id}")
        return image_rows.records([row])[0]

    def image_id(self, rel_path: str) -> int | None:
        """Id of the image at a path relative to the image root (or absolute inside it), or None."""
        rel = relative_image_path(self.image_root, rel_path)
        with self._lock:
            row = self._conn.execute("SELECT id FROM images WHERE path=?", (rel,)).fetchone()
        return None if row is None else int(row[0])

    def image_path(self, image_id: int) -> Path:
        """Absolute path of an image file."""
        return self.image_root / self.image(image_id).path

    def set_image_size(self, image_id: int, width: int, height: int) -> None:
        """Record an image's size once it has been decoded (not undoable)."""
        with self._write():
            self._conn.execute(
                "UPDATE images SET width=?, height=? WHERE id=?", (int(width), int(height), image_id)
            )

    def counts_by_status(self) -> dict[ReviewStatus, int]:
        """Number of images per review status (every status present, zero if none)."""
        counts = dict.fromkeys(ReviewStatus, 0)
        with self._lock:
            for status, n in self._conn.execute("SELECT status, COUNT(*) FROM images GROUP BY status"):
                counts[ReviewStatus(status)] = int(n)
        return counts

    def progress(self) -> tuple[int, int]:
        """(done, total) image counts."""
        counts = self.counts_by_status()
        return counts[ReviewStatus.DONE], sum(counts.values())

    def summary(self) -> dict:
        """Counts for reports: images by status, missing images, instances by source, labelled keypoints."""
        with self._lock:
            missing = self._conn.execute("SELECT COUNT(*) FROM images WHERE missing=1").fetchone()[0]
            by_source = dict(self._conn.execute("SELECT source, COUNT(*) FROM instances GROUP BY source"))
        return {
            "images": {str(s): n for s, n in self.counts_by_status().items()},
            "missing_images": int(missing),
            "instances": {str(s): int(by_source.get(str(s), 0)) for s in Source},
        }

    def add_images(self, rel_paths: Iterable[str]) -> dict[str, int]:
        """Register images (relative to the root; must not escape it); returns path → id for all given."""
        rels = [relative_image_path(self.image_root, p) for p in rel_paths]
        with self._write():
            known = dict(self._conn.execute("SELECT path, id FROM images").fetchall())
            new = [p for p in dict.fromkeys(rels) if p not in known]
            if new:
                image_rows.insert_paths(self._conn, new)
                known = dict(self._conn.execute("SELECT path, id FROM images").fetchall())
        return {p: known[p] for p in rels}

    def rescan(self) -> RescanReport:
        """Scan the image root: add new images, flag vanished ones missing (labels kept), unflag returns."""
        try:
            found = scan_folder(self.image_root)
        except OSError as exc:
            raise ProjectError(f"{self.image_root}: cannot scan the image folder: {exc}") from exc
        self._register_new_videos()
        with self._write():
            known = {p: bool(m) for p, m in self._conn.execute("SELECT path, missing FROM images")}
            present = set(found) | videos.present_frames(self.image_root, list(known),
                                                         videos.video_rows(self._conn))
            new = [p for p in found if p not in known]
            vanished = [p for p, m in known.items() if not m and p not in present]
            returned = [p for p, m in known.items() if m and p in present]
            image_rows.insert_paths(self._conn, new)
            self._conn.executemany("UPDATE images SET missing=1 WHERE path=?", [(p,) for p in vanished])
            self._conn.executemany("UPDATE images SET missing=0 WHERE path=?", [(p,) for p in returned])
            total = len(known) + len(new)
        return RescanReport(len(new), len(vanished), len(returned), total)

    # ---- videos --------------------------------------------------------------------------------
    def add_video(self, path: str | Path) -> tuple[VideoRecord, dict[str, int]]:
        """Register a video under the image root; every frame becomes an image "<video>#<k:06d>"
        (size known). Returns the video and frame path → image id. Raises VideoError naming the file."""
        rel = relative_image_path(self.image_root, path)
        with self._write():
            record, frames = videos.register(self._conn, self.image_root, rel)
            known = {p for (p,) in self._conn.execute("SELECT path FROM images")}
            new = [p for p in frames if p not in known]
            image_rows.insert_paths(self._conn, new)
            self._conn.executemany("UPDATE images SET width=?, height=? WHERE path=?",
                                   [(record.width, record.height, p) for p in new])
            ids = dict(self._conn.execute("SELECT path, id FROM images WHERE path >= ? AND path < ?",
                                          (rel + "#", rel + "$")).fetchall())
        return record, {p: ids[p] for p in frames}

    def videos(self) -> list[VideoRecord]:
        with self._lock:
            return videos.video_rows(self._conn)

    def check_videos(self) -> list[str]:
        """One line per registered video that is missing or changed (size or content fingerprint)."""
        return videos.check(self.image_root, self.videos())

    def _register_new_videos(self) -> None:
        known = {v.path for v in self.videos()}
        for rel in videos.scan_videos(self.image_root):
            if rel not in known:
                try:
                    self.add_video(rel)
                except VideoError as exc:
                    log.warning("skipped %s", exc)

    def set_picked(self, image_ids: Iterable[int], picked: bool = True) -> None:
        """Mark images as chosen to label (frame picking; never removes labels). Not undoable."""
        with self._write():
            self._conn.executemany("UPDATE images SET picked=? WHERE id=?",
                                   [(int(picked), int(i)) for i in image_ids])

    def picked(self) -> list[int]:
        """Ids of the picked images, in natural order."""
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT id FROM images WHERE picked=1 ORDER BY ord, id")]

    def set_uncertainty(self, scores: dict[int, float | None]) -> None:
        """Store the model's uncertainty score per image (None clears it). Not undoable."""
        with self._write():
            self._conn.executemany("UPDATE images SET uncertainty=? WHERE id=?",
                                   [(None if v is None else float(v), int(i)) for i, v in scores.items()])

    def uncertainties(self) -> dict[int, float]:
        """image id → stored uncertainty score, for the images that have one."""
        with self._lock:
            found = self._conn.execute("SELECT id, uncertainty FROM images WHERE uncertainty IS NOT NULL")
            return dict(found.fetchall())

    # ---- instances -----------------------------------------------------------------------------
    def instances(self, image_id: int) -> list[Instance]:
        """The instances of one image (with instance_id), in creation order."""
        with self._lock:
            found = self._conn.execute(
                f"SELECT {rows.INSTANCE_COLUMNS} FROM instances WHERE image_id=? ORDER BY id", (image_id,)
            ).fetchall()
        return [rows.row_to_instance(r) for r in found]

    def iter_instance_rows(self, image_ids: list[int] | None = None) -> Iterator[rows.InstanceRow]:
        """Raw rows (named InstanceRow, keypoints still packed) for bulk readers like export.

        All rows come in the images' natural order (then by instance id); a selection by image id.
        """
        with self._lock:
            if image_ids is None:
                cols = ", ".join(f"i.{c.strip()}" for c in rows.INSTANCE_COLUMNS.split(","))
                sql = (f"SELECT {cols} FROM instances AS i JOIN images AS m ON m.id = i.image_id"
                       " ORDER BY m.ord, m.id, i.id")
                found = self._conn.execute(sql).fetchall()
            else:
                self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS sel (id INTEGER PRIMARY KEY)")
                self._conn.execute("DELETE FROM temp.sel")
                self._conn.executemany("INSERT OR IGNORE INTO temp.sel VALUES (?)", [(i,) for i in image_ids])
                found = self._conn.execute(
                    f"SELECT {rows.INSTANCE_COLUMNS} FROM instances"
                    " WHERE image_id IN (SELECT id FROM temp.sel) ORDER BY image_id, id"
                ).fetchall()
        yield from map(rows.InstanceRow._make, found)

    def insert_instances(
        self, items: Iterable[tuple[int, Instance]], statuses: dict[int, ReviewStatus] | None = None,
        sizes: dict[int, tuple[int, int]] | None = None, clear_images: Iterable[int] = (),
    ) -> int:
        """Bulk insert (image_id, Instance) pairs and optional status/size updates in ONE transaction
        (not undoable; used by import), after deleting every instance of `clear_images`.
        Returns the number of instances inserted."""
        params = [rows.instance_params(image_id, inst) for image_id, inst in items]
        return self.insert_rows(params, statuses, sizes, clear_images)

    def insert_rows(
        self, params: list[tuple], statuses: dict[int, ReviewStatus] | None = None,
        sizes: dict[int, tuple[int, int]] | None = None, clear_images: Iterable[int] = (),
    ) -> int:
        """insert_instances with rows already in rows.INSTANCE_COLUMNS order (keypoints packed)."""
        with self._write():
            self._conn.executemany("DELETE FROM instances WHERE image_id=?", [(i,) for i in clear_images])
            self._conn.executemany(rows.INSERT_INSTANCE, params)
            statuses, sizes = statuses or {}, sizes or {}
            both = [(str(s), *sizes[i], i) for i, s in statuses.items() if i in sizes]
            self._conn.executemany("UPDATE images SET status=?, width=?, height=? WHERE id=?", both)
            self._conn.executemany(
                "UPDATE images SET status=? WHERE id=?",
                [(str(s), i) for i, s in statuses.items() if i not in sizes],
            )
            self._conn.executemany(
                "UPDATE images SET width=?, height=? WHERE id=?",
                [(w, h, i) for i, (w, h) in sizes.items() if i not in statuses],
            )
        return len(params)

    def images_with_instances(self) -> set[int]:
        """Ids of the images that have at least one instance."""
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT DISTINCT image_id FROM instances")}

    # ---- maintenance ---------------------------------------------------------------------------
    def integrity_check(self) -> str:
        """SQLite's PRAGMA integrity_check result ('ok' when healthy)."""
        with self._lock:
            return "; ".join(r[0] for r in self._conn.execute("PRAGMA integrity_check").fetchall())

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, after the guard's checks; SQLite errors become ProjectError lines."""
        with self._lock:
            self._guard.check()
            try:
                with transaction(self._conn):
                    yield
            except sqlite3.DatabaseError as exc:
                raise write_error(self.path, exc) from exc

