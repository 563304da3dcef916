"""Window behaviour around the core loop: zoom/pan/fit, instance selection, recent folders and the
remembered checkpoint, lazy thumbnails on a big folder, cancelling a real batch, the command line."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from gui.app import run_app
from gui.main_window import MainWindow
from gui.settings import AppSettings
from model.annotations.types import ReviewStatus
from tests.gui.helpers import activate, drag_image, key, open_folder


def _view_width(window) -> float:
    (x0, x1), _ = window.canvas.view_box.viewRange()
    return x1 - x0


def test_wheel_zooms_right_drag_pans_f_fits(qtbot, window, image_folder, of_skeleton):
    open_folder(qtbot, window, image_folder, of_skeleton)
    canvas, vp = window.canvas, window.canvas.viewport()
    fitted = _view_width(window)
    centre = QPointF(vp.width() / 2, vp.height() / 2)
    wheel = QWheelEvent(centre, canvas.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(vp, wheel)
    zoomed = _view_width(window)
    assert zoomed < 0.8 * fitted
    before = canvas.map_widget_to_image(centre)
    start, end = centre.toPoint(), centre.toPoint() + QPoint(60, 40)
    QTest.mousePress(vp, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 5):
        QTest.mouseMove(vp, start + (end - start) * i / 4)
    QTest.mouseRelease(vp, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, end)
    after = canvas.map_widget_to_image(centre)
    assert after.x() < before.x() - 5 and after.y() < before.y() - 5  # the image followed the mouse
    assert abs(_view_width(window) - zoomed) < 1e-6 and window.session.instances == []  # no box drawn
    key(window, Qt.Key.Key_F)
    assert abs(_view_width(window) - fitted) < 1e-6


def test_instance_tags_select_and_i_cycles(qtbot, window, image_folder, of_skeleton):
    s = window.session
    open_folder(qtbot, window, image_folder, of_skeleton)
    drag_image(window.canvas, 50, 50, 200, 200)
    drag_image(window.canvas, 300, 250, 450, 400)
    assert len(s.instances) == 2 and s.selected_index == 1
    qtbot.wait(10)
    tag = window.canvas.layer.tag_item(0)
    pos = window.canvas.mapFromScene(tag.mapToScene(tag.boundingRect().center()))
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert s.selected_index == 0 and len(s.instances) == 2
    key(window, Qt.Key.Key_I)
    assert s.selected_index == 1
    key(window, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert len(s.instances) == 1
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(s.instances) == 2


def test_recent_folder_and_checkpoint_remembered_per_project(qtbot, tmp_path, image_folder, of_skeleton,
                                                             tiny_checkpoint):
    settings = tmp_path / "shared.ini"
    first = MainWindow(AppSettings(settings))
    qtbot.addWidget(first)
    first.show()
    open_folder(qtbot, first, image_folder, of_skeleton)
    first.session.predictions.load_checkpoint(str(tiny_checkpoint))
    qtbot.waitUntil(lambda: first.session.predictions.model_info is not None, timeout=60000)
    first.close()
    second = MainWindow(AppSettings(settings))
    qtbot.addWidget(second)
    second.show()
    recent = [a.text() for a in second.recent_menu.actions()]
    assert recent == [str(image_folder.resolve())]
    second.recent_menu.actions()[0].trigger()  # File → Recent Folders → the folder
    qtbot.waitUntil(lambda: second.session.predictions.model_info is not None, timeout=60000)
    assert second.session.predictions.model_info.path == str(tiny_checkpoint.resolve())
    assert "tiny.pt" in second.status.model_label.text()
    second.open_folder(tmp_path / "no_such_folder")
    assert "not a folder" in second.status.currentMessage()
    assert second.error_box.isVisible() and "no_such_folder" in second.error_box.text()
    second.error_box.close()
    second.close()


def test_thumbnails_only_for_rows_on_screen(qtbot, window, tmp_path, openfield, of_skeleton):
    folder = tmp_path / "many"
    folder.mkdir()
    src = sorted((openfield / "images").glob("*.png"))[0]
    for i in range(400):
        os.link(src, folder / f"f{i:04d}.png")
    open_folder(qtbot, window, folder, of_skeleton)
    view = window.list_panel.view
    qtbot.waitUntil(lambda: window.thumbnails.get(window.session.records[0].id) is not None, timeout=10000)
    qtbot.wait(300)
    made = sum(window.thumbnails.get(r.id) is not None for r in window.session.records)
    visible = view.viewport().height() // view.sizeHintForRow(0) + 2
    assert 1 <= made <= visible + 5 < 400


def test_cancel_a_real_batch(qtbot, window, image_folder, of_skeleton, tiny_checkpoint):
    s = window.session
    open_folder(qtbot, window, image_folder, of_skeleton)
    s.predictions.load_checkpoint(str(tiny_checkpoint))
    qtbot.waitUntil(lambda: s.predictions.model_info is not None, timeout=60000)
    key(window, Qt.Key.Key_P, Qt.KeyboardModifier.ShiftModifier)
    assert window.status.progress.isVisible() and s.predictions.batch_request is not None
    qtbot.mouseClick(window.status.cancel, Qt.MouseButton.LeftButton)
    assert s.predictions.batch_request is None and not window.status.progress.isVisible()
    qtbot.wait(1500)  # anything still on its way is dropped
    assert s.counts()[ReviewStatus.UNLABELLED] >= 1
    activate(qtbot, window)


def test_command_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_app(["--help"])
    assert exit_info.value.code == 0
    assert "FOLDER" in capsys.readouterr().out.upper()
    assert run_app([str(tmp_path), "--skeleton", "no_such_preset"]) == 2
    assert "no_such_preset" in capsys.readouterr().err
