"""Project database schema: connection settings and the list of forward migrations (PRAGMA user_version).

Layout decisions (see CONTEXT.md):
- One row per instance, its K keypoints packed in one little-endian BLOB (`rows.KP_DTYPE`, 22 bytes
  per keypoint: x f8, y f8, v i1, confidence f4, human u1). 10 000 images × 2 instances is 20 000
  rows rather than 340 000 keypoint rows, which keeps import/export well inside the benchmark goals;
  float64 x/y make the COCO round trip exact. A single-keypoint edit rewrites one small blob.
- WAL journal with synchronous=NORMAL by default: a committed transaction survives the process
  being killed (the WAL is in the OS page cache); after a power loss the last few commits may be
  lost but the file is never corrupt. `durability="full"` (synchronous=FULL) fsyncs every commit.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable
from urllib.parse import quote

from model.errors import HglabelError

SCHEMA_VERSION = 5
BUSY_TIMEOUT_S = 10.0  # how long a write waits for another process's transaction (CLI default)
# Columns each row checksum covers (v4). `ord` is left out: it is rewritten whenever paths are added.
IMAGE_CRC_COLUMNS = "path, width, height, status, missing"
INSTANCE_CRC_COLUMNS = "image_id, category_id, x, y, w, h, score, source, keypoints, box_set, track_id"
_READ_ONLY_CAUSES = ("readonly", "read-only", "unable to open", "disk is full", "disk i/o")


class SchemaError(HglabelError):
    """The file is not a project database this version can open; the message names the file."""


def _v1(conn: sqlite3.Connection) -> None:
    """First format: meta, images, instances (keypoints as a blob)."""
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE images (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE,"
        " width INTEGER, height INTEGER, status TEXT NOT NULL DEFAULT 'unlabelled',"
        " ord INTEGER NOT NULL DEFAULT 0)"
    )
    conn.execute(
        "CREATE TABLE instances (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
        " category_id INTEGER NOT NULL DEFAULT 1, x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL,"
        " h REAL NOT NULL, score REAL NOT NULL, source TEXT NOT NULL, keypoints BLOB NOT NULL)"
    )
    conn.execute("CREATE INDEX instances_image ON instances(image_id)")


def _v2(conn: sqlite3.Connection) -> None:
    """Images that vanish from the folder are flagged, not deleted; status listing index."""
    conn.execute("ALTER TABLE images ADD COLUMN missing INTEGER NOT NULL DEFAULT 0")
    conn.execute("CREATE INDEX images_status ON images(status, ord)")


def _v3(conn: sqlite3.Connection) -> None:
    """Boxes that mean something, and tracks: `box_set` (a person set the box; otherwise it follows
    the keypoints) and `track_id` per instance. Boxes of person-made instances are theirs, except the
    whole-image box older versions gave instances started by clicking a keypoint: that becomes the
    padded extent of the keypoints (box_set 0), as do all model boxes."""
    from model.annotations.boxes import is_whole_image, keypoint_box
    from model.project.rows import decode_keypoints

    conn.execute("ALTER TABLE instances ADD COLUMN box_set INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE instances ADD COLUMN track_id INTEGER")
    conn.execute("UPDATE instances SET box_set=1 WHERE source='human'")
    found = conn.execute(
        "SELECT i.id, i.x, i.y, i.w, i.h, i.keypoints, m.width, m.height FROM instances AS i"
        " JOIN images AS m ON m.id = i.image_id WHERE i.source='human' AND i.x <= 0 AND i.y <= 0"
    ).fetchall()
    fixed = []
    for iid, x, y, w, h, blob, width, height in found:
        size = (int(width), int(height)) if width and height else None
        if not is_whole_image((x, y, w, h), size):
            continue
        kps = decode_keypoints(blob)
        box = keypoint_box(kps.xy, kps.vis, size)
        fixed.append((*(box if box is not None else (x, y, w, h)), iid))
    conn.executemany("UPDATE instances SET x=?, y=?, w=?, h=?, box_set=0 WHERE id=?", fixed)


def row_crc(*values) -> int:
    """CRC-32 of one row's values, each tagged by kind (registered in SQLite as hg_crc; the v4
    triggers store it). Floats by repr, which is exact; ~6 µs for an instance row."""
    crc = 0
    for v in values:
        kind = type(v)
        if kind is bytes:
            crc = zlib.crc32(v, zlib.crc32(b"\x00b", crc))
        elif kind is str:
            crc = zlib.crc32(v.encode("utf-8", "surrogatepass"), zlib.crc32(b"\x00s", crc))
        else:
            crc = zlib.crc32(repr(v).encode(), zlib.crc32(b"\x00n", crc))
    return crc


def _v4(conn: sqlite3.Connection) -> None:
    """Row checksums: a bit flip or an outside edit of a row is found on open (model.project.integrity).

    Triggers keep `crc` current on every insert/update, whoever issues it through `connect`.
    """
    for table, cols in (("images", IMAGE_CRC_COLUMNS), ("instances", INSTANCE_CRC_COLUMNS)):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN crc INTEGER")
        conn.execute(f"UPDATE {table} SET crc = hg_crc({cols})")
        conn.execute(f"CREATE TRIGGER {table}_crc_insert AFTER INSERT ON {table} BEGIN"
                     f" UPDATE {table} SET crc = hg_crc({cols}) WHERE id = NEW.id; END")
        conn.execute(f"CREATE TRIGGER {table}_crc_update AFTER UPDATE OF {cols} ON {table} BEGIN"
                     f" UPDATE {table} SET crc = hg_crc({cols}) WHERE id = NEW.id; END")


def _v5(conn: sqlite3.Connection) -> None:
    """Videos as sources: one row per video file (path relative to the image root, size, content
    fingerprint, frame count, fps, frame size); its frames are images named "<video>#<index:06d>".
    Per image: `picked` (chosen to label by a frame-picking method) and the model's `uncertainty`
    (worst keypoint score of the last prediction; > 1 uncertain), so review order survives a restart."""
    conn.execute(
        "CREATE TABLE videos (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE,"
        " size INTEGER NOT NULL, fingerprint TEXT NOT NULL, frame_count INTEGER NOT NULL,"
        " fps REAL NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL)"
    )
    conn.execute("ALTER TABLE images ADD COLUMN picked INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE images ADD COLUMN uncertainty REAL")


# MIGRATIONS[i] takes a file from user_version i to i + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3, _v4, _v5)
assert len(MIGRATIONS) == SCHEMA_VERSION


def _open(target: str, uri: bool, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=timeout, uri=uri)
    conn.create_function("hg_crc", -1, row_crc, deterministic=True)
    return conn


def connect_read_only(path: str) -> sqlite3.Connection:
    """Open `path` for reading only (read-only file, folder or media, full disk); nothing is written.

    `mode=ro` first (sees another process's WAL); `immutable=1` when no -shm file can be made.
    """
    base = "file:" + quote(path)
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        conn = _open(base + query, True, 0.0)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            last = exc
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise SchemaError(f"{path}: not a project database ({exc})") from exc
    raise SchemaError(f"{path}: cannot read the project file ({last})")


BUSY_MESSAGE = ("another process is writing the project (e.g. hglabel import); nothing was changed, "
                "try again when it has finished")


def is_busy(exc: sqlite3.Error) -> bool:
    """True for SQLite's "database is locked"/"busy" errors (another connection holds the write lock)."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def is_read_only_cause(exc: sqlite3.Error) -> bool:
    """True for SQLite errors meaning "cannot write here" (read-only file/folder/media, disk full)."""
    return any(cause in str(exc).lower() for cause in _READ_ONLY_CAUSES)


def connect(path: str, durability: str = "normal", timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """Open `path` in autocommit mode (transactions are explicit BEGIN/COMMIT), WAL, foreign keys on.

    Raises sqlite3.OperationalError with a read-only cause (see is_read_only_cause) when the file
    cannot be opened for writing; the caller may then use connect_read_only.
    """
    if durability not in ("normal", "full"):
        raise ValueError(f"durability must be 'normal' or 'full', got {durability!r}")
    conn = _open(path, False, timeout)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    except sqlite3.OperationalError as exc:
        conn.close()
        if is_read_only_cause(exc):
            raise
        raise SchemaError(f"{path}: cannot open the project file ({exc})") from exc
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise SchemaError(f"{path}: not a project database ({exc})") from exc
    if str(mode).lower() != "wal":
        conn.close()
        raise SchemaError(f"{path}: cannot switch the database to WAL mode (got {mode})")
    conn.execute(f"PRAGMA synchronous={durability.upper()}")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: str, target: int = SCHEMA_VERSION) -> int:
    """Run the forward migrations from the file's version up to `target`, each in one transaction.

    Returns the version the file started at. Raises SchemaError for a file newer than this code.
    """
    start = user_version(conn)
    if start > SCHEMA_VERSION:
        raise SchemaError(
            f"{path}: project schema version {start} is newer than this hglabel supports ({SCHEMA_VERSION})"
        )
    if start == 0 and _has_foreign_tables(conn):
        raise SchemaError(f"{path}: is an SQLite file but not an hglabel project")
    for version in range(start, target):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version={version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return start


def _has_foreign_tables(conn: sqlite3.Connection) -> bool:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    return any(not r[0].startswith("sqlite_") for r in rows)
