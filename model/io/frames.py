"""Frames of a sequence: one interface over a video file and a folder of images, in time order.

`open_sequence(path)` gives a `FrameSequence`: `len(seq)` frames, `seq.read(k)` → (H, W, 3) uint8
RGB, `seq.frame_name(k)` → "<stem>_<k, 6 digits>" (what DeepLabCut's frame extraction names its
PNGs), `seq.fps` (None for a folder). Tracking, frame picking and whole-sequence prediction are
written against this, so they work the same on a recording and on an extracted-frames folder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from model.io.images import read_image
from model.io.video import VideoReader, is_video_path


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
        from model.io.video import VideoError

        raise VideoError(f"{path}: not a video (mp4, avi, mov, mkv, m4v, webm) or a folder")
    return VideoFrames(path, cache_frames=cache_frames)
