"""Rebinding shortcuts on the real window: Settings → Keyboard Shortcuts, keys typed into the editor,
conflicts refused, the new key works, F1 shows it, and it is kept (QSettings) for the next window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from gui.actions import ACTIONS
from gui.keybindings import conflicts, defaults
from model.annotations.presets import load_preset
from tests.gui.helpers import activate, key, open_folder


def _range(window):
    (x0, x1), (y0, y1) = window.canvas.view_box.viewRange()
    return round(x0, 1), round(x1, 1), round(y0, 1), round(y1, 1)


def _record(qtbot, edit, key_: Qt.Key) -> None:
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClick(edit, key_)
    edit.editingFinished.emit()


def test_defaults_have_no_conflicts_and_reserved_keys_are_refused() -> None:
    assert conflicts(defaults()) == []
    assert conflicts({**defaults(), "fit_view": ("3",)}) == ["3: Select Keypoint k and Fit Image"]


def test_rebind_refuse_conflict_use_and_keep(qtbot, window, image_folder, tmp_path) -> None:
    open_folder(qtbot, window, image_folder, load_preset("coco17"))
    settings = window.settings_dialog()
    qtbot.mouseClick(settings.shortcuts_button, Qt.MouseButton.LeftButton)
    dialog = window.keys.dialog
    qtbot.waitExposed(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    fit_key, _alt = dialog.edits["fit_view"]
    _record(qtbot, fit_key, Qt.Key.Key_X)  # X is Skip Image
    assert "X: Skip Image and Fit Image" in dialog.error.text()
    assert not ok.isEnabled()
    fit_key.clear()
    _record(qtbot, fit_key, Qt.Key.Key_G)
    assert dialog.error.text() == "" and ok.isEnabled()
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    settings.close()
    assert window.keys.bindings["fit_view"] == ("G",)
    activate(qtbot, window)
    fitted = _range(window)
    window.canvas.zoom(0.5)
    key(window, Qt.Key.Key_F)  # the old key does nothing now
    QApplication.processEvents()
    assert _range(window) != fitted
    key(window, Qt.Key.Key_G)
    QApplication.processEvents()
    assert _range(window) == fitted
    help_table = window.shortcuts_dialog().table
    fit_row = [a.id for a in ACTIONS].index("fit_view")
    assert help_table.item(fit_row, 0).text() == "G"
    assert window.settings.shortcut_overrides() == {"fit_view": ("G",)}

    from gui.main_window import MainWindow
    from gui.settings import AppSettings

    again = MainWindow(AppSettings(tmp_path / "settings.ini"))
    qtbot.addWidget(again)
    assert again.actions_by_id["fit_view"].shortcut().toString() == "G"
    again.close()
