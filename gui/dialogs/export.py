"""Export COCO dialog: where to write, which images; the export runs on a background thread."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
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

from model.project.coco_bridge import ExportError, ExportReport, export_coco
from model.project.store import ProjectStore

SCOPES = (
    ("done", "Images marked done"),
    ("labelled", "Done images + images with keypoints a person set"),
)


class ExportRunner(QObject):
    """Runs export_coco on a thread (the store is thread-safe); `finished(report | None, message)`."""

    finished = Signal(object, str)

    def start(self, store: ProjectStore, out: Path, labelled: bool, include_predictions: bool) -> None:
        def work() -> None:
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                report = export_coco(store, out, labelled=labelled, include_predictions=include_predictions)
            except (ExportError, OSError, ValueError) as exc:
                self.finished.emit(None, str(exc))
                return
            self.finished.emit(report, f"Wrote {report.images} images, {report.annotations} annotations "
                                       f"to {report.path}")

        threading.Thread(target=work, name="hglabel-export", daemon=True).start()


class ExportDialog(QDialog):
    """Choose the output file and scope; Export writes atomically and reports what it wrote."""

    exported = Signal(object)  # ExportReport

    def __init__(self, store: ProjectStore, default_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export COCO keypoints")
        self._store = store
        self.report: ExportReport | None = None
        self.path_edit = QLineEdit(str(default_path), objectName="export_path")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit)
        row.addWidget(browse)
        self.scope = QComboBox(objectName="export_scope")
        for key, text in SCOPES:
            self.scope.addItem(text, key)
        self.predictions = QCheckBox("Also write the model's unconfirmed keypoints")
        self.predictions.setObjectName("export_predictions")
        self.status = QLabel(wordWrap=True, objectName="export_status")
        form = QFormLayout()
        form.addRow("File:", row)
        form.addRow("Images:", self.scope)
        form.addRow("", self.predictions)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setObjectName("export_button")
        self.buttons.accepted.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._runner = ExportRunner(self)
        self._runner.finished.connect(self._done)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export COCO", self.path_edit.text(), "JSON (*.json)")
        if path:
            self.path_edit.setText(path)

    def start_export(self) -> None:
        text = self.path_edit.text().strip()
        if not text:
            self.status.setText("Choose a file to write")
            return
        self.export_button.setEnabled(False)
        self.status.setText("Exporting …")
        labelled = self.scope.currentData() == "labelled"
        self._runner.start(self._store, Path(text), labelled, self.predictions.isChecked())

    def _done(self, report: ExportReport | None, message: str) -> None:
        self.export_button.setEnabled(True)
        self.status.setText(message)
        if report is not None:
            self.report = report
            self.exported.emit(report)
