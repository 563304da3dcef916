"""Tiny generated test videos (PyAV, so a fresh pip-only machine can make them): each frame shows its
index as a row of 8 black/white 16 px blocks (bit 7 first) over a moving grey gradient."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

WIDTH, HEIGHT = 128, 64


def frame_image(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """(height, width, 3) uint8 RGB: a moving gradient with `index` in binary blocks on top."""
    x = np.arange(width)[None, :] + 3 * index
    y = np.arange(height)[:, None]
    grey = ((x + y) * 2 % 200 + 28).astype(np.uint8)
    image = np.repeat(grey[:, :, None], 3, axis=2)
    for bit in range(8):
        image[:16, bit * 16:(bit + 1) * 16] = 255 if (index >> (7 - bit)) & 1 else 0
    image[20:40, (index * 5) % (width - 20):(index * 5) % (width - 20) + 20] = (200, 40, 40)
    return image


def index_of(image: np.ndarray) -> int:
    """The index a frame_image shows (read back from its blocks)."""
    bits = [int(image[4:12, b * 16 + 4:b * 16 + 12].mean() > 127) for b in range(8)]
    return int("".join(map(str, bits)), 2)


def write_video(path: Path, count: int = 40, codec: str = "libx264", bframes: int = 2, gop: int = 12,
                durations: list[int] | None = None, rate: int = 25) -> Path:
    """Write `count` frame_image frames. durations (in 1/rate/4 ticks) make the frame rate variable."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.options = {"bf": str(bframes), "crf": "12", "preset": "ultrafast" if not bframes
                              else "medium", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        else:
            stream.codec_context.max_b_frames = bframes
        stream.codec_context.time_base = Fraction(1, rate * 4)
        pts = 0
        for i in range(count):
            frame = av.VideoFrame.from_ndarray(frame_image(i), format="rgb24")
            frame.pts = pts
            frame.time_base = Fraction(1, rate * 4)
            pts += 4 if durations is None else durations[i % len(durations)]
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def encode_frames(path: Path, images: Iterable[np.ndarray], rate: int = 25,
                  options: dict | None = None) -> Path:
    """Write (H, W, 3) uint8 RGB images as H.264 at a constant `rate` (frame i at pts i)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.pix_fmt = "yuv420p"
        stream.options = dict(options or {})
        stream.codec_context.time_base = Fraction(1, rate)
        for i, image in enumerate(images):
            if i == 0:
                stream.height, stream.width = image.shape[:2]
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
