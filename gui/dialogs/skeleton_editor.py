"""Skeleton editor: names, order, edges, flip pairs, colours and OKS sigmas of a skeleton, edited
through a SkeletonDraft. For a project with instances it says what the change will do to them
("adds 'tail_tip' as not labelled to 240 instances") before it is applied as one undo step.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.dialogs.settings import ColorButton
from model.annotations.presets import PRESET_NAMES, load_preset
from model.annotations.skeleton import Skeleton, SkeletonError
from model.annotations.skeleton_draft import SkeletonDraft
from model.project.skeleton_change import SkeletonChange

NAME, COLOR, SIGMA, FLIP = range(4)
NO_PARTNER = "—"


class SkeletonEditor(QDialog):
    """Edits `skeleton`; counts = (instances, (K,) labelled per keypoint) of the project, or None (new).

    After accept, `change()` is the SkeletonChange (old → new with the keypoint map).
    """

    def __init__(self, skeleton: Skeleton, counts: tuple[int, np.ndarray] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Skeleton")
        self.draft = SkeletonDraft(skeleton)
        self.counts = counts
        self._filling = False
        self.name_edit = QLineEdit(skeleton.name, objectName="skeleton_name")
        self.name_edit.textEdited.connect(self._renamed_skeleton)
        self.table = QTableWidget(0, 4, objectName="keypoint_editor")
        self.table.setHorizontalHeaderLabels(["Name", "Colour", "OKS sigma", "Flip partner"])
        self.table.horizontalHeader().setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemChanged.connect(self._name_edited)
        self.edges = QListWidget(objectName="edge_list")
        self.edges.setMaximumHeight(120)
        self.edge_a, self.edge_b = QComboBox(objectName="edge_a"), QComboBox(objectName="edge_b")
        self.effects = QLabel(objectName="skeleton_effects", wordWrap=True)
        self.effects.setMinimumHeight(self.effects.fontMetrics().lineSpacing() * 3 + 4)
        self.effects.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.error = QLabel(objectName="skeleton_editor_error", wordWrap=True)
        self.error.setStyleSheet("color: #d33")
        ok_cancel = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        self.buttons = QDialogButtonBox(ok_cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for button in self.buttons.buttons():  # Enter commits a typed name, it does not close the dialog
            button.setAutoDefault(False)
            button.setDefault(False)
        self._layout()
        self._refill()

    # ---- layout -------------------------------------------------------------------------------------
    def _button(self, text: str, name: str, slot) -> QPushButton:
        button = QPushButton(text, objectName=name)
        button.clicked.connect(slot)
        return button

    def _layout(self) -> None:
        self.new_name = QLineEdit(objectName="new_keypoint_name", placeholderText="new keypoint name")
        self.new_name.returnPressed.connect(self.add_keypoint)
        rows = QHBoxLayout()
        rows.addWidget(self.new_name)
        for text, name, slot in (("Add", "add_keypoint", self.add_keypoint),
                                 ("Remove", "remove_keypoint", self.remove_keypoint),
                                 ("Up", "keypoint_up", lambda: self.move_selected(-1)),
                                 ("Down", "keypoint_down", lambda: self.move_selected(1))):
            rows.addWidget(self._button(text, name, slot))
        edge_row = QGridLayout()
        edge_row.addWidget(self.edge_a, 0, 0)
        edge_row.addWidget(QLabel("–"), 0, 1)
        edge_row.addWidget(self.edge_b, 0, 2)
        edge_row.addWidget(self._button("Add Edge", "add_edge", self.add_edge), 0, 3)
        edge_row.addWidget(self._button("Remove Edge", "remove_edge", self.remove_edge), 0, 4)
        self.source = QComboBox(objectName="skeleton_source")
        self.source.addItem("Blank (type the names)", "blank")
        for name in PRESET_NAMES:
            self.source.addItem(name, name)
        self.source.addItem("Skeleton or COCO JSON file…", "file")
        load = QHBoxLayout()
        load.addWidget(QLabel("Start from:"))
        load.addWidget(self.source, 1)
        load.addWidget(self._button("Load", "load_skeleton", self._load_source))
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(load)
        layout.addLayout(form)
        layout.addWidget(self.table, 3)
        layout.addLayout(rows)
        layout.addWidget(QLabel("Edges (drawn between keypoints):"))
        layout.addWidget(self.edges, 1)
        layout.addLayout(edge_row)
        layout.addWidget(self.effects)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(620, 640)

    # ---- filling from the draft ---------------------------------------------------------------------
    def _refill(self, select: int | None = None) -> None:
        """Rebuild every widget from the draft (after any change)."""
        self._filling = True
        names = self.draft.names
        self.table.setRowCount(len(names))
        for r, row in enumerate(self.draft.rows):
            self.table.setItem(r, NAME, QTableWidgetItem(row.name))
            color = ColorButton(row.color)
            color.changed.connect(lambda rgb, n=row.name: self._edit(lambda: self.draft.set_color(n, rgb)))
            self.table.setCellWidget(r, COLOR, color)
            sigma = QDoubleSpinBox(decimals=3, minimum=0.001, maximum=1.0, singleStep=0.005, value=row.sigma)
            sigma.valueChanged.connect(
                lambda v, n=row.name: self._edit(lambda: self.draft.set_sigma(n, v), refill=False))
            self.table.setCellWidget(r, SIGMA, sigma)
            flip = QComboBox()
            flip.addItems([NO_PARTNER] + [n for n in names if n != row.name])
            flip.setCurrentText(self.draft.flip_partner(row.name) or NO_PARTNER)
            flip.textActivated.connect(lambda text, n=row.name: self._set_flip(n, text))
            self.table.setCellWidget(r, FLIP, flip)
        for combo in (self.edge_a, self.edge_b):
            combo.clear()
            combo.addItems(names)
        self.edges.clear()
        self.edges.addItems([f"{a} – {b}" for a, b in self.draft.edge_names()])
        if select is not None and 0 <= select < len(names):
            self.table.selectRow(select)
        self._filling = False
        self._update_effects()

    def _update_effects(self) -> None:
        try:
            change = self.change()
        except SkeletonError as exc:
            self.error.setText(str(exc))
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            return
        self.error.setText("")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        if self.counts is None:
            self.effects.setText(f"{change.new.num_keypoints} keypoints")
            return
        lines = change.describe(*self.counts)
        self.effects.setText("This change " + "; ".join(lines) + ".")

    # ---- edits ---------------------------------------------------------------------------------------
    def _edit(self, work, refill: bool = True, select: int | None = None) -> bool:
        if self._filling:
            return False
        try:
            work()
        except SkeletonError as exc:
            self.error.setText(str(exc))
            self._refill(select)
            self.error.setText(str(exc))
            return False
        if refill:
            self._refill(select)
        else:
            self._update_effects()
        return True

    def selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def add_keypoint(self) -> None:
        name = self.new_name.text()
        row = self.selected_row()
        pos = None if row is None else row + 1
        if self._edit(lambda: self.draft.add(name, pos), select=len(self.draft.rows) if pos is None else pos):
            self.new_name.clear()

    def remove_keypoint(self) -> None:
        row = self.selected_row()
        if row is not None:
            name = self.draft.rows[row].name
            self._edit(lambda: self.draft.remove(name), select=min(row, len(self.draft.rows) - 2))

    def move_selected(self, delta: int) -> None:
        row = self.selected_row()
        if row is not None and 0 <= row + delta < len(self.draft.rows):
            self._edit(lambda: self.draft.move(self.draft.rows[row].name, row + delta), select=row + delta)

    def add_edge(self) -> None:
        self._edit(lambda: self.draft.add_edge(self.edge_a.currentText(), self.edge_b.currentText()))

    def remove_edge(self) -> None:
        row = self.edges.currentRow()
        if row >= 0:
            a, b = self.draft.edge_names()[row]
            self._edit(lambda: self.draft.remove_edge(a, b))

    def _set_flip(self, name: str, partner: str) -> None:
        if partner == NO_PARTNER:
            self._edit(lambda: self.draft.clear_flip(name))
        else:
            self._edit(lambda: self.draft.set_flip(name, partner))

    def _name_edited(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != NAME:
            return
        old = self.draft.rows[item.row()].name
        self._edit(lambda: self.draft.rename(old, item.text()), select=item.row())

    def _renamed_skeleton(self, text: str) -> None:
        self.draft.name = text
        self._update_effects()

    def _load_source(self) -> None:
        """Replace the draft by a preset or a file, keeping values of keypoints with the same name."""
        from model.annotations.skeleton import skeleton_from_json

        choice = self.source.currentData()
        try:
            if choice == "file":
                path, _ = QFileDialog.getOpenFileName(self, "Skeleton or COCO file", "", "JSON (*.json)")
                if not path:
                    return
                loaded = skeleton_from_json(path)
            elif choice == "blank":
                loaded = Skeleton("custom", ("keypoint_1",))
            else:
                loaded = load_preset(choice)
        except SkeletonError as exc:
            self.error.setText(str(exc))
            return
        self.load(loaded)

    def load(self, loaded: Skeleton) -> None:
        """The draft becomes `loaded`; keypoints whose names exist in the original keep their labels."""
        original = self.draft.original
        draft = SkeletonDraft(loaded)
        for row in draft.rows:
            row.origin = original.keypoints.index(row.name) if row.name in original.keypoints else None
        draft.original = original
        self.draft = draft
        self.name_edit.setText(loaded.name)
        self._refill()

    # ---- result -------------------------------------------------------------------------------------
    def change(self) -> SkeletonChange:
        new, old_of_new = self.draft.build()
        return SkeletonChange(self.draft.original, new, tuple(old_of_new))

    def accept(self) -> None:
        try:
            self.change()
        except SkeletonError as exc:
            self.error.setText(str(exc))
            return
        super().accept()
