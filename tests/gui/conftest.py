"""GUI test fixtures: a copy of some openfield images, its skeleton, a tiny checkpoint, an isolated window."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from model.annotations.skeleton import Skeleton
from tests.gui.helpers import activate, key, make_tiny_checkpoint, open_folder, openfield_skeleton


@pytest.fixture(scope="session")
def of_skeleton(openfield: Path) -> Skeleton:
    return openfield_skeleton(openfield)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, of_skeleton: Skeleton) -> Path:
    """An untrained 2-stack, 8-feature, 64×64 hourglass for the openfield skeleton (our format)."""
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", of_skeleton)


@pytest.fixture
def image_folder(tmp_path: Path, openfield: Path) -> Path:
    """A copy of the first 5 openfield images."""
    folder = tmp_path / "images"
    folder.mkdir()
    for src in sorted((openfield / "images").glob("*.png"))[:5]:
        shutil.copy(src, folder / src.name)
    return folder


@pytest.fixture
def skeleton_json(tmp_path: Path, of_skeleton: Skeleton) -> Path:
    path = tmp_path / "mouse_skeleton.json"
    of_skeleton.save_json(path)
    return path


@pytest.fixture
def window(qtbot, tmp_path: Path):
    """The real main window with settings in a temporary ini file."""
    from gui.main_window import MainWindow
    from gui.settings import AppSettings

    win = MainWindow(AppSettings(tmp_path / "settings.ini"))
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    activate(qtbot, win)
    yield win
    win.close()


@pytest.fixture
def predicted(qtbot, window, image_folder, of_skeleton, tiny_checkpoint):
    """The window on 5 openfield images, tiny model loaded, image 1 predicted by the network."""
    s = window.session
    open_folder(qtbot, window, image_folder, of_skeleton)
    s.predictions.load_checkpoint(str(tiny_checkpoint))
    qtbot.waitUntil(lambda: s.predictions.model_info is not None, timeout=30000)
    key(window, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: len(s.instances) == 1 and window.inspector.shown is not None, timeout=30000)
    return window
