"""The image list's proxy: status filter, sort by worst keypoint, 'only uncertain', 'only picked'.

It replaces the list panel's StatusFilterModel (same class underneath, so the status combo and
show_current keep working) and adds the image's uncertainty score to the row text and tooltip.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from gui.item_models.image_list import IMAGE_ID_ROLE, ImageListModel, StatusFilterModel
from gui.item_models.keypoints import LEGEND

UNCERTAINTY_ROLE = Qt.ItemDataRole.UserRole + 20
_ANY = QModelIndex | QPersistentModelIndex


class UncertaintyFilterModel(StatusFilterModel):
    """Status filter + optional sort by uncertainty (most uncertain first) + optional 'score > 1'
    filter + optional 'picked frames only' filter (the filters combine)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._scores: dict[int, float] = {}
        self._sorted = False
        self._only_uncertain = False
        self._picked: frozenset[int] = frozenset()
        self._only_picked = False

    @property
    def sorted_by_uncertainty(self) -> bool:
        return self._sorted

    @property
    def only_uncertain(self) -> bool:
        return self._only_uncertain

    def score(self, image_id: int) -> float | None:
        return self._scores.get(image_id)

    def set_scores(self, scores: dict[int, float]) -> None:
        """Replace all scores (image id → worst keypoint score; missing: not predicted)."""
        self._scores = dict(scores)
        self.invalidate()
        if self._sorted:
            self.sort(0)
        model = self.sourceModel()
        if model is not None and model.rowCount():
            model.dataChanged.emit(model.index(0), model.index(model.rowCount() - 1),
                                   [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole])

    def set_sorted(self, on: bool) -> None:
        self._sorted = bool(on)
        self.sort(0 if on else -1)

    def set_only_uncertain(self, on: bool) -> None:
        self._only_uncertain = bool(on)
        self.invalidateFilter()

    @property
    def only_picked(self) -> bool:
        return self._only_picked

    def set_picked(self, image_ids) -> None:
        """Replace the set of picked images (ids; frames chosen to label by Pick Frames)."""
        self._picked = frozenset(int(i) for i in image_ids)
        if self._only_picked:
            self.invalidateFilter()

    def set_only_picked(self, on: bool) -> None:
        self._only_picked = bool(on)
        self.invalidateFilter()

    # ---- Qt proxy API --------------------------------------------------------------------------
    def filterAcceptsRow(self, source_row: int, source_parent: _ANY) -> bool:  # noqa: N802 (Qt API)
        if not super().filterAcceptsRow(source_row, source_parent):
            return False
        model = self.sourceModel()
        if not (self._only_uncertain or self._only_picked) or not isinstance(model, ImageListModel):
            return True
        image_id = model.record(source_row).id
        if self._only_picked and image_id not in self._picked:
            return False
        value = self._scores.get(image_id)
        return not self._only_uncertain or (value is not None and value > 1.0)

    def lessThan(self, left: _ANY, right: _ANY) -> bool:  # noqa: N802 (Qt API)
        """Most uncertain first; unscored images last; ties in project order."""
        a, b = self._key(left), self._key(right)
        return a < b

    def _key(self, index: _ANY) -> tuple[int, float, int]:
        value = self._scores.get(index.data(IMAGE_ID_ROLE))
        if value is None or math.isnan(value):
            return (1, 0.0, index.row())
        return (0, -value, index.row())

    def data(self, index: _ANY, role: int = Qt.ItemDataRole.DisplayRole):
        base = super().data(index, role)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, UNCERTAINTY_ROLE):
            return base
        value = self._scores.get(super().data(index, IMAGE_ID_ROLE))
        if role == UNCERTAINTY_ROLE:
            return value
        if value is None:
            return base
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{base}  {'⚠ ' if value > 1.0 else ''}{value:.2f}"
        return f"{base}\nuncertainty {value:.2f} (worst keypoint; > 1 is uncertain)\n\n{LEGEND}"


def install(panel) -> UncertaintyFilterModel:
    """Put an UncertaintyFilterModel in place of `panel.proxy` (an ImageListPanel), keeping its filter."""
    old: StatusFilterModel = panel.proxy
    proxy = UncertaintyFilterModel(panel)
    proxy.setSourceModel(old.sourceModel())
    proxy.set_status(old.status)
    panel.proxy = proxy
    panel.view.setModel(proxy)
    old.deleteLater()
    return proxy
