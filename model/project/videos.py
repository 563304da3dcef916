"""Video sources of a project: registering a video's frames as images, and noticing a changed file.

A video is one `videos` row (path relative to the image root, size, content fingerprint, frame
count, fps, size); each of its frames is an image row named `frame_ref(video, k)`
("clip.mp4#000012"), so labels, review status, predictions and export work as for image files, and
survive moving the whole folder. The fingerprint is SHA-256 over the size and three 1 MiB samples
(start, middle, end): cheap on a multi-GB recording, and a re-encode or a different take changes it.
Functions here run inside the store's write transaction (called from ProjectStore).
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from model.annotations.types import Source
from model.io.frames import frame_ref, parse_frame_ref
from model.io.video import VIDEO_SUFFIXES, VideoReader

SAMPLE = 1 << 20


@dataclass(frozen=True)
class VideoRecord:
    id: int
    path: str  # relative to the image root, POSIX separators
    size: int
    fingerprint: str
    frame_count: int
    fps: float
    width: int
    height: int


def fingerprint(path: Path) -> tuple[int, str]:
    """(size in bytes, hex SHA-256 of the size and the first, middle and last MiB)."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        for offset in sorted({0, max(0, size // 2 - SAMPLE // 2), max(0, size - SAMPLE)}):
            fh.seek(offset)
            digest.update(fh.read(SAMPLE))
    return size, digest.hexdigest()


def scan_videos(root: Path) -> list[str]:
    """Relative POSIX paths of the video files under root (recursive; hidden entries skipped)."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in VIDEO_SUFFIXES and path.is_file():
            found.append(rel.as_posix())
    return found


def video_rows(conn: sqlite3.Connection) -> list[VideoRecord]:
    rows = conn.execute("SELECT id, path, size, fingerprint, frame_count, fps, width, height FROM videos"
                        " ORDER BY path").fetchall()
    return [VideoRecord(*r) for r in rows]


def register(conn: sqlite3.Connection, root: Path, rel: str) -> tuple[VideoRecord, list[str]]:
    """Insert (or find) the videos row of root/rel; returns it and its frames' image paths.

    Raises VideoError naming the file when it cannot be read (nothing is written then)."""
    known = next((v for v in video_rows(conn) if v.path == rel), None)
    if known is not None:
        return known, [frame_ref(rel, k) for k in range(known.frame_count)]
    path = root / rel
    with VideoReader(path, cache_frames=0) as reader:
        info = reader.info
    size, digest = fingerprint(path)
    cur = conn.execute(
        "INSERT INTO videos (path, size, fingerprint, frame_count, fps, width, height)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (rel, size, digest, info.frame_count, info.fps, info.width, info.height))
    record = VideoRecord(int(cur.lastrowid), rel, size, digest, info.frame_count, info.fps, info.width,
                         info.height)
    return record, [frame_ref(rel, k) for k in range(info.frame_count)]


def check(root: Path, videos: list[VideoRecord]) -> list[str]:
    """One line per video that is missing or changed since it was registered (names the file)."""
    problems = []
    for video in videos:
        path = root / video.path
        if not path.is_file():
            problems.append(f"{path}: video missing (its {video.frame_count} frames' labels are kept)")
            continue
        size, digest = fingerprint(path)
        if (size, digest) != (video.size, video.fingerprint):
            what = f"size {video.size} → {size} bytes" if size != video.size else "same size, other content"
            problems.append(f"{path}: video changed since its frames were labelled ({what}); "
                            "frame indices may no longer match the labels")
    return problems


def present_frames(root: Path, paths: list[str], videos: list[VideoRecord]) -> set[str]:
    """The frame-reference paths among `paths` whose video file exists under root."""
    existing = {v.path for v in videos if (root / v.path).is_file()}
    out = set()
    for p in paths:
        ref = parse_frame_ref(p)
        if ref is not None and ref[0].as_posix() in existing:
            out.add(p)
    return out


def neighbour_result(store, rel_path: str) -> tuple[list, list] | None:
    """For a frame path, the first instance of frame k-1 (else k+1) as (xy (K, 2), confidence (K,))
    lists, or None (not a frame, or no neighbour has an instance yet)."""
    ref = parse_frame_ref(rel_path)
    if ref is None:
        return None
    video, index = ref[0].as_posix(), ref[1]
    for k in (index - 1, index + 1):
        image_id = store.image_id(frame_ref(video, k)) if k >= 0 else None
        found = store.instances(image_id) if image_id is not None else []
        if found:
            inst = found[0]
            kp, person = inst.keypoints, inst.source == Source.HUMAN
            conf = [(1.0 if v > 0 else 0.0) if (h or person or c != c) else float(c)
                    for h, c, v in zip(kp.human, kp.confidence, kp.vis, strict=True)]
            return kp.xy.tolist(), conf
    return None
