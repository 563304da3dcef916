"""Reading images from disk as (H, W, 3) uint8 RGB with the EXIF orientation applied, and their size.

Decisions (one place, so every caller sees the same pixels):
- Bytes are read with Python and decoded with cv2.imdecode, so non-ASCII paths work everywhere.
- EXIF orientation is read by our own header parser (model.io.image_header) and applied here, after
  decoding with IMREAD_IGNORE_ORIENTATION. read_image_size uses the same parser, so the size it
  reports is always the shape read_image returns (JPEG APP1, PNG eXIf, WebP EXIF, TIFF tag 274).
  OpenCV's TIFF decoder applies tag 274 itself even with IMREAD_IGNORE_ORIENTATION (checked with
  OpenCV 5.0, guarded by a test), so for TIFF the header only reports the oriented size.
- Greyscale is repeated into three channels. An alpha channel is dropped (colours kept as stored,
  not composited). Palette images are expanded to their colours.
- 16-bit images are scaled by their effective bit depth: the smallest depth d >= 8 with
  max value < 2**d maps [0, 2**d - 1] onto [0, 255]. A full-range 16-bit image is value / 257;
  a 12-bit camera image (max < 4096) is value / 16.06 instead of coming out nearly black.
- Floating-point images (HDR, float TIFF) are taken as [0, 1] when their maximum is <= 1, else as
  [0, 255]; NaN becomes 0 and values are clipped.
- The pixel limit is checked from the header before decoding for PNG, JPEG, BMP, GIF, TIFF and WebP;
  other formats OpenCV can read are decoded first and checked after.
"""

from __future__ import annotations

import io
import os

import cv2
import numpy as np

from model.errors import HglabelError
from model.io.image_header import HeaderError, ImageHeader, parse_header

DEFAULT_MAX_PIXELS = 100_000_000
_DECODE_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR | cv2.IMREAD_IGNORE_ORIENTATION


class ImageReadError(HglabelError):
    """An image cannot be read: missing, unreadable, empty, not an image, corrupt, truncated, too large.

    `path` and `reason` are kept as attributes; str() is "<path>: <reason>". Picklable (args are
    (path, reason)), so it survives worker processes.
    """

    def __init__(self, path: str | os.PathLike, reason: str = "cannot read image") -> None:
        super().__init__(os.fspath(path), reason)
        self.path = os.fspath(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _read_bytes(path: str | os.PathLike) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a directory, not an image file") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file: {exc.strerror or exc}") from None
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    return data


def _header(path: str | os.PathLike, stream) -> ImageHeader | None:
    try:
        return parse_header(stream)
    except HeaderError as exc:
        raise ImageReadError(path, f"corrupt or truncated image header ({exc})") from None


def _check_pixels(path: str | os.PathLike, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageReadError(
            path, f"image is {width}×{height} = {width * height} pixels, over the limit of {max_pixels}"
        )


def read_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The image at path as (H, W, 3) uint8 RGB, EXIF orientation applied (see module docstring).

    Raises ImageReadError naming the file and the cause.
    """
    data = _read_bytes(path)
    header = _header(path, io.BytesIO(data))
    if header is not None:
        _check_pixels(path, header.stored_width, header.stored_height, max_pixels)
    try:
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), _DECODE_FLAGS)
    except cv2.error as exc:
        raise ImageReadError(path, f"cannot decode image: {str(exc).strip().splitlines()[-1]}") from None
    if decoded is None:
        if header is None:
            raise ImageReadError(path, "not an image file (unknown or unsupported format)")
        raise ImageReadError(path, f"cannot decode {header.format} data (corrupt or truncated)")
    _check_pixels(path, decoded.shape[1], decoded.shape[0], max_pixels)
    rgb = to_rgb8(decoded)
    if header is None or header.format == "TIFF":  # OpenCV's TIFF decoder applies tag 274 itself
        return rgb
    return apply_orientation(rgb, header.orientation)


def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as read_image would return it (EXIF orientation applied), from the header only.

    Formats without a header parser here (AVIF, JPEG 2000, PNM, HDR, …) are decoded to learn the size.
    Raises ImageReadError naming the file and the cause.
    """
    try:
        with open(path, "rb") as f:
            if not f.read(1):
                raise ImageReadError(path, "empty file (0 bytes)")
            header = _header(path, f)
    except OSError:
        _read_bytes(path)  # raises the same ImageReadError read_image would
        raise
    if header is not None:
        return header.size
    image = read_image(path, max_pixels=2**62)
    return int(image.shape[1]), int(image.shape[0])


def to_rgb8(decoded: np.ndarray) -> np.ndarray:
    """OpenCV's decoded (H, W) or (H, W, C) BGR[A] array of any depth → (H, W, 3) uint8 RGB."""
    image = _to_uint8(decoded)
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    channels = image.shape[2]
    if channels == 1:
        return np.ascontiguousarray(np.repeat(image, 3, axis=2))
    if channels == 2:  # grey + alpha
        return np.ascontiguousarray(np.repeat(image[:, :, :1], 3, axis=2))
    return np.ascontiguousarray(image[:, :, 2::-1])  # BGR[A] → RGB, alpha dropped


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype in (np.uint16, np.uint32):
        peak = int(image.max()) if image.size else 0
        depth = max(8, peak.bit_length())
        scaled = image.astype(np.float64) * (255.0 / (2**depth - 1))
        return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if image.dtype == np.int8 or image.dtype == np.int16:
        return _to_uint8((image.astype(np.int32) - np.iinfo(image.dtype).min).astype(np.uint32))
    values = np.nan_to_num(image.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
    if values.size and values.max() <= 1.0:
        values = values * 255.0
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """(H, W, C) image as stored → as displayed for EXIF orientation 1..8 (5..8 swap H and W)."""
    if orientation == 2:
        out = image[:, ::-1]
    elif orientation == 3:
        out = image[::-1, ::-1]
    elif orientation == 4:
        out = image[::-1]
    elif orientation == 5:
        out = image.transpose(1, 0, 2)
    elif orientation == 6:
        out = image[::-1].transpose(1, 0, 2)  # rotate 90° clockwise
    elif orientation == 7:
        out = image[::-1, ::-1].transpose(1, 0, 2)
    elif orientation == 8:
        out = image[:, ::-1].transpose(1, 0, 2)  # rotate 90° counter-clockwise
    else:
        return image
    return np.ascontiguousarray(out)


def image_format(path: str | os.PathLike) -> str | None:
    """'PNG', 'JPEG', 'BMP', 'GIF', 'TIFF', 'WebP' from the file's header, or None if not recognised."""
    try:
        with open(path, "rb") as f:
            header = parse_header(f)
    except (OSError, HeaderError):
        return None
    return header.format if header is not None else None


__all__ = [
    "DEFAULT_MAX_PIXELS", "ImageReadError", "apply_orientation", "image_format", "read_image",
    "read_image_size", "to_rgb8",
]
