"""Resolve a PROJECT_OR_FOLDER command-line argument to a project file."""

from __future__ import annotations

from pathlib import Path

from model.errors import HglabelError
from model.project.paths import default_project_path


class ProjectNotFoundError(HglabelError, FileNotFoundError):
    """No project file at the given path or for the given folder; the message names both."""


def resolve_project(arg: str | Path) -> Path:
    """A .db file as is; an image folder → its default project file. Raises ProjectNotFoundError."""
    path = Path(arg)
    if path.is_file():
        return path
    if path.is_dir():
        project = default_project_path(path)
        if project.is_file():
            return project
        raise ProjectNotFoundError(f"{arg}: folder has no hglabel project (looked for {project})")
    raise ProjectNotFoundError(f"{arg}: no such project file or folder")
