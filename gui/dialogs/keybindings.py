"""Settings → Keyboard Shortcuts: rebind any action (a key and an alternative each); a key used twice
is refused, naming both actions; 'Restore Defaults' puts gui.actions' table back."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.actions import ACTIONS, action_name
from gui.keybindings import Bindings, apply_bindings, conflicts, defaults, effective, normalized, overrides_of

KEY, ALTERNATIVE = 1, 2


class KeyBindingsDialog(QDialog):
    """Edits bindings (action id → keys); `bindings()` is the result after accept."""

    def __init__(self, bindings: Bindings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.table = QTableWidget(len(ACTIONS), 4, objectName="binding_table")
        self.table.setHorizontalHeaderLabels(["Action", "Key", "Alternative", "Default"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (KEY, ALTERNATIVE):
            self.table.setColumnWidth(col, 150)
        self.edits: dict[str, tuple[QKeySequenceEdit, QKeySequenceEdit]] = {}
        for row, item in enumerate(ACTIONS):
            self.table.setItem(row, 0, QTableWidgetItem(action_name(item)))
            self.table.item(row, 0).setToolTip(item.tip)
            pair = []
            for col in (KEY, ALTERNATIVE):
                edit = QKeySequenceEdit(objectName=f"{item.id}_{col}")
                edit.setMaximumSequenceLength(1)
                edit.setClearButtonEnabled(True)
                edit.keySequenceChanged.connect(lambda _seq: self._check())
                self.table.setCellWidget(row, col, edit)
                pair.append(edit)
            self.edits[item.id] = (pair[0], pair[1])
            self.table.setItem(row, 3, QTableWidgetItem(" / ".join(item.shortcuts)))
        self.error = QLabel(objectName="binding_error", wordWrap=True)
        self.error.setStyleSheet("color: #d33")
        std = QDialogButtonBox.StandardButton
        self.buttons = QDialogButtonBox(std.Ok | std.Cancel | std.RestoreDefaults)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            lambda: self.set_bindings(defaults()))
        for button in self.buttons.buttons():  # Enter may be the key being recorded
            button.setAutoDefault(False)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Click a cell and press the new key; the ⌫ button clears it. "
                                "1–9 stay the keypoint keys."))
        layout.addWidget(self.table)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(780, 640)
        self.set_bindings(bindings)

    def set_bindings(self, bindings: Bindings) -> None:
        for action_id, (key, alternative) in self.edits.items():
            keys = list(bindings.get(action_id, ())) + ["", ""]
            key.setKeySequence(QKeySequence(keys[0]))
            alternative.setKeySequence(QKeySequence(keys[1]))
        self._check()

    def bindings(self) -> Bindings:
        return {action_id: normalized([key.keySequence(), alternative.keySequence()])
                for action_id, (key, alternative) in self.edits.items()}

    def _check(self) -> list[str]:
        found = conflicts(self.bindings())
        self.error.setText("" if not found else "Used twice — change one of them:\n" + "\n".join(found))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not found)
        return found

    def accept(self) -> None:
        if not self._check():
            super().accept()


class ShortcutKeys:
    """A window's bindings: read from its settings and put on its actions; `edit()` opens the dialog,
    whose result is applied and stored (only what differs from the defaults)."""

    def __init__(self, window) -> None:
        self.window = window
        self.bindings = effective(window.settings.shortcut_overrides())
        self.dialog: KeyBindingsDialog | None = None
        apply_bindings(window.actions_by_id, self.bindings)

    def edit(self) -> KeyBindingsDialog:
        self.dialog = KeyBindingsDialog(self.bindings, self.window)
        self.dialog.accepted.connect(lambda: self.set(self.dialog.bindings()))
        self.dialog.show()
        return self.dialog

    def set(self, bindings: Bindings) -> None:
        self.bindings = effective(bindings)
        apply_bindings(self.window.actions_by_id, self.bindings)
        self.window.settings.set_shortcut_overrides(overrides_of(self.bindings))
