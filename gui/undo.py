"""QUndoCommands over the core's edits: redo applies the edit, undo applies its inverse, each committed.

A command that wraps an edit already applied (a prediction result) skips its first redo. When the
file no longer holds the state a command expects (StaleEditError), or the store cannot write it
(ProjectError: another process holds the lock, read-only file, full disk, file removed), nothing
changes, the user is told, and the command is dropped from the stack (setObsolete): no phantom
undo step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from model.annotations.edits import Batch, Edit
from model.project.store import ProjectError, ProjectStore, StaleEditError

log = logging.getLogger(__name__)

Applied = Callable[[Edit], None]
Failed = Callable[[str], None]


class EditCommand(QUndoCommand):
    """One undo step: one edit (which may be a Batch of edits applied in one transaction)."""

    def __init__(self, store: ProjectStore, edit: Edit, text: str, on_applied: Applied, on_failed: Failed,
                 already_applied: bool = False) -> None:
        super().__init__(text)
        self._store, self._on_applied, self._on_failed = store, on_applied, on_failed
        self.edit = edit  # as applied (instance ids filled in) once redo has run
        self._skip_redo = already_applied
        self.failed = False

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            self._on_applied(self.edit)
            return
        self._run(self.edit, redo=True)

    def undo(self) -> None:
        self._run(self.edit.inverse(), redo=False)

    def _run(self, edit: Edit, redo: bool) -> None:
        try:
            applied = self._store.apply(edit)
        except (StaleEditError, ValueError, ProjectError) as exc:
            log.warning("%s of %r failed: %s", "redo" if redo else "undo", self.text(), exc)
            self.failed = True
            self.setObsolete(True)
            self._on_failed(f"Cannot {'redo' if redo else 'undo'} “{self.text()}”: {exc}")
            return
        if redo:
            self.edit = applied
        self._on_applied(applied)


class BatchCompanion:
    """What else one prediction batch's undo step undoes and redoes (Load & Re-predict: the model)."""

    def __init__(self, undo: Callable[[], None], redo: Callable[[], None], label: str = "") -> None:
        self.undo, self.redo, self.label = undo, redo, label


class PredictionBatchCommand(EditCommand):
    """Prediction results applied chunk by chunk while a batch runs; one undo step for all of them.

    `extend` adds a chunk that was just applied; it is only called while this command is the top
    of the stack and not undone, so the undo order always matches the order of the changes.
    """

    def __init__(self, store: ProjectStore, chunk: Batch, images: int, on_applied: Applied,
                 on_failed: Failed, companion: BatchCompanion | None = None) -> None:
        super().__init__(store, chunk, "", on_applied, on_failed, already_applied=True)
        self.images = images
        self.companion = companion
        self.setText(self._label())

    def undo(self) -> None:
        super().undo()
        if self.companion is not None and not self.failed:
            self.companion.undo()

    def redo(self) -> None:
        first = self._skip_redo
        super().redo()
        if self.companion is not None and not first and not self.failed:
            self.companion.redo()

    def extend(self, chunk: Batch, images: int) -> None:
        assert isinstance(self.edit, Batch)
        self.edit = Batch(self.edit.edits + chunk.edits, self.edit.label)
        self.images += images
        self.setText(self._label())

    def _label(self) -> str:
        text = f"Predict {self.images} image{'s' if self.images != 1 else ''}"
        label = self.companion.label if self.companion is not None else ""
        return f"{label}: {text}" if label else text
