"""File → Import COCO (the CLI's checks and messages, one undo step) and Model → Evaluate (report of
the current model on the done images, computed in child processes) on the real window."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from model.annotations.types import ReviewStatus
from model.project.coco_bridge import import_coco
from tests.gui.helpers import activate, key, open_folder


def _choose(monkeypatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), "COCO JSON (*.json)"))


def _instances(store) -> int:
    return sum(len(store.instances(r.id)) for r in store.images())


def test_import_coco_is_one_undo_step(qtbot, window, image_folder, of_skeleton, openfield, monkeypatch):
    open_folder(qtbot, window, image_folder, of_skeleton)
    s = window.session
    _choose(monkeypatch, openfield / "annotations.json")
    done = []
    window.import_flow.finished.connect(done.append)
    key(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    assert done[0].startswith("Imported 5 instance(s) on 5 image(s) from annotations.json")
    assert "7 image(s) not in this project's folder were left out" in done[0]
    assert _instances(s.store) == 5 and s.progress() == (5, 5)
    assert len(s.instances) == 1 and s.instances[0].keypoints.human.all()
    assert s.undo_stack.count() == 1
    activate(qtbot, window)
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _instances(s.store) == 0 and s.progress() == (0, 5)
    assert all(r.status == ReviewStatus.UNLABELLED for r in s.store.images())


def test_import_refuses_a_bad_file_with_the_cli_message(qtbot, window, image_folder, of_skeleton, openfield,
                                                       monkeypatch, tmp_path) -> None:
    open_folder(qtbot, window, image_folder, of_skeleton)
    data = json.loads((openfield / "annotations.json").read_text())
    data["annotations"][0]["keypoints"][2] = 3  # v outside 0/1/2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    _choose(monkeypatch, bad)
    done = []
    window.import_flow.finished.connect(done.append)
    key(window, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    cli = subprocess.run([sys.executable, "-m", "model", "import", str(bad), "--images", str(image_folder)],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"hglabel import: error: {done[0]}"
    assert window.import_flow.error_box.isVisible() and str(bad) in window.import_flow.error_box.text()
    assert _instances(window.session.store) == 0 and window.session.undo_stack.count() == 0


@pytest.fixture
def demo_done(tmp_path: Path, demo_eval: Path) -> Path:
    images = tmp_path / "images"
    shutil.copytree(demo_eval / "images", images)
    import_coco(demo_eval / "annotations.json", images)
    return images


def test_evaluate_reports_the_model_on_the_done_images(qtbot, window, demo_done, demo_eval) -> None:
    open_folder(qtbot, window, demo_done)
    window.session.predictions.load_checkpoint(str(demo_eval / "checkpoint.pt"))
    qtbot.waitUntil(lambda: window.session.predictions.model_info is not None, timeout=60000)
    activate(qtbot, window)
    key(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = window.evaluate_window
    assert dialog is not None and dialog.isVisible()
    assert dialog.table.rowCount() == 0  # computed off the GUI thread: nothing yet
    qtbot.waitUntil(lambda: dialog.metrics is not None or "failed" in dialog.status.text(), timeout=180000)
    assert dialog.metrics is not None, dialog.status.text()
    assert dialog.metrics["counts"]["images"] == 8
    assert dialog.metrics["AP"] > 0.6
    names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert names == [*window.session.skeleton.keypoints, "all"]
    assert "OKS AP" in dialog.summary.text()
    mean_px = float(dialog.table.item(len(names) - 1, 4).text())
    assert 0 < mean_px < 10
