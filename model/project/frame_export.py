"""COCO export of video frames: each exported frame is written as a PNG beside the JSON.

A project names a video frame "rec/clip.mp4#000012"; no trainer can open that. Export writes the
frame, decoded frame-exactly, to `<JSON folder>/rec/clip_000012.png` (the video's folder kept, the
file named as DeepLabCut's frame extraction names it) and puts that path, relative to the JSON, in
`file_name`. Image files keep their path relative to the image root, as before.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import cv2

from model.io.atomic import write_bytes_atomic
from model.io.frames import frame_file_name, parse_frame_ref, read_source


def frame_export_name(ref: str) -> str | None:
    """'rec/clip.mp4#000012' → 'rec/clip_000012.png'; None for an ordinary image path."""
    parsed = parse_frame_ref(ref)
    if parsed is None:
        return None
    video, index = PurePosixPath(parsed[0].as_posix()), parsed[1]
    return (video.parent / frame_file_name(video.stem, index)).as_posix()


def write_frame_images(data: dict, image_root: Path, out_dir: Path) -> int:
    """Write every frame-reference image of a COCO dict as a PNG under out_dir and point its
    `file_name` there (in place). Returns how many frames were written. Raises ImageReadError
    (naming the frame) or OSError."""
    written = 0
    for image in data["images"]:
        name = frame_export_name(image["file_name"])
        if name is None:
            continue
        rgb = read_source(image_root / image["file_name"])
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise OSError(f"{target}: cannot encode the frame as PNG")
        write_bytes_atomic(target, png.tobytes())
        image["file_name"] = name
        written += 1
    return written
