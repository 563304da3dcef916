"""The bundled demo (frames, labels, skeleton, model), found through the installed package.

Top-level assets/demo is the source; model/demo is a symbolic link to it, so the wheel carries its
files as package data of `model` (pyproject's package-data) and `demo_dir()` finds them through
importlib.resources, in a source checkout, an editable install and an installed wheel alike.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from model.errors import HglabelError

DEMO_FILES = ("images", "skeleton.json", "checkpoint.pt", "annotations.json")


class DemoMissingError(HglabelError, FileNotFoundError):
    """The installed package lacks the demo files (a broken or stripped install)."""


def demo_dir() -> Path:
    """The folder holding the demo's images/, skeleton.json, checkpoint.pt and annotations.json."""
    path = Path(str(resources.files("model").joinpath("demo")))
    missing = [name for name in DEMO_FILES if not (path / name).exists()]
    if missing:
        raise DemoMissingError(f"{path}: the bundled demo lacks {', '.join(missing)} (reinstall hglabel)")
    return path
