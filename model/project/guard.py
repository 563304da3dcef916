"""The store's write guard: refuses writes to a file that was removed or replaced, or opened read-only.

A sync client, `git clean` or a cleanup script may delete or swap project.db while it is open.
SQLite keeps writing to the open (now unlinked) file, so edits would look saved and be lost on
close. The guard compares the path's file identity (device, inode) with the one opened before
every write transaction; on a mismatch it refuses this and every later write with one message,
while reads (and so export) keep working from the open file.
"""

from __future__ import annotations

import os
from pathlib import Path

from model.project.connection import ProjectError, ProjectReadOnlyError


class ProjectGoneError(ProjectError):
    """The project file was removed or replaced while open; no further edit is accepted."""


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class FileGuard:
    """Checked before each write: the file is still the one opened, and the store is writable."""

    def __init__(self, path: Path, read_only: bool, reason: str = "") -> None:
        self.path = path
        self.read_only = read_only
        self._reason = reason
        self._identity = _identity(path)
        self.gone: str | None = None  # the message once the file was found removed or replaced

    def check(self) -> None:
        """Raise ProjectReadOnlyError or ProjectGoneError instead of letting a write go ahead."""
        if self.read_only:
            raise ProjectReadOnlyError(
                f"{self.path}: opened read-only{self._reason}; nothing can be changed (export still works)")
        if self.gone is None:
            now = _identity(self.path)
            if now != self._identity:
                what = "removed" if now is None else "replaced by another file"
                self.gone = (f"{self.path}: the project file was {what} while open; edits are no longer "
                             "saved. Export your labels now (File → Export COCO, or keep this window "
                             "open), then reopen the folder")
        if self.gone is not None:
            raise ProjectGoneError(self.gone)
