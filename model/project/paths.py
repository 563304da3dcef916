"""Where a project file lives, and image paths relative to the project's image root."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath

from model.errors import HglabelError
from model.project.scan import PROJECT_DIR_NAME

PROJECT_FILE_NAME = "project.db"


class PathEscapeError(HglabelError, ValueError):
    """An image path points outside the project's image root."""


def user_data_dir() -> Path:
    """$XDG_DATA_HOME/hglabel or ~/.local/share/hglabel."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "hglabel"


def can_create_in(path: Path) -> bool:
    """True if a file can be created in the existing folder path. Probes for real (root ignores modes)."""
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".hglabel-probe-"):
            pass
        return True
    except OSError:
        return False


def fallback_project_path(image_folder: str | Path) -> Path:
    """Per-user location for a folder's project: <data dir>/projects/<hash of the folder path>/project.db."""
    folder = Path(image_folder).resolve()
    digest = hashlib.sha256(str(folder).encode("utf-8")).hexdigest()[:16]
    return user_data_dir() / "projects" / f"{folder.name or 'root'}-{digest}" / PROJECT_FILE_NAME


def default_project_path(image_folder: str | Path) -> Path:
    """<folder>/.hglabel/project.db, or the per-user fallback when the folder is read-only.

    An existing project file in either place wins, so reopening finds the same file.
    """
    folder = Path(image_folder).resolve()
    local = folder / PROJECT_DIR_NAME / PROJECT_FILE_NAME
    if local.exists():
        return local
    fallback = fallback_project_path(folder)
    if fallback.exists():
        return fallback
    probe_dir = local.parent if local.parent.is_dir() else folder
    return local if folder.is_dir() and can_create_in(probe_dir) else fallback


def relative_image_path(root: Path, path: str | Path) -> str:
    """Path of an image relative to root, as POSIX; raises PathEscapeError if it leaves root.

    `path` may be absolute or relative to root. '..' segments that stay inside root are resolved.
    """
    if isinstance(path, str) and _plain(path):
        return path
    p = Path(path)
    if not p.is_absolute():
        parts = PurePosixPath(str(path).replace("\\", "/")).parts
        if any(part == ".." for part in parts):
            p = root / Path(*parts)
        else:
            return _clean_relative(parts, path)
    try:
        rel = Path(os.path.normpath(p)).relative_to(Path(os.path.normpath(root)))
    except ValueError as exc:
        raise PathEscapeError(f"{path}: outside the image root {root}") from exc
    return _clean_relative(PurePosixPath(rel.as_posix()).parts, path)


def _plain(path: str) -> bool:
    """Already a clean relative POSIX path (the common case, checked without pathlib)."""
    return bool(path) and path[0] != "/" and "\\" not in path and ":" not in path and all(
        part not in ("", ".", "..") for part in path.split("/")
    )


def _clean_relative(parts: tuple[str, ...], original) -> str:
    parts = tuple(p for p in parts if p not in ("", "."))
    if not parts or any(p == ".." for p in parts) or ":" in parts[0]:
        raise PathEscapeError(f"{original}: not a path inside the image root")
    return "/".join(parts)
