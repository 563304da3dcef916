"""VideoReader: frame-exact random access to a video file (PyAV), frames as (H, W, 3) uint8 RGB.

Frame k is the k-th frame of a sequential decode. The reader indexes the file once by demuxing its
packets (no decoding: ~10 ms for 2 330 frames): the sorted packet timestamps are the frames'
presentation times, the keyframe packets the places a seek may land. `read(k)` seeks to the last
keyframe at or before frame k's timestamp and decodes forward until the frame *with that timestamp*
comes out, so B-frame reordering and variable frame rates cannot shift the index. Reading forward
from the last decoded frame (stepping, playing) continues the decode without a seek.

Speed (a GOP of the real video is ~195 frames): the decoder runs frame-threaded
(`thread_type="AUTO"`), only the target frame is converted to RGB, and until the target's own packet
is sent the decoder skips non-reference frames (`skip_frame="NONREF"`): no other frame depends on
them, so the frames that are decoded — and the target, decoded in full — are bit-identical.

Errors name the file: `VideoError` when the file cannot be opened or has no decodable video stream;
`VideoFrameError` (a subclass) when one frame cannot be decoded — the others stay readable.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from model.errors import HglabelError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
_FORWARD_LIMIT = 64  # decode forward instead of seeking when the target is at most this far ahead


class VideoError(HglabelError):
    """A video cannot be read; the message names the file and the cause."""


class VideoFrameError(VideoError):
    """One frame of a video cannot be decoded (the file is otherwise readable)."""


def is_video_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoInfo:
    """What the index knows about a video: frame count, nominal fps (average), size, codec."""

    path: Path
    frame_count: int
    fps: float
    width: int
    height: int
    codec: str


class VideoReader:
    """Random and sequential access to the frames of one video. Thread-safe (one lock)."""

    def __init__(self, path: str | Path, cache_frames: int = 16):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = int(cache_frames)
        if not self.path.is_file():
            raise VideoError(f"{self.path}: no such video file")
        self._pts, self._keys, stream_info, decode_order = self._index()
        self._pos_of = {p: i for i, p in enumerate(self._pts)}
        self._sent_at = {p: i for i, p in enumerate(decode_order)}  # pts → place in decode order
        self._sent = -1  # decode-order place of the last packet sent to the decoder
        self._container = self._open_container()
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._decoder: Iterator | None = None
        self._target_pts: int | None = None  # skip non-reference frames until this packet is sent
        self._last = -1  # index of the last frame the live decoder returned
        self._warm_up()
        fps, width, height, codec = stream_info
        self.info = VideoInfo(self.path, len(self._pts), fps, width, height, codec)

    # ---- public ----------------------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        return len(self._pts)

    @property
    def fps(self) -> float:
        return self.info.fps

    def __len__(self) -> int:
        return len(self._pts)

    def timestamp(self, index: int) -> float:
        """Presentation time of frame `index` in seconds (from the stream's time base)."""
        return float(self._pts[self._check(index)] * self._stream.time_base)

    def read(self, index: int) -> np.ndarray:
        """Frame `index` (0-based, sequential-decode order) as (H, W, 3) uint8 RGB (read-only: the
        last `cache_frames` frames are kept and shared)."""
        index = self._check(index)
        with self._lock:
            hit = self._cache.get(index)
            if hit is not None:
                self._cache.move_to_end(index)
                return hit
            frame = self._decode_to(index)
            image = frame.to_ndarray(format="rgb24")
            self._remember(index, image)
            return image

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """(index, RGB frame) for start ≤ index < stop in order; undecodable frames are skipped
        with a warning (a truncated tail ends the iteration)."""
        stop = self.frame_count if stop is None else min(int(stop), self.frame_count)
        for index in range(max(0, int(start)), stop):
            try:
                yield index, self.read(index)
            except VideoFrameError as exc:
                log.warning("%s", exc)

    def close(self) -> None:
        with self._lock:
            self._decoder = None
            self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- opening ---------------------------------------------------------------------------------
    def _open_container(self):
        try:
            return av.open(str(self.path))
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise VideoError(f"{self.path}: cannot open the video ({_reason(exc)})") from exc

    def _index(self) -> tuple[list[int], list[int], tuple[float, int, int, str], list[int]]:
        """(sorted frame pts, sorted keyframe pts, (fps, width, height, codec), pts in decode order)
        by demuxing only."""
        container = self._open_container()
        try:
            if not container.streams.video:
                raise VideoError(f"{self.path}: the file has no video stream")
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            pts, keys = [], []
            try:
                for packet in container.demux(stream):
                    if packet.pts is None or packet.size == 0:
                        continue
                    pts.append(int(packet.pts))
                    if packet.is_keyframe:
                        keys.append(int(packet.pts))
            except av.error.FFmpegError as exc:  # truncated/corrupt tail: keep what was read
                log.warning("%s: stopped indexing after %d frames (%s)", self.path, len(pts), _reason(exc))
            rate = stream.average_rate or stream.guessed_rate or Fraction(0)
            info = (float(rate), stream.codec_context.width, stream.codec_context.height, codec)
        finally:
            container.close()
        if not pts:
            raise VideoError(f"{self.path}: no video frames found (empty, truncated or not a video)")
        decode_order = list(pts)
        pts.sort()
        keys = sorted(set(keys)) or [pts[0]]
        return pts, keys, info, decode_order

    def _warm_up(self) -> None:
        """Decode the first frame. PyAV's decoder returns garbage for the first frames after a seek
        made before anything was decoded, and this also proves the codec is supported."""
        try:
            self._decode_to(0)
        except VideoFrameError as exc:
            self.close()
            cause = exc.args[0].split(": ", 1)[-1]
            raise VideoError(f"{self.path}: cannot decode the video ({cause})") from exc

    # ---- decoding --------------------------------------------------------------------------------
    def _check(self, index: int) -> int:
        index = int(index)
        if not 0 <= index < len(self._pts):
            raise IndexError(f"{self.path}: frame {index} out of range 0..{len(self._pts) - 1}")
        return index

    def _decode_to(self, index: int):
        """The av.VideoFrame of frame `index`: continue the live decode or seek to a keyframe."""
        target = self._pts[index]
        key = self._keys[max(0, bisect.bisect_right(self._keys, target) - 1)]
        ahead = self._decoder is not None and self._last < index <= self._last + _FORWARD_LIMIT
        if not (ahead or (self._decoder is not None and self._last < index and self._pts[self._last] >= key)):
            self._seek(key)
        try:
            return self._decode_until(index, target)
        except VideoFrameError:
            if key == self._keys[0]:
                raise
            # an open GOP can hide leading frames behind the keyframe: start one keyframe earlier
            self._seek(self._keys[bisect.bisect_left(self._keys, key) - 1])
            return self._decode_until(index, target)

    def _seek(self, key_pts: int) -> None:
        try:
            self._container.seek(key_pts, stream=self._stream, backward=True, any_frame=False)
        except av.error.FFmpegError as exc:
            raise VideoFrameError(f"{self.path}: cannot seek ({_reason(exc)})") from exc
        self._decoder = self._frames()
        self._last = -1
        self._sent = -1

    def _frames(self) -> Iterator:
        """Decoded frames from the demuxer; packets before the target's packet are decoded with
        non-reference frames skipped (a skipped frame is never the target nor needed by another)."""
        codec = self._stream.codec_context
        for packet in self._container.demux(self._stream):
            if self._target_pts is not None and packet.pts == self._target_pts:
                self._target_pts = None
            codec.skip_frame = "DEFAULT" if self._target_pts is None else "NONREF"
            self._sent = self._sent_at.get(packet.pts, self._sent)
            yield from codec.decode(packet)

    def _decode_until(self, index: int, target: int):
        unsent = self._sent < self._sent_at.get(target, -1)
        self._target_pts = target if unsent and index > self._last + 1 else None
        while True:
            try:
                frame = next(self._decoder)
            except StopIteration:
                self._decoder = None
                raise self._frame_error(index, "file ends") from None
            except av.error.FFmpegError as exc:
                self._decoder = None
                raise self._frame_error(index, _reason(exc)) from exc
            position = self._pos_of.get(frame.pts)
            if position is None:
                continue
            self._last = position
            if position == index:
                return frame
            if position > index:
                self._decoder = None
                raise self._frame_error(index, "skipped by the decoder")

    def _frame_error(self, index: int, why: str) -> VideoFrameError:
        return VideoFrameError(f"{self.path}: frame {index} cannot be decoded ({why})")

    def _remember(self, index: int, image: np.ndarray) -> None:
        if self._cache_size <= 0:
            return
        image.flags.writeable = False
        self._cache[index] = image
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.strip() or type(exc).__name__
