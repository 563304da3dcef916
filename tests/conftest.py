"""Shared fixtures: offscreen Qt, the shared data folder, a tiny skeleton."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """../shared beside the checkout (CI lays a copy there); HGLABEL_SHARED overrides."""
    return Path(os.environ.get("HGLABEL_SHARED", REPO_ROOT.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    assert path.is_dir(), f"shared data folder missing: {path}"
    return path


@pytest.fixture(scope="session")
def openfield(shared: Path) -> Path:
    """The openfield_mouse folder: images/ and annotations.json (COCO, 4 keypoints)."""
    return shared / "data" / "openfield_mouse"
