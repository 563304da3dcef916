"""The image list: a QAbstractListModel over the project's image records, thumbnails loaded lazily.

One row per image (never one widget per file). Thumbnails are requested only when a view asks
for a row's decoration, i.e. for painted rows. The status filter is a proxy in front of it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QImage

from gui.views.style import STATUS_COLORS
from gui.workers.thumbnails import THUMB_SIZE, ThumbnailLoader
from model.annotations.types import ReviewStatus
from model.project.store import ImageRecord

IMAGE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2

_ANY = QModelIndex | QPersistentModelIndex


class ImageListModel(QAbstractListModel):
    """Rows are ImageRecords in project order; statuses colour the rows."""

    def __init__(self, thumbnails: ThumbnailLoader | None = None, parent=None) -> None:
        super().__init__(parent)
        self._records: list[ImageRecord] = []
        self._row_of: dict[int, int] = {}
        self._root = Path()
        self._thumbnails = thumbnails
        self._placeholder = QImage(THUMB_SIZE, THUMB_SIZE * 3 // 4, QImage.Format.Format_RGB888)
        self._placeholder.fill(QColor(60, 60, 60))
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)

    def set_records(self, root: Path, records: list[ImageRecord]) -> None:
        self.beginResetModel()
        self._root = Path(root)
        self._records = list(records)
        self._row_of = {r.id: i for i, r in enumerate(self._records)}
        self.endResetModel()

    def records(self) -> list[ImageRecord]:
        return self._records

    def record(self, row: int) -> ImageRecord:
        return self._records[row]

    def row_of(self, image_id: int) -> int | None:
        return self._row_of.get(image_id)

    def update_record(self, record: ImageRecord) -> None:
        row = self._row_of.get(record.id)
        if row is None:
            return
        self._records[row] = record
        index = self.index(row)
        self.dataChanged.emit(index, index)

    # ---- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent: _ANY = QModelIndex()) -> int:  # noqa: N802, B008 (Qt API)
        return 0 if parent.isValid() else len(self._records)

    def data(self, index: _ANY, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        rec = self._records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return rec.path.rsplit("/", 1)[-1] + ("  (missing)" if rec.missing else "")
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(rec)
        if role == Qt.ItemDataRole.BackgroundRole:
            r, g, b = STATUS_COLORS[rec.status]
            return QBrush(QColor(r, g, b, 70))
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{rec.path}\n{rec.status.value.replace('_', ' ')}"
        if role == IMAGE_ID_ROLE:
            return rec.id
        if role == STATUS_ROLE:
            return rec.status.value
        return None

    def _thumbnail(self, rec: ImageRecord) -> QImage:
        if self._thumbnails is None:
            return self._placeholder
        thumb = self._thumbnails.get(rec.id)
        if thumb is None:
            if not rec.missing:
                self._thumbnails.request(rec.id, self._root / rec.path)
            return self._placeholder
        return thumb

    def _thumbnail_ready(self, image_id: int, _thumb: QImage) -> None:
        row = self._row_of.get(image_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class StatusFilterModel(QSortFilterProxyModel):
    """Shows only rows with one review status (None: all)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._status: ReviewStatus | None = None
        self.setDynamicSortFilter(True)

    @property
    def status(self) -> ReviewStatus | None:
        return self._status

    def set_status(self, status: ReviewStatus | None) -> None:
        self.beginFilterChange()
        self._status = status
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def accepts(self, record: ImageRecord) -> bool:
        return self._status is None or record.status == self._status

    def filterAcceptsRow(self, source_row: int, source_parent: _ANY) -> bool:  # noqa: N802 (Qt API)
        if self._status is None:
            return True  # fast path: called once per row (10 000 times) whenever the list resets
        model = self.sourceModel()
        if not isinstance(model, ImageListModel):
            return True
        return model.record(source_row).status == self._status
