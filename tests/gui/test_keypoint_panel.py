"""The Keypoints dock on the real window: all K rows, clicks and ↑/↓ select, in step with canvas and undo."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gui.item_models.keypoints import STATE_ROLE
from model.annotations.presets import load_preset
from tests.gui.helpers import click_image, key, open_folder


def _click_row(panel, k: int) -> None:
    view = panel.view
    rect = view.visualRect(panel.model.index(k, 1))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     rect.center())


def _state(panel, k: int) -> str:
    return panel.model.index(k, 1).data(STATE_ROLE)


def _selected_row(panel) -> int | None:
    rows = panel.view.selectionModel().selectedRows()
    return rows[0].row() if rows else None


def test_panel_lists_all_17_and_follows_keys_clicks_canvas_and_undo(qtbot, window, image_folder) -> None:
    open_folder(qtbot, window, image_folder, load_preset("coco17"))
    panel, s = window.keypoint_panel, window.session
    assert panel.model.rowCount() == 17 and panel.isVisible()
    assert panel.model.index(16, 0).data() == "17  right_ankle"
    swatch = panel.model.index(0, 0).data(Qt.ItemDataRole.DecorationRole)
    assert swatch.name() == "#{:02x}{:02x}{:02x}".format(*s.skeleton.colors[0])
    click_image(window.canvas, 100, 120)  # places nose in a new instance
    assert _state(panel, 0) == "confirmed" and _state(panel, 1) == "absent"
    assert _selected_row(panel) == 1  # the canvas moved the selection to the next missing keypoint
    _click_row(panel, 13)  # keypoint 14, out of reach of the keys 1–9
    assert s.selected_k == 13 and _selected_row(panel) == 13
    for _ in range(3):
        key(window, Qt.Key.Key_Down)
    assert s.selected_k == 16 and _selected_row(panel) == 16
    key(window, Qt.Key.Key_Down)  # wraps
    key(window, Qt.Key.Key_Up)
    assert s.selected_k == 16
    click_image(window.canvas, 200, 220)
    assert _state(panel, 16) == "confirmed"
    assert panel.model.index(16, 2).data() == "—"  # a person's keypoint has no confidence
    assert s.selected_k == 1  # placing moved on to the next missing one
    _click_row(panel, 16)
    key(window, Qt.Key.Key_V)  # → occluded, shown at once
    assert _state(panel, 16) == "occluded"
    window.actions_by_id["undo"].trigger()
    assert _state(panel, 16) == "confirmed"
    window.actions_by_id["undo"].trigger()
    assert _state(panel, 16) == "absent"


def test_view_menu_brings_back_every_closed_dock(qtbot, window, image_folder) -> None:
    from PySide6.QtWidgets import QDockWidget

    docks = window.findChildren(QDockWidget)
    assert {d.objectName() for d in docks} >= {"images_dock", "keypoints_dock"}
    view_actions = {a.text(): a for a in window.menus["View"].actions()}
    for dock in docks:
        dock.close()
        assert not dock.isVisible()
        view_actions[f"Show {dock.windowTitle()}"].trigger()
        assert dock.isVisible()


def test_panel_and_heatmap_dock_follow_each_other(qtbot, predicted) -> None:
    win = predicted
    panel, dock, s = win.keypoint_panel, win.inspector.dock, win.session
    assert panel.model.index(0, 2).data() not in ("", "—")  # the network's confidence is shown
    assert panel.model.index(0, 3).data() not in ("", "—")  # and its uncertainty
    s.select(0, 0)
    dock.keypoint_combo.setCurrentIndex(2)  # the dock's keypoint chooser
    assert s.selected_k == 2 and _selected_row(panel) == 2
    _click_row(panel, 3)
    assert dock.keypoint == 3 and dock.keypoint_combo.currentIndex() == 3
