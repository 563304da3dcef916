"""Model → Evaluate: the current model scored on the done images (OKS AP, PCK, pixel error per
keypoint) in a small report dialog. The work runs outside the GUI thread: the done images are
exported on a thread, then `hglabel predict --coco` and `hglabel eval --json` run as child
processes (QProcess), so torch never runs in the window's process; Cancel kills them."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import threading
from pathlib import Path

from PySide6.QtCore import QProcess, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from model.project.coco_bridge import export_coco

log = logging.getLogger(__name__)
COLUMNS = ("Keypoint", "PCK@0.05", "PCK@0.1", "PCK@0.2", "mean px", "median px", "labelled")


class EvaluateDialog(QDialog):
    """Runs one evaluation of `checkpoint` on the done images of `store`; shows progress, then the report."""

    finished_report = Signal(object)  # the metrics dict, or None when it failed or was cancelled
    _exported = Signal(object, str)  # image count | None, error

    def __init__(self, store, checkpoint: str, flip: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Evaluate the model on the done images")
        self.store, self.checkpoint, self.flip = store, str(checkpoint), flip
        self.tmp = tempfile.TemporaryDirectory(prefix="hglabel-eval-")
        self.metrics: dict | None = None
        self.process: QProcess | None = None
        self.status = QLabel("Exporting the done images …", objectName="eval_status", wordWrap=True)
        self.summary = QLabel(objectName="eval_summary", wordWrap=True)
        self.table = QTableWidget(0, len(COLUMNS), objectName="eval_table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.cancel_button = QPushButton("Cancel", objectName="eval_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        for widget in (self.status, self.summary, self.table, buttons):
            layout.addWidget(widget)
        self.resize(720, 420)
        self._exported.connect(self._predict)

    @property
    def gt_path(self) -> Path:
        return Path(self.tmp.name) / "done.coco.json"

    @property
    def results_path(self) -> Path:
        return Path(self.tmp.name) / "results.json"

    def start(self) -> None:
        def work() -> None:
            try:
                report = export_coco(self.store, self.gt_path)
            except (OSError, ValueError) as exc:
                self._exported.emit(None, str(exc))
                return
            self._exported.emit(report.images, "")

        threading.Thread(target=work, name="hglabel-eval-export", daemon=True).start()

    def _predict(self, images: int | None, error: str) -> None:
        if error or not images:
            self._fail(error or "No done images to evaluate on: mark some images done (Space) first")
            return
        skeleton = Path(self.tmp.name) / "skeleton.json"
        self.store.skeleton.save_json(skeleton)
        self.status.setText(f"Predicting the {images} done image(s) with {Path(self.checkpoint).name} …")
        args = ["predict", str(self.store.image_root), "--checkpoint", self.checkpoint, "--coco",
                str(self.gt_path), "--out", str(self.results_path), "--skeleton", str(skeleton)]
        self._run(args + (["--flip"] if self.flip else []), self._score)

    def _score(self, _out: str) -> None:
        self.status.setText("Scoring …")
        self._run(["eval", str(self.gt_path), str(self.results_path), "--json"], self._show)

    def _run(self, args: list[str], then) -> None:
        proc = QProcess(self)
        proc.setProgram(sys.executable)
        proc.setArguments(["-m", "model", *args])
        proc.finished.connect(lambda code, _status: self._finished(proc, code, then))
        self.process = proc
        proc.start()

    def _finished(self, proc: QProcess, code: int, then) -> None:
        if proc is not self.process:
            return
        out = bytes(proc.readAllStandardOutput()).decode("utf-8", "replace")
        err = bytes(proc.readAllStandardError()).decode("utf-8", "replace").strip()
        self.process = None
        if code != 0:
            lines = [line for line in err.splitlines() if line.strip()]
            self._fail(lines[-1] if lines else f"exit status {code}")
            return
        then(out)

    def _show(self, out: str) -> None:
        try:
            metrics = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            self._fail(f"cannot read the evaluation: {exc}")
            return
        self.metrics = metrics
        self.cancel_button.setEnabled(False)
        c = metrics["counts"]
        self.status.setText(f"{Path(self.checkpoint).name} on {c['images']} done image(s), "
                            f"{c['gt_instances']} instance(s)")
        oks = "   ".join(f"{k} {_pct(metrics[k])}" for k in ("AP", "AP50", "AP75", "AR"))
        self.summary.setText(f"OKS {oks}   (AP, AR and PCK in %; PCK threshold: a fraction of the "
                             "box diagonal)")
        rows = [*metrics["per_keypoint"].items(), ("all", metrics)]
        self.table.setRowCount(len(rows))
        for r, (name, m) in enumerate(rows):
            values = (name, _pct(m["PCK@0.05"]), _pct(m["PCK@0.1"]), _pct(m["PCK@0.2"]),
                      _px(m["mean_px_error"]), _px(m["median_px_error"]), str(m["labelled_keypoints"]))
            for col, text in enumerate(values):
                self.table.setItem(r, col, QTableWidgetItem(text))
        self.finished_report.emit(metrics)

    def _fail(self, text: str) -> None:
        log.warning("evaluation failed: %s", text)
        self.status.setText(f"Evaluation failed: {text}")
        self.cancel_button.setEnabled(False)
        self.finished_report.emit(None)

    def cancel(self) -> None:
        proc, self.process = self.process, None
        if proc is not None:
            proc.kill()
            proc.waitForFinished(2000)
        self.status.setText("Cancelled")
        self.cancel_button.setEnabled(False)
        self.finished_report.emit(None)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if self.process is not None:
            self.cancel()
        super().closeEvent(event)


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _px(value) -> str:
    return "-" if value is None else f"{value:.2f}"
