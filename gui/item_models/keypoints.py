"""The keypoint table: one row per keypoint of the selected instance (swatch, name, state, confidence,
uncertainty) as a QAbstractTableModel; the keypoint panel is a QTableView over it.

State is one of STATES: *absent* (v = 0), *confirmed* (a person set it, v = 2), *occluded* (v = 1),
*predicted* (the model set it), *flagged* (predicted and confidence below the review threshold, or
uncertainty above 1). Confidence is the heatmap peak (0–1, higher is better); uncertainty is the
inspector's score (1.0 = threshold, higher is worse). LEGEND says so in the header tooltips.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from model.annotations.review import ReviewPolicy
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance

STATES = ("predicted", "confirmed", "occluded", "absent", "flagged")
COLUMNS = ("Keypoint", "State", "Conf.", "Unc.")  # full names in the header tooltips
STATE_ROLE = Qt.ItemDataRole.UserRole + 30
LEGEND = (
    "Confidence: the heatmap's peak for a predicted keypoint, 0–1, higher is better; the toolbar's "
    "'Review below' flags predictions under it.\n"
    "Uncertainty: the inspector's score, max of low peak, stack and flip disagreement, each scaled so "
    "1.0 is its threshold; above 1 (⚠) is uncertain, lower is better."
)
_TIPS = (
    "Colour swatch and name (click a row or press ↑/↓ to select a keypoint)",
    "predicted: set by the model · confirmed: set by a person · occluded: v = 1 · absent: not labelled "
    "(v = 0) · flagged: predicted with confidence below the review threshold or uncertainty above 1",
    "Confidence. " + LEGEND, "Uncertainty. " + LEGEND,
)
_STATE_COLORS = {"predicted": (70, 140, 230), "confirmed": (60, 180, 90), "occluded": (200, 160, 60),
                 "absent": (140, 140, 140), "flagged": (230, 60, 60)}
_ANY = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


def keypoint_states(inst: Instance, review: ReviewPolicy, uncertainty: np.ndarray | None) -> list[str]:
    """STATES entry per keypoint; uncertainty (K,) float or None."""
    kp = inst.keypoints
    under = review.flags(kp)
    out = []
    for k in range(kp.num_keypoints):
        v, human = int(kp.vis[k]), bool(kp.human[k])
        if v == 0:
            out.append("absent")
        elif v == 1:
            out.append("occluded")
        elif human:
            out.append("confirmed")
        elif under[k] or (uncertainty is not None and uncertainty[k] > 1.0):
            out.append("flagged")
        else:
            out.append("predicted")
    return out


class KeypointTableModel(QAbstractTableModel):
    """Rows are the K keypoints of one instance (none: K rows of names with no values)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._skeleton: Skeleton | None = None
        self._inst: Instance | None = None
        self._states: list[str] = []
        self._uncertainty: np.ndarray | None = None

    def set_data(self, skeleton: Skeleton | None, inst: Instance | None, review: ReviewPolicy,
                 uncertainty: Sequence[float] | None = None) -> None:
        """Show inst's keypoints; uncertainty (K,) scores of its prediction, or None."""
        unc = None if uncertainty is None else np.asarray(uncertainty, np.float64).reshape(-1)
        if skeleton is not None and unc is not None and len(unc) != skeleton.num_keypoints:
            unc = None
        if inst is not None and (skeleton is None or inst.keypoints.num_keypoints != skeleton.num_keypoints):
            inst = None
        same_shape = skeleton is self._skeleton or (
            skeleton is not None and self._skeleton is not None and skeleton == self._skeleton)
        if not same_shape:
            self.beginResetModel()
        self._skeleton, self._inst, self._uncertainty = skeleton, inst, unc
        self._states = [] if inst is None else keypoint_states(inst, review, unc)
        if not same_shape:
            self.endResetModel()
        elif self.rowCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, len(COLUMNS) - 1))

    def state(self, k: int) -> str | None:
        return self._states[k] if 0 <= k < len(self._states) else None

    # ---- Qt model API ------------------------------------------------------------------------------
    def rowCount(self, parent: _ANY = _ROOT) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() or self._skeleton is None else self._skeleton.num_keypoints

    def columnCount(self, parent: _ANY = _ROOT) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 (Qt API)
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _TIPS[section]
        return None

    def data(self, index: _ANY, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self._skeleton is None:
            return None
        k, col = index.row(), index.column()
        if role == Qt.ItemDataRole.ToolTipRole:
            return _TIPS[col]
        if col == 0:
            return self._name_data(k, role)
        state = self.state(k)
        if role == STATE_ROLE:
            return state
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(k, col, state)
        if role == Qt.ItemDataRole.ForegroundRole and col == 1 and state is not None:
            return QBrush(QColor(*_STATE_COLORS[state]))
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _name_data(self, k: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{k + 1}  {self._skeleton.keypoints[k]}"
        if role == Qt.ItemDataRole.DecorationRole:
            return QColor(*self._skeleton.colors[k])
        if role == STATE_ROLE:
            return self.state(k)
        return None

    def _text(self, k: int, col: int, state: str | None) -> str:
        if self._inst is None:
            return "" if col != 1 else "—"
        if col == 1:
            return state or ""
        if col == 2:
            conf = float(self._inst.keypoints.confidence[k])
            return "—" if math.isnan(conf) or state == "absent" else f"{conf:.2f}"
        if self._uncertainty is None or not math.isfinite(self._uncertainty[k]):
            return "—"
        value = float(self._uncertainty[k])
        return f"{'⚠ ' if value > 1.0 else ''}{value:.2f}"
