"""New project dialog: choose the skeleton (a preset, or a skeleton / COCO JSON file) for a folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from model.annotations.presets import PRESET_NAMES, load_preset
from model.annotations.skeleton import Skeleton, SkeletonError, skeleton_from_json

FROM_FILE = "file"
EDITED = "edited"


class NewProjectDialog(QDialog):
    """Asks which skeleton a new project uses; `skeleton()` is valid after accept."""

    def __init__(self, folder: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New project")
        self._skeleton: Skeleton | None = None
        self.combo = QComboBox(objectName="skeleton_combo")
        for name in PRESET_NAMES:
            self.combo.addItem(f"{name} ({load_preset(name).num_keypoints} keypoints)", name)
        self.combo.addItem("Skeleton or COCO JSON file…", FROM_FILE)
        self.path_edit = QLineEdit(objectName="skeleton_path")
        self.path_edit.setPlaceholderText("skeleton.json or annotations.json (COCO)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit)
        path_row.addWidget(browse)
        self._edited: Skeleton | None = None
        self.edit_button = QPushButton("Edit names, edges, flip pairs…", objectName="edit_skeleton")
        self.edit_button.clicked.connect(self.edit_skeleton)
        self.editor = None
        self.preview = QLabel(wordWrap=True, objectName="skeleton_preview")
        self.error = QLabel(wordWrap=True, objectName="skeleton_error")
        self.error.setStyleSheet("color: #d33")
        form = QFormLayout()
        form.addRow("Images:", QLabel(str(folder)))
        form.addRow("Skeleton:", self.combo)
        form.addRow("File:", path_row)
        form.addRow("", self.edit_button)
        ok_cancel = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok_cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.combo.currentIndexChanged.connect(self._update)
        self.path_edit.textChanged.connect(self._update)
        self._update()

    def choose_file(self, path: str | Path) -> None:
        """Select 'from file' with this path (also used by tests)."""
        self.combo.setCurrentIndex(self.combo.findData(FROM_FILE))
        self.path_edit.setText(str(path))

    def skeleton(self) -> Skeleton | None:
        return self._skeleton

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Skeleton or COCO file", "", "JSON (*.json)")
        if path:
            self.choose_file(path)

    def edit_skeleton(self) -> None:
        """Open the skeleton editor on the chosen skeleton (or a one-keypoint start); its result is
        offered as 'Edited skeleton' in the combo."""
        from gui.dialogs.skeleton_editor import SkeletonEditor

        try:
            start = self._current()
        except SkeletonError:
            start = Skeleton("custom", ("keypoint_1",))
        self.editor = SkeletonEditor(start, None, self)
        self.editor.accepted.connect(self._take_edited)
        self.editor.open()

    def _take_edited(self) -> None:
        self._edited = self.editor.change().new
        if self.combo.findData(EDITED) < 0:
            self.combo.addItem("Edited skeleton", EDITED)
        index = self.combo.findData(EDITED)
        self.combo.setItemText(index, f"Edited: {self._edited.name} ({self._edited.num_keypoints} keypoints)")
        self.combo.setCurrentIndex(index)
        self._update()

    def _current(self) -> Skeleton:
        choice = self.combo.currentData()
        if choice == EDITED and self._edited is not None:
            return self._edited
        if choice != FROM_FILE:
            return load_preset(choice)
        text = self.path_edit.text().strip()
        if not text:
            raise SkeletonError("choose a skeleton or COCO JSON file")
        return skeleton_from_json(text)

    def _update(self) -> None:
        self.path_edit.setEnabled(self.combo.currentData() == FROM_FILE)
        try:
            sk = self._current()
        except SkeletonError as exc:
            self._skeleton = None
            self.preview.setText("")
            self.error.setText(str(exc))
            return
        self._skeleton = sk
        self.error.setText("")
        self.preview.setText(f"{sk.name}: {sk.num_keypoints} keypoints — " + ", ".join(sk.keypoints))

    def accept(self) -> None:
        self._update()
        if self._skeleton is not None:
            super().accept()
