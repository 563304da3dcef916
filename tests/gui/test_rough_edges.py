"""The rough edges a day of labelling hits: zoom kept between images, hover read-out clears,
exports and Load Checkpoint default to visible per-project folders, one confidence/uncertainty legend."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog

from gui.item_models.keypoints import LEGEND
from model.annotations.presets import load_preset
from tests.gui.helpers import activate, key, open_folder
from tests.gui.test_inspector_dock import SKELETON, cell_widget_point, constructed_prediction, hover


def _range(window):
    (x0, x1), (y0, y1) = window.canvas.view_box.viewRange()
    return round(x0, 1), round(x1, 1), round(y0, 1), round(y1, 1)


def _next_image(qtbot, window) -> None:
    row = window.session.row
    key(window, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: window.session.row == row + 1 and window.session.pixels is not None)
    QApplication.processEvents()


def test_zoom_is_kept_between_same_size_images_unless_switched_off(qtbot, window, image_folder) -> None:
    open_folder(qtbot, window, image_folder, load_preset("coco17"))
    fitted = _range(window)
    window.canvas.zoom(0.4)
    zoomed = _range(window)
    assert zoomed != fitted
    _next_image(qtbot, window)
    assert _range(window) == zoomed  # same size: the close-up stays
    dialog = window.settings_dialog()
    assert dialog.keep_zoom_check.isChecked()
    qtbot.mouseClick(dialog.keep_zoom_check, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    assert window.settings.keep_zoom() is False
    activate(qtbot, window)
    _next_image(qtbot, window)
    assert _range(window) == fitted


def test_hover_readout_clears_on_leave_and_on_a_new_prediction(qtbot) -> None:
    from gui.inspector.dock import HeatmapDock

    dock = HeatmapDock()
    qtbot.addWidget(dock)
    dock.resize(520, 620)
    dock.show()
    qtbot.waitExposed(dock)
    dock.set_prediction(constructed_prediction(), SKELETON)
    QApplication.processEvents()
    viewport = dock.grid.viewport()
    hover(viewport, cell_widget_point(dock, 1, 11.5, 5.5))
    qtbot.waitUntil(lambda: "stack" in dock.readout.text())
    QApplication.sendEvent(dock.grid, QEvent(QEvent.Type.Leave))
    assert dock.readout.text().strip() == ""
    qtbot.wait(30)  # pyqtgraph rate-limits mouse moves (as a hand is slower)
    hover(viewport, cell_widget_point(dock, 1, 9.5, 4.5))
    qtbot.waitUntil(lambda: "stack" in dock.readout.text())
    dock.set_prediction(None, SKELETON)  # image changed, nothing predicted there
    assert dock.readout.text().strip() == ""


def test_export_defaults_to_a_visible_folder_and_remembers_the_choice(qtbot, window, image_folder) -> None:
    open_folder(qtbot, window, image_folder, load_preset("coco17"))
    key(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window.export_window
    expected = image_folder.resolve() / "hglabel-exports" / "annotations.coco.json"
    assert Path(dialog.path_edit.text()) == expected
    chosen = image_folder / "mine" / "labels.json"
    dialog.path_edit.clear()
    qtbot.keyClicks(dialog.path_edit, str(chosen))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10000)
    assert chosen.is_file()
    dialog.close()
    activate(qtbot, window)
    key(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert Path(window.export_window.path_edit.text()) == chosen.resolve()


def test_load_checkpoint_starts_in_the_models_folder(qtbot, window, image_folder, monkeypatch) -> None:
    open_folder(qtbot, window, image_folder, load_preset("coco17"))
    (image_folder / "hglabel-models").mkdir()
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (asked.append(a[2]), ("", ""))[1])
    key(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert Path(asked[-1]) == image_folder.resolve() / "hglabel-models"


def test_one_legend_for_confidence_and_uncertainty(window) -> None:
    assert "higher is better" in LEGEND and "1.0 is its threshold" in LEGEND
    assert window.threshold.slider.toolTip() == LEGEND
    header = window.keypoint_panel.model
    assert header.headerData(2, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole).endswith(LEGEND)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "Confidence vs uncertainty" in readme
