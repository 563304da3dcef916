"""Folder scan: every image file under a root, as relative POSIX paths in natural order; nothing decoded."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from model.io.names import name_problem

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
PROJECT_DIR_NAME = ".hglabel"
_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str) -> tuple:
    """Sort key where digit runs compare as numbers: 'img2' < 'img10'; case-insensitive, then exact."""
    parts: list = _DIGITS.split(path.lower())
    # re.split with one capture group alternates text, digits, text…: positions keep one type.
    parts[1::2] = map(int, parts[1::2])
    return tuple(parts), path


def natural_sorted(paths) -> list[str]:
    return sorted(paths, key=natural_key)


def is_image_name(name: str) -> bool:
    """True for a file name with an image extension (case-insensitive)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def scan_folder(root: str | Path) -> list[str]:
    """Relative POSIX paths of all image files under root, recursively, naturally sorted.

    Hidden entries (name starting with '.', which includes the .hglabel project folder) are
    skipped; directory symlinks are not followed (no loops); no file is opened. Names a project
    cannot hold (model.io.names: newline/tab, backslash, …) and file symlinks that lead outside
    the root are left out with a warning, exactly as `hglabel import` would refuse them. Raises
    NotADirectoryError/FileNotFoundError naming the root if it is not a readable folder.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise NotADirectoryError(f"{root}: not a folder")
    found: list[str] = []
    refused: list[str] = []
    stack = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            if not prefix:
                raise
            continue  # an unreadable subfolder is skipped, not fatal
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            rel = f"{prefix}{name}"
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((rel + "/", entry.path))
                elif is_image_name(name) and entry.is_file():
                    problem = name_problem(rel) or _link_problem(entry, root)
                    if problem:
                        refused.append(f"{rel!r} {problem}")
                    else:
                        found.append(rel)
            except OSError:
                continue
    if refused:
        log.warning("%s: %d image file(s) left out: %s", root, len(refused), "; ".join(refused[:5]))
    return natural_sorted(found)


def _link_problem(entry: os.DirEntry, root: str) -> str | None:
    """A file symlink must resolve inside the root (the importer refuses it otherwise)."""
    if not entry.is_symlink():
        return None
    real_root = os.path.realpath(root)
    target = os.path.realpath(entry.path)
    if os.path.commonpath([real_root, target]) != real_root:
        return "is a symbolic link leading outside the image folder"
    return None
