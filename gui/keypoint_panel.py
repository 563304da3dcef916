"""The Keypoints dock: a QTableView over KeypointTableModel for the selected instance, kept in step
with the session (canvas selection, undo, the inspector); clicking a row selects that keypoint."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.item_models.keypoints import LEGEND, KeypointTableModel
from gui.views.style import track_name
from model.annotations.types import Instance

Uncertainty = Callable[[Instance], "np.ndarray | None"]


class KeypointPanel(QDockWidget):
    """Dock 'Keypoints'. `uncertainty(inst)` gives the (K,) scores of inst's prediction, or None."""

    def __init__(self, session, uncertainty: Uncertainty | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Keypoints", parent, objectName="keypoints_dock")
        self.session = session
        self.uncertainty = uncertainty or (lambda _inst: None)
        self.model = KeypointTableModel(self)
        self.view = QTableView(objectName="keypoint_table")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the window's shortcuts
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(20)
        header = self.view.horizontalHeader()
        header.setMinimumSectionSize(36)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.clicked.connect(lambda index: self._choose(index.row()))
        self.title = QLabel(objectName="keypoint_instance")
        self.title.setToolTip(LEGEND)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.view)
        self.setWidget(body)
        session.annotations_changed.connect(self.refresh)
        session.project_changed.connect(self.refresh)

    def refresh(self) -> None:
        """Re-read the selected instance (or the image's only one) and the selected keypoint."""
        s = self.session
        inst = s.selected_instance
        if inst is None and len(s.instances) == 1:
            inst = s.instances[0]
        scores = None if inst is None else self.uncertainty(inst)
        self.model.set_data(s.skeleton, inst, s.review, scores)
        index = s.selected_index
        track = "" if inst is None or inst.track_id is None else f" · {track_name(inst.track_id)}"
        self.title.setText("No instance selected" if inst is None else
                           f"Instance {(index if index is not None else 0) + 1} of {len(s.instances)}{track}")
        k = s.selected_k
        sel = self.view.selectionModel()
        if k is None or not 0 <= k < self.model.rowCount():
            sel.clearSelection()
            return
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        sel.setCurrentIndex(self.model.index(k, 0), flags)
        self.view.scrollTo(self.model.index(k, 0))

    def _choose(self, k: int) -> None:
        self.session.editor.select_keypoint(k)

    def step(self, delta: int) -> None:
        """↑ / ↓: select the previous / next keypoint (wrapping)."""
        s = self.session
        n = 0 if s.skeleton is None else s.skeleton.num_keypoints
        if n:
            k = s.selected_k
            s.editor.select_keypoint((0 if delta > 0 else n - 1) if k is None else (k + delta) % n)
