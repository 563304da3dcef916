"""read_image / read_image_size: formats, odd pixel types, EXIF orientation, broken and hostile files."""

from __future__ import annotations

import pickle
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

import model.io.images as images
from model.io.images import ImageReadError, read_image, read_image_size


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, colour_type: int, rows: bytes, extra: bytes = b"", depth: int = 8) -> bytes:
    """A PNG built by hand: IHDR, extra chunks, one IDAT of filter-0 rows, IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra
            + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))


def _exif_tiff(orientation: int, order: str = "MM") -> bytes:
    e = ">" if order == "MM" else "<"
    return (order.encode() + struct.pack(e + "HIH", 42, 8, 1)
            + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0))


def _with_exif(jpeg: bytes, orientation: int, order: str = "MM") -> bytes:
    """The JPEG with an APP1 'Exif' segment holding only the orientation tag, right after SOI."""
    payload = b"Exif\x00\x00" + _exif_tiff(orientation, order)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _encode(ext: str, image: np.ndarray, params: tuple = ()) -> bytes:
    ok, buf = cv2.imencode(ext, image, list(params))
    assert ok
    return buf.tobytes()


@pytest.fixture()
def rgb() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (30, 50, 3), dtype=np.uint8)


@pytest.fixture()
def no_decode(monkeypatch):
    """Makes any full decode through model.io.images fail the test."""

    def boom(*_args, **_kwargs):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(images.cv2, "imdecode", boom)


def test_png_is_rgb_in_memory_and_exact(tmp_path, rgb):
    path = _write(tmp_path / "a.png", _encode(".png", rgb[:, :, ::-1]))
    out = read_image(path)
    assert out.dtype == np.uint8 and out.shape == (30, 50, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, rgb)
    assert read_image_size(path) == (50, 30)


def test_non_ascii_file_name(tmp_path, rgb):
    path = _write(tmp_path / "mäuse_鼠.png", _encode(".png", rgb[:, :, ::-1]))
    np.testing.assert_array_equal(read_image(path), rgb)
    assert read_image_size(str(path)) == (50, 30)


def test_greyscale_becomes_three_equal_channels(tmp_path, rgb):
    grey = rgb[:, :, 0]
    out = read_image(_write(tmp_path / "g.png", _encode(".png", grey)))
    assert out.shape == (30, 50, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], grey)


def test_rgba_drops_alpha_and_keeps_colour(tmp_path, rgb):
    alpha = np.zeros((30, 50, 1), np.uint8)  # fully transparent: colour must survive unchanged
    bgra = np.concatenate([rgb[:, :, ::-1], alpha], axis=2)
    np.testing.assert_array_equal(read_image(_write(tmp_path / "a.png", _encode(".png", bgra))), rgb)


def test_sixteen_bit_full_range_is_divided_by_257(tmp_path):
    values = np.array([[0, 257, 65535, 32896]], np.uint16)
    out = read_image(_write(tmp_path / "w.png", _encode(".png", values)))
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 255, 128])


def test_sixteen_bit_with_twelve_bit_content_is_scaled_by_its_depth(tmp_path):
    values = np.array([[0, 4095, 2048, 16]], np.uint16)  # max < 4096: a 12-bit camera image
    out = read_image(_write(tmp_path / "w.png", _encode(".png", values)))
    expected = np.rint(values[0].astype(float) * 255 / 4095).astype(np.uint8)
    np.testing.assert_array_equal(out[0, :, 1], expected)


def test_palette_png_is_expanded_to_its_colours(tmp_path):
    palette = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255])
    rows = b"\x00" + bytes([0, 1, 2]) + b"\x00" + bytes([2, 2, 0])
    path = _write(tmp_path / "p.png", _png(3, 2, 3, rows, _chunk(b"PLTE", palette)))
    out = read_image(path)
    np.testing.assert_array_equal(out[0], [[255, 0, 0], [0, 255, 0], [0, 0, 255]])
    np.testing.assert_array_equal(out[1], [[0, 0, 255], [0, 0, 255], [255, 0, 0]])


def test_exif_rotated_jpeg_is_turned_once_and_size_agrees(tmp_path):
    stored = np.zeros((40, 80, 3), np.uint8)
    stored[:10, :10] = 255  # a white block in the stored top-left corner
    jpeg = _with_exif(_encode(".jpg", stored, (cv2.IMWRITE_JPEG_QUALITY, 100)), 6)
    path = _write(tmp_path / "rot.jpg", jpeg)
    out = read_image(path)
    assert out.shape == (80, 40, 3)  # orientation 6 = rotate 90° clockwise: stored top-left → top-right
    assert out[:10, -10:].mean() > 240 and out[:10, :10].mean() < 15
    assert read_image_size(path) == (40, 80)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("order", ["MM", "II"])
def test_every_exif_orientation_matches_opencv(tmp_path, orientation, order):
    stored = np.kron(np.random.default_rng(orientation).integers(0, 256, (4, 8, 3)), np.ones((8, 8, 1)))
    jpeg = _with_exif(_encode(".jpg", stored.astype(np.uint8), (cv2.IMWRITE_JPEG_QUALITY, 100)),
                      orientation, order)
    path = _write(tmp_path / "o.jpg", jpeg)
    oracle = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    np.testing.assert_array_equal(read_image(path), oracle)
    assert read_image_size(path) == (oracle.shape[1], oracle.shape[0])


def test_png_exif_chunk_orientation_is_applied(tmp_path):
    stored = np.zeros((4, 6, 3), np.uint8)
    stored[0, 0] = 255
    png = _encode(".png", stored)
    path = _write(tmp_path / "e.png", png[:33] + _chunk(b"eXIf", _exif_tiff(8)) + png[33:])
    out = read_image(path)
    assert out.shape == (6, 4, 3) and read_image_size(path) == (4, 6)
    assert out[5, 0, 0] == 255  # orientation 8 = rotate 90° counter-clockwise: top-left → bottom-left


def _tiff_grey(image: np.ndarray, orientation: int) -> bytes:
    """An uncompressed greyscale TIFF built by hand, with an Orientation tag."""
    h, w = image.shape
    tags = [(256, 3, w), (257, 3, h), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 0),
            (274, 3, orientation), (277, 3, 1), (278, 3, h), (279, 4, h * w)]
    data_at = 8 + 2 + 12 * len(tags) + 4
    out = b"II*\x00" + struct.pack("<IH", 8, len(tags))
    for tag, kind, value in tags:
        value = data_at if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, 1) + packed
    return out + b"\x00" * 4 + image.tobytes()


def test_tiff_orientation_is_applied_exactly_once(tmp_path):
    stored = np.zeros((4, 6), np.uint8)
    stored[0, 0], stored[0, 1] = 255, 128
    path = _write(tmp_path / "t.tif", _tiff_grey(stored, 6))
    out = read_image(path)[:, :, 0]
    assert out.shape == (6, 4) and read_image_size(path) == (4, 6)
    assert out[0, 3] == 255 and out[1, 3] == 128  # rotated 90° clockwise, not twice or not at all


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tiff", ".webp", ".gif"])
def test_size_comes_from_the_header_without_decoding(tmp_path, rgb, ext, monkeypatch):
    path = _write(tmp_path / f"s{ext}", _encode(ext, rgb[:, :, ::-1]))
    shape = read_image(path).shape
    monkeypatch.setattr(images.cv2, "imdecode", lambda *a, **k: pytest.fail("decoded"))
    assert read_image_size(path) == (shape[1], shape[0]) == (50, 30)


def test_lossless_webp_size(tmp_path, rgb, no_decode):
    path = _write(tmp_path / "l.webp", _encode(".webp", rgb, (cv2.IMWRITE_WEBP_QUALITY, 101)))
    assert read_image_size(path) == (50, 30)


def test_huge_header_is_refused_before_decoding(tmp_path, no_decode):
    path = _write(tmp_path / "huge.png", _png(100_000, 100_000, 0, b"\x00" * 64))
    with pytest.raises(ImageReadError) as err:
        read_image(path)
    assert str(path) in str(err.value) and "100000×100000" in str(err.value) and "limit" in str(err.value)
    assert read_image_size(path) == (100_000, 100_000)


def test_pixel_limit_is_a_parameter(tmp_path, rgb):
    path = _write(tmp_path / "a.jpg", _encode(".jpg", rgb))
    with pytest.raises(ImageReadError, match="over the limit of 1000"):
        read_image(path, max_pixels=1000)
    assert read_image(path, max_pixels=1500).shape == (30, 50, 3)


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "name, make, reason",
    [
        ("trunc.png", lambda img: _half(_encode(".png", img)), "corrupt or truncated"),
        ("trunc.jpg", lambda img: _half(_encode(".jpg", img)), "corrupt or truncated"),
        ("header.png", lambda img: _encode(".png", img)[:20], "header"),
        ("corrupt.png", lambda img: _encode(".png", img)[:40] + bytes(range(256)) * 8, "corrupt"),
        ("noise.jpg", lambda img: b"\xff\xd8" + bytes(range(7, 250)) * 3, "header"),
        ("text.png", lambda img: b"hello, this is not a picture\n", "not an image"),
        ("empty.png", lambda img: b"", "empty file"),
    ],
)
def test_broken_files_raise_one_error_naming_file_and_cause(tmp_path, rgb, name, make, reason):
    path = _write(tmp_path / name, make(rgb))
    with pytest.raises(ImageReadError) as err:
        read_image(path)
    assert str(err.value).startswith(f"{path}: ") and reason in str(err.value)
    assert err.value.path == str(path)


def test_missing_and_directory(tmp_path):
    with pytest.raises(ImageReadError, match="not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="not found"):
        read_image_size(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="directory"):
        read_image(tmp_path)
    with pytest.raises(ImageReadError, match="empty"):
        read_image_size(_write(tmp_path / "e.jpg", b""))


def test_error_survives_pickling(tmp_path):
    err = ImageReadError(tmp_path / "x.png", "empty file (0 bytes)")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) == f"{tmp_path / 'x.png'}: empty file (0 bytes)"
    assert back.reason == "empty file (0 bytes)"
