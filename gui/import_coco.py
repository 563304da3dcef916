"""File → Import COCO into the open project: the file is read and checked off the GUI thread (the
CLI's validation and messages), then applied as one undo step."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from model.io.coco import CocoImportError
from model.project.coco_import_edits import import_edit
from model.project.paths import PathEscapeError
from model.project.store import ProjectError

log = logging.getLogger(__name__)


class ImportCocoFlow(QObject):
    """Owns one import at a time; `finished(text)` after it is applied or refused (text: status line)."""

    finished = Signal(str)
    _built = Signal(object, object, str)  # edit | None, plan | None, error text

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.error_box: QMessageBox | None = None
        self.running = False
        self._built.connect(self._apply)

    def choose(self) -> None:
        store = self.window.session.store
        if store is None:
            self.window.status.showMessage("Open a folder first", 5000)
            return
        path, _ = QFileDialog.getOpenFileName(self.window, "Import COCO keypoints", str(store.image_root),
                                              "COCO JSON (*.json);;All files (*)")
        if path:
            self.start(path)

    def start(self, path: str | Path) -> bool:
        """Read and validate path on a thread; the edit is applied when it is ready."""
        store = self.window.session.store
        if store is None or self.running:
            return False
        self.running = True
        self.window.status.showMessage(f"Reading {path} …")

        def work() -> None:
            try:
                edit, plan = import_edit(store, path)
            except (CocoImportError, ProjectError, PathEscapeError, ValueError) as exc:
                self._built.emit(None, None, str(exc))
                return
            self._built.emit(edit, plan, "")

        threading.Thread(target=work, name="hglabel-import", daemon=True).start()
        return True

    def _apply(self, edit, plan, error: str) -> None:
        self.running = False
        session = self.window.session
        if error:
            log.warning("import refused: %s", error)
            self.window.status.showMessage(error, 15000)
            self.error_box = QMessageBox(QMessageBox.Icon.Warning, "Cannot import", error, parent=self.window)
            self.error_box.open()
            self.finished.emit(error)
            return
        text = plan.describe()
        if edit is not None and not session.commit(edit, f"Import {plan.source.name}", by_person=False):
            text = f"Import of {plan.source.name} failed: the project changed meanwhile; nothing was imported"
        self.window.status.showMessage(text, 10000)
        self.finished.emit(text)
