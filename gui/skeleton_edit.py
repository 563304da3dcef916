"""A skeleton change as ONE undo step in the window: redo migrates every instance through the store,
undo puts the old skeleton and every keypoint back (model.project.skeleton_change)."""

from __future__ import annotations

import logging

from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QMessageBox

from model.project.skeleton_change import SkeletonChange, apply_change, labelled_counts, undo_change

log = logging.getLogger(__name__)


class SkeletonChangeCommand(QUndoCommand):
    """Undo step of one skeleton change; `session` is refreshed after redo and undo."""

    def __init__(self, session, change: SkeletonChange, text: str = "Change skeleton") -> None:
        super().__init__(text)
        self.session, self.change = session, change
        self.snapshot: dict[int, bytes] = {}
        self.failed = False

    def redo(self) -> None:
        self._run(lambda: setattr(self, "snapshot", apply_change(self.session.store, self.change)), "redo")

    def undo(self) -> None:
        self._run(lambda: undo_change(self.session.store, self.change, self.snapshot), "undo")

    def _run(self, work, what: str) -> None:
        try:
            work()
        except ValueError as exc:
            log.warning("%s of %r failed: %s", what, self.text(), exc)
            self.failed = True
            self.setObsolete(True)
            self.session.message.emit(f"Cannot {what} “{self.text()}”: {exc}")
            return
        refresh_after_skeleton_change(self.session)


def refresh_after_skeleton_change(session) -> None:
    """Re-read the current image's instances and clamp the selection to the new K; views redraw."""
    store = session.store
    queue = session.predictions
    queue.reset()  # cached predictions and requests in flight have the old keypoints: gone first
    rec = session.current
    session.instances = [] if rec is None else store.instances(rec.id)
    if session.selected_k is not None and session.selected_k >= store.skeleton.num_keypoints:
        session.selected_k = None
    session.project_changed.emit()
    session.annotations_changed.emit()
    session.prediction_changed.emit()
    if not queue.fits():
        session.message.emit(queue.mismatch_text())


def push_skeleton_change(session, change: SkeletonChange) -> bool:
    """Apply change as one undo step; False when it changes nothing or the store refused it."""
    if session.store is None or change.is_noop:
        return False
    session.predictions.close_open_batch()
    command = SkeletonChangeCommand(session, change)
    session.undo_stack.push(command)
    return not command.failed


class SkeletonEditFlow:
    """Edit → Skeleton: the editor, then (for a project with instances) a confirmation that says what
    the change does, then one undo step. Widgets are kept as attributes so tests can drive them."""

    def __init__(self, window) -> None:
        self.window = window
        self.editor = None
        self.confirm: QMessageBox | None = None

    def open(self):
        from gui.dialogs.skeleton_editor import SkeletonEditor

        session = self.window.session
        if session.store is None:
            self.window.status.showMessage("Open a folder first", 5000)
            return None
        counts = labelled_counts(session.store)
        self.editor = SkeletonEditor(session.store.skeleton, counts, self.window)
        self.editor.accepted.connect(lambda: self._edited(counts))
        self.editor.open()
        return self.editor

    def _edited(self, counts) -> None:
        change = self.editor.change()
        if change.is_noop:
            return
        if counts[0] == 0 or not change.moves_keypoints:
            self._apply(change)
            return
        effects = "\n• ".join(change.describe(*counts))
        text = f"This change:\n• {effects}\n\nIt is one step: Undo reverts it."
        buttons = QMessageBox.StandardButton.Apply | QMessageBox.StandardButton.Cancel
        self.confirm = QMessageBox(QMessageBox.Icon.Question, "Change the skeleton", text, buttons,
                                   self.window)
        self.confirm.setObjectName("skeleton_confirm")
        self.confirm.buttonClicked.connect(lambda button: self._confirmed(button, change))
        self.confirm.open()

    def _confirmed(self, button, change: SkeletonChange) -> None:
        if self.confirm.buttonRole(button) == QMessageBox.ButtonRole.ApplyRole:
            self._apply(change)

    def _apply(self, change: SkeletonChange) -> None:
        session = self.window.session
        if push_skeleton_change(session, change):
            session.message.emit(f"Skeleton changed ({change.new.num_keypoints} keypoints); Undo reverts it")
