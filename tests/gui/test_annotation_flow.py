"""The annotation loop on the real window, driven by mouse and key events, checked in the COCO export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from gui.dialogs.new_project import NewProjectDialog
from model.annotations.types import ReviewStatus
from tests.gui.helpers import activate, click_image, drag, key, widget_point


def _create_project_through_dialog(qtbot, window, folder: Path, skeleton_json: Path) -> None:
    """Open a new folder: the skeleton dialog appears; choose the JSON file by typing its path; OK."""
    seen = {}

    def drive() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, NewProjectDialog)
        seen["dialog"] = True
        dialog.combo.setCurrentIndex(dialog.combo.count() - 1)
        qtbot.keyClicks(dialog.path_edit, str(skeleton_json))
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    from PySide6.QtCore import QTimer

    QTimer.singleShot(200, drive)
    assert window.open_folder(folder)
    assert seen.get("dialog")
    qtbot.waitUntil(lambda: window.session.pixels is not None, timeout=15000)
    activate(qtbot, window)  # the closed dialog had the focus


def _show_all_points(window) -> None:
    """Zoom out so every keypoint (an untrained model may put some outside the image) is on screen."""
    pts = np.concatenate([inst.keypoints.xy for inst in window.session.instances] + [[[0, 0], [640, 480]]])
    lo, hi = pts.min(axis=0) - 30, pts.max(axis=0) + 30
    window.canvas.view_box.setRange(QRectF(lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]), padding=0)
    QApplication.processEvents()


def _point_widget_pos(window, k: int):
    item = window.canvas.layer.point_item(0, k)
    assert item is not None, f"keypoint {k} not drawn"
    return window.canvas.mapFromScene(item.scenePos())


def _kp(window, k: int) -> tuple[float, float, int, bool]:
    inst = window.session.store.instances(window.session.current.id)[0]
    x, y = inst.keypoints.xy[k]
    return float(x), float(y), int(inst.keypoints.vis[k]), bool(inst.keypoints.human[k])


def test_predict_edit_undo_accept_done_export(qtbot, window, image_folder, skeleton_json, tiny_checkpoint,
                                              tmp_path):
    s = window.session
    _create_project_through_dialog(qtbot, window, image_folder, skeleton_json)
    assert s.skeleton.keypoints == ("snout", "leftear", "rightear", "tailbase")
    assert window.windowTitle().endswith("0 / 5 done")
    s.predictions.load_checkpoint(str(tiny_checkpoint))
    qtbot.waitUntil(lambda: s.predictions.model_info is not None, timeout=30000)
    assert s.predictions.model_info.device in window.status.model_label.text()

    key(window, Qt.Key.Key_P)  # predict this image
    qtbot.waitUntil(lambda: len(s.instances) == 1, timeout=30000)
    predicted = s.instances[0].keypoints
    assert not predicted.human.any() and (predicted.vis == 2).all()
    assert s.current.status in (ReviewStatus.PREDICTED, ReviewStatus.IN_REVIEW)
    qtbot.waitUntil(lambda: window.canvas.layer.point_item(0, 3) is not None)
    _show_all_points(window)

    # drag keypoint 1 (leftear): only it moves, as one undo step
    target = widget_point(window.canvas, 300, 200)
    drag(window.canvas, _point_widget_pos(window, 1), target)
    qtbot.wait(20)
    moved = window.canvas.map_widget_to_image(target)
    assert _kp(window, 1)[:2] == pytest.approx((moved.x(), moved.y()), abs=1e-6)
    assert _kp(window, 1)[2:] == (2, True)
    for k in (0, 2, 3):
        assert _kp(window, k)[:2] == pytest.approx(tuple(predicted.xy[k]))
    steps = s.undo_stack.count()
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _kp(window, 1) == pytest.approx((*predicted.xy[1], 2, False))
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert _kp(window, 1)[:2] == pytest.approx((moved.x(), moved.y()), abs=1e-6)
    assert s.undo_stack.count() == steps

    # tailbase: click it, V twice → occluded then not labelled; the click then places it again
    qtbot.wait(20)
    _show_all_points(window)
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=_point_widget_pos(window, 3))
    assert (s.selected_index, s.selected_k) == (0, 3)
    key(window, Qt.Key.Key_V)
    assert _kp(window, 3)[2:] == (1, True)
    key(window, Qt.Key.Key_V)
    assert _kp(window, 3) == (0.0, 0.0, 0, True)
    click_image(window.canvas, 350, 250)
    placed = window.canvas.map_widget_to_image(widget_point(window.canvas, 350, 250))
    assert _kp(window, 3) == pytest.approx((placed.x(), placed.y(), 2, True), abs=1e-6)

    # snout: select with key 1, V once → occluded (v = 1) at the predicted place
    key(window, Qt.Key.Key_1)
    key(window, Qt.Key.Key_V)
    assert _kp(window, 0) == pytest.approx((*predicted.xy[0], 1, True))

    # accept: rightear, still the model's, becomes a person's value; then mark done
    s.select(None)
    key(window, Qt.Key.Key_E)
    assert _kp(window, 2) == pytest.approx((*predicted.xy[2], 2, True))
    key(window, Qt.Key.Key_Space)
    if s.current.status != ReviewStatus.DONE:  # leftear is still the model's and flagged: confirm it
        key(window, Qt.Key.Key_Space)
    assert s.current.status == ReviewStatus.DONE
    assert window.windowTitle().endswith("1 / 5 done")

    # export through the dialog (Ctrl+E), on a background thread
    key(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window.export_window
    assert dialog.isVisible()
    out = tmp_path / "export.json"
    dialog.path_edit.setText(str(out))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10000)
    coco = json.loads(out.read_text())
    assert [im["file_name"] for im in coco["images"]] == ["img0000.png"]
    (ann,) = coco["annotations"]
    expected = [*predicted.xy[0], 1, moved.x(), moved.y(), 2, *predicted.xy[2], 2, placed.x(), placed.y(), 2]
    assert ann["keypoints"] == pytest.approx(expected, abs=1e-6)
    assert ann["num_keypoints"] == 4 and ann["image_id"] == coco["images"][0]["id"]
    assert coco["categories"][0]["keypoints"] == ["snout", "leftear", "rightear", "tailbase"]
