"""Frames of a sequence: one interface over a video file and a folder of images, in time order.

`open_sequence(path)` gives a `FrameSequence`: `len(seq)` frames, `seq.read(k)` → (H, W, 3) uint8
RGB, `seq.frame_name(k)` → "<stem>_<k, 6 digits>" (what DeepLabCut's frame extraction names its
PNGs), `seq.fps` (None for a folder). Tracking, frame picking and whole-sequence prediction are
written against this, so they work the same on a recording and on an extracted-frames folder.

A project names one frame of a video like a file: `frame_ref("m3v1mp4.mp4", 12)` is
"m3v1mp4.mp4#000012"; `read_source(path)` reads either kind (a process-wide reader per video, so
stepping through frames decodes forward instead of seeking).
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from model.io.images import ImageReadError, read_image
from model.io.video import VideoError, VideoReader, is_video_path


def frame_file_name(stem: str, index: int, suffix: str = ".png") -> str:
    """'<stem>_<index, 6 digits><suffix>', e.g. m3v1mp4_000123.png."""
    return f"{stem}_{int(index):06d}{suffix}"


class FrameSequence(ABC):
    """Base of the frame sources; subclasses implement __len__ and read."""

    path: Path
    fps: float | None = None

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def read(self, index: int) -> np.ndarray:
        """Frame `index` as (H, W, 3) uint8 RGB."""

    @property
    def stem(self) -> str:
        return self.path.stem

    def frame_name(self, index: int) -> str:
        return f"{self.stem}_{int(index):06d}"

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        for index in range(len(self)):
            yield index, self.read(index)

    @abstractmethod
    def close(self) -> None:
        """Release the decoder or files."""

    def __enter__(self) -> FrameSequence:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoFrames(FrameSequence):
    """The frames of a video file (frame-exact, see model.io.video)."""

    def __init__(self, path: str | Path, cache_frames: int = 16):
        self.path = Path(path)
        self.reader = VideoReader(self.path, cache_frames=cache_frames)
        self.fps = self.reader.fps or None

    def __len__(self) -> int:
        return self.reader.frame_count

    def read(self, index: int) -> np.ndarray:
        return self.reader.read(index)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        return self.reader.iter_frames()

    def close(self) -> None:
        self.reader.close()


class ImageFolderFrames(FrameSequence):
    """A folder of images taken as frames in natural file-name order (recursively)."""

    def __init__(self, folder: str | Path):
        from model.project.scan import scan_folder  # scan lives with the project; no import cycle

        self.path = Path(folder)
        self.files = [self.path / rel for rel in scan_folder(self.path)]

    def __len__(self) -> int:
        return len(self.files)

    def read(self, index: int) -> np.ndarray:
        return read_image(self.files[int(index)])

    def frame_name(self, index: int) -> str:
        return self.files[int(index)].stem

    def close(self) -> None:
        """Nothing is held open between reads."""


def open_sequence(path: str | Path, cache_frames: int = 16) -> FrameSequence:
    """A video file → VideoFrames; a folder → ImageFolderFrames. Raises VideoError / OSError naming it."""
    path = Path(path)
    if path.is_dir():
        return ImageFolderFrames(path)
    if not is_video_path(path):
        raise VideoError(f"{path}: not a video (mp4, avi, mov, mkv, m4v, webm) or a folder")
    return VideoFrames(path, cache_frames=cache_frames)


# ---- frame references: one frame of a video named like a file ------------------------------------
_REF = re.compile(r"^(?P<video>.+\.(?:mp4|avi|mov|mkv|m4v|webm))#(?P<index>\d+)$", re.IGNORECASE)
_READERS: OrderedDict[str, VideoReader] = OrderedDict()
_READERS_LOCK = threading.Lock()
MAX_OPEN_VIDEOS = 4


def frame_ref(video: str | Path, index: int) -> str:
    """'<video path>#<index:06d>': how a project names frame `index` of a video (an image path)."""
    return f"{Path(video).as_posix() if isinstance(video, Path) else video}#{int(index):06d}"


def parse_frame_ref(path: str | Path) -> tuple[Path, int] | None:
    """(video path, frame index) for a frame reference, None for an ordinary file path."""
    match = _REF.match(str(path))
    if match is None:
        return None
    return Path(match["video"]), int(match["index"])


def shared_reader(video: str | Path) -> VideoReader:
    """One open VideoReader per video file for the whole process (the last MAX_OPEN_VIDEOS kept)."""
    key = str(Path(video).resolve())
    with _READERS_LOCK:
        reader = _READERS.get(key)
        if reader is not None:
            _READERS.move_to_end(key)
            return reader
    reader = VideoReader(key, cache_frames=8)
    with _READERS_LOCK:
        _READERS[key] = reader
        while len(_READERS) > MAX_OPEN_VIDEOS:
            _READERS.popitem(last=False)[1].close()
    return reader


def forget_reader(video: str | Path) -> None:
    """Close the shared reader of a video (e.g. after the file changed)."""
    with _READERS_LOCK:
        reader = _READERS.pop(str(Path(video).resolve()), None)
    if reader is not None:
        reader.close()


def read_source(path: str | Path) -> np.ndarray:
    """read_image for a file, or the frame a frame reference names: (H, W, 3) uint8 RGB.

    Raises ImageReadError (path, reason) for either, so callers handle one exception type.
    """
    ref = parse_frame_ref(path)
    if ref is None or Path(path).is_file():
        return read_image(path)
    video, index = ref
    try:
        return np.array(shared_reader(video).read(index))  # a private, writable copy
    except VideoError as exc:
        raise ImageReadError(path, str(exc).split(": ", 1)[-1]) from exc
    except IndexError as exc:
        raise ImageReadError(path, f"the video has no frame {index}") from exc
