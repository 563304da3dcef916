"""Image header parsing: pixel size and EXIF orientation of PNG, JPEG, BMP, GIF, TIFF and WebP files.

Reads only the few bytes it needs from a seekable binary stream (seeking past segments and
chunks), so asking for the size of a 100 000 × 100 000 image costs microseconds and no memory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from model.errors import HglabelError

_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})
_ORIENTATION_TAG = 0x0112
_MAX_CHUNKS = 100_000  # a header walk never loops longer than this


class HeaderError(HglabelError, ValueError):
    """The header of a recognised format is malformed or truncated; the message says how."""


@dataclass(frozen=True)
class ImageHeader:
    """What a header says: stored width/height (before orientation), EXIF orientation 1..8, format."""

    format: str
    stored_width: int
    stored_height: int
    orientation: int = 1

    @property
    def swaps_axes(self) -> bool:
        """True for EXIF orientations 5..8, which turn the image by 90 degrees."""
        return self.orientation >= 5

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the image as displayed, i.e. after the EXIF orientation."""
        if self.swaps_axes:
            return self.stored_height, self.stored_width
        return self.stored_width, self.stored_height


def _read(f: BinaryIO, n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise HeaderError(f"truncated {what}")
    return data


def parse_header(f: BinaryIO) -> ImageHeader | None:
    """Header of the image in stream f (positioned anywhere); None when the format is not recognised.

    Raises HeaderError when the format is recognised but the header is truncated or malformed.
    """
    f.seek(0)
    magic = f.read(16)
    f.seek(0)
    if magic.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(f)
    if magic.startswith(b"\xff\xd8"):
        return _jpeg(f)
    if magic.startswith(b"BM"):
        return _bmp(f)
    if magic[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", _read(f, 10, "GIF header")[6:10])
        return _checked(ImageHeader("GIF", width, height))
    if magic[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff(f)
    if magic[:4] == b"RIFF" and magic[8:12] == b"WEBP":
        return _webp(f)
    return None


def _checked(header: ImageHeader) -> ImageHeader:
    if header.stored_width <= 0 or header.stored_height <= 0:
        raise HeaderError(
            f"{header.format} header gives an empty size {header.stored_width}×{header.stored_height}"
        )
    return header


# ---- PNG ---------------------------------------------------------------------------------------
def _png(f: BinaryIO) -> ImageHeader:
    head = _read(f, 33, "PNG header")
    if head[12:16] != b"IHDR":
        raise HeaderError("PNG does not start with an IHDR chunk")
    width, height = struct.unpack(">II", head[16:24])
    orientation = 1
    for _ in range(_MAX_CHUNKS):  # an eXIf chunk, if any, comes before the image data
        raw = f.read(8)
        if len(raw) < 8:
            break
        length, kind = struct.unpack(">I4s", raw)
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"eXIf":
            orientation = exif_orientation(f.read(length))
            break
        f.seek(length + 4, 1)
    return _checked(ImageHeader("PNG", width, height, orientation))


# ---- JPEG --------------------------------------------------------------------------------------
def _jpeg(f: BinaryIO) -> ImageHeader:
    f.seek(2)
    orientation = 1
    for _ in range(_MAX_CHUNKS):
        if _read(f, 1, "JPEG marker") != b"\xff":
            raise HeaderError("JPEG marker expected")
        marker = _read(f, 1, "JPEG marker")[0]
        while marker == 0xFF:  # fill bytes
            marker = _read(f, 1, "JPEG marker")[0]
        if marker in _JPEG_NO_LENGTH:
            continue
        if marker in (0xD9, 0xDA):
            raise HeaderError("JPEG has no frame header (SOF) before its image data")
        (length,) = struct.unpack(">H", _read(f, 2, "JPEG segment length"))
        if length < 2:
            raise HeaderError("JPEG segment length < 2")
        if marker in _JPEG_SOF:
            seg = _read(f, min(length - 2, 5), "JPEG frame header")
            if len(seg) < 5:
                raise HeaderError("JPEG frame header too short")
            height, width = struct.unpack(">HH", seg[1:5])
            return _checked(ImageHeader("JPEG", width, height, orientation))
        if marker == 0xE1 and orientation == 1:
            payload = _read(f, length - 2, "JPEG APP1 segment")
            if payload.startswith(b"Exif\x00\x00"):
                orientation = exif_orientation(payload[6:])
            continue
        f.seek(length - 2, 1)
    raise HeaderError("JPEG has too many segments")


# ---- TIFF / EXIF -------------------------------------------------------------------------------
def _ifd0_entries(data: bytes) -> tuple[str, dict[int, int]]:
    """Byte order and {tag: first value} of the first IFD of a TIFF structure held in data.

    Only SHORT and LONG values that fit in the entry are read (enough for sizes and orientation).
    """
    if data[:4] == b"II*\x00":
        order = "<"
    elif data[:4] == b"MM\x00*":
        order = ">"
    else:
        raise HeaderError("not a TIFF structure")
    (offset,) = struct.unpack(order + "I", data[4:8])
    if offset + 2 > len(data):
        raise HeaderError("TIFF IFD offset past the end")
    (count,) = struct.unpack(order + "H", data[offset : offset + 2])
    entries: dict[int, int] = {}
    for i in range(count):
        start = offset + 2 + 12 * i
        entry = data[start : start + 12]
        if len(entry) < 12:
            break
        tag, kind, _n = struct.unpack(order + "HHI", entry[:8])
        if kind == 3:
            entries[tag] = struct.unpack(order + "H", entry[8:10])[0]
        elif kind == 4:
            entries[tag] = struct.unpack(order + "I", entry[8:12])[0]
    return order, entries


def exif_orientation(tiff_bytes: bytes) -> int:
    """EXIF orientation (1..8) from the TIFF structure of an EXIF block; 1 when absent or malformed."""
    if tiff_bytes.startswith(b"Exif\x00\x00"):
        tiff_bytes = tiff_bytes[6:]
    try:
        _order, entries = _ifd0_entries(tiff_bytes)
    except (HeaderError, struct.error):
        return 1
    value = entries.get(_ORIENTATION_TAG, 1)
    return value if 1 <= value <= 8 else 1


def _tiff(f: BinaryIO) -> ImageHeader:
    head = _read(f, 8, "TIFF header")
    order = "<" if head[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", head[4:8])
    f.seek(offset)
    count_raw = _read(f, 2, "TIFF IFD")
    (count,) = struct.unpack(order + "H", count_raw)
    ifd = _read(f, 12 * count, "TIFF IFD")
    # Re-base the IFD at offset 8 so the shared entry reader can walk it.
    _order, entries = _ifd0_entries(head[:4] + struct.pack(order + "I", 8) + count_raw + ifd)
    if 256 not in entries or 257 not in entries:
        raise HeaderError("TIFF has no ImageWidth/ImageLength")
    orientation = entries.get(_ORIENTATION_TAG, 1)
    orientation = orientation if 1 <= orientation <= 8 else 1
    return _checked(ImageHeader("TIFF", entries[256], entries[257], orientation))


# ---- BMP ---------------------------------------------------------------------------------------
def _bmp(f: BinaryIO) -> ImageHeader:
    head = _read(f, 26, "BMP header")
    (dib_size,) = struct.unpack("<I", head[14:18])
    if dib_size == 12:  # BITMAPCOREHEADER
        width, height = struct.unpack("<HH", head[18:22])
    else:
        width, height = struct.unpack("<ii", head[18:26])
    return _checked(ImageHeader("BMP", width, abs(height)))  # negative height: stored top-down


# ---- WebP --------------------------------------------------------------------------------------
def _webp(f: BinaryIO) -> ImageHeader:
    f.seek(12)
    size: tuple[int, int] | None = None
    orientation, has_exif = 1, False
    for _ in range(_MAX_CHUNKS):
        raw = f.read(8)
        if len(raw) < 8:
            break
        kind, length = struct.unpack("<4sI", raw)
        if kind == b"EXIF":
            orientation = exif_orientation(_read(f, length, "WebP EXIF chunk"))
            break
        if size is None:
            size, has_exif = _webp_size(kind, _read(f, min(length, 10), f"WebP {kind!r} chunk"))
            f.seek(length - min(length, 10), 1)
            if not has_exif:
                break
        else:
            f.seek(length, 1)
        f.seek(length % 2, 1)  # chunks are padded to an even length
    if size is None:
        raise HeaderError("WebP has no image chunk")
    return _checked(ImageHeader("WebP", size[0], size[1], orientation))


def _webp_size(kind: bytes, data: bytes) -> tuple[tuple[int, int], bool]:
    """((width, height), whether an EXIF chunk is announced) from the first WebP chunk's data."""
    if kind == b"VP8X" and len(data) >= 10:
        width = 1 + int.from_bytes(data[4:7], "little")
        height = 1 + int.from_bytes(data[7:10], "little")
        return (width, height), bool(data[0] & 0x08)
    if kind == b"VP8 " and len(data) >= 10:
        if data[3:6] != b"\x9d\x01\x2a":
            raise HeaderError("WebP VP8 start code missing")
        width, height = struct.unpack("<HH", data[6:10])
        return (width & 0x3FFF, height & 0x3FFF), False
    if kind == b"VP8L" and len(data) >= 5:
        if data[0] != 0x2F:
            raise HeaderError("WebP VP8L signature missing")
        bits = int.from_bytes(data[1:5], "little")
        return (1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)), False
    raise HeaderError(f"WebP starts with an unexpected chunk {kind!r}")
