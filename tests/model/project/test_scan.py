"""Folder scan: recursive, natural order, extension filter, hidden folders skipped, nothing decoded."""

from __future__ import annotations

import time

import pytest

from model.project.scan import natural_sorted, scan_folder


def test_natural_sort_orders_numbers_by_value():
    names = ["img10.png", "img2.png", "img1.png", "Img3.png", "a/img20.png", "a/img3.png", "img02.png"]
    assert natural_sorted(names) == [
        "a/img3.png", "a/img20.png", "img1.png", "img02.png", "img2.png", "Img3.png", "img10.png"
    ]


def test_scan_is_recursive_filters_extensions_and_skips_hidden(tmp_path):
    names = ["a.JPG", "b.jpeg", "c.png", "d.bmp", "e.tif", "f.TIFF", "g.webp", "sub/deeper/h.png",
             "notes.txt", "x.gif", ".hglabel/project.png", ".hidden/y.png", "sub/.z.png"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"not really an image")  # never decoded
    assert scan_folder(tmp_path) == ["a.JPG", "b.jpeg", "c.png", "d.bmp", "e.tif", "f.TIFF", "g.webp",
                                     "sub/deeper/h.png"]


def test_scan_does_not_follow_directory_symlinks(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.png").write_bytes(b"")
    (tmp_path / "real" / "loop").symlink_to(tmp_path)
    assert scan_folder(tmp_path) == ["real/a.png"]


def test_scan_of_missing_folder_names_it(tmp_path):
    with pytest.raises(NotADirectoryError, match="nope"):
        scan_folder(tmp_path / "nope")


def test_scan_of_10k_files_is_fast(tmp_path):
    for i in range(10_000):
        (tmp_path / f"frame{i}.jpg").touch()
    start = time.perf_counter()
    found = scan_folder(tmp_path)
    elapsed = time.perf_counter() - start
    assert len(found) == 10_000 and found[:3] == ["frame0.jpg", "frame1.jpg", "frame2.jpg"]
    assert elapsed < 1.0, elapsed
