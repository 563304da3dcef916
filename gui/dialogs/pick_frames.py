"""Video → Pick Frames…: choose N frames of the current video to label (uniform, k-means, uncertain).

k-means decodes the whole video, so it runs on a background thread (the window keeps working; the
dialog shows progress and can be cancelled); uncertain uses the scores of the last predictions.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
)

from model.video.pick import pick_kmeans, pick_uncertain, pick_uniform

METHOD_LABELS = {"uniform": "Uniform in time", "kmeans": "K-means on thumbnails (different looks)",
                 "uncertain": "Where the model is least sure"}


class _CancelledError(Exception):
    pass


class PickWorker(QObject):
    """Runs a pick on a Python thread; signals arrive on the GUI thread (queued connections)."""

    progress = Signal(int, int)
    done = Signal(list)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancelled = False

    def start(self, video_path, n: int) -> None:
        threading.Thread(target=self._run, args=(video_path, n), daemon=True, name="pick-frames").start()

    def _run(self, video_path, n: int) -> None:
        from model.io.frames import VideoFrames
        from model.io.video import VideoError

        def report(done: int, total: int) -> None:
            if self.cancelled:
                raise _CancelledError
            if done % 50 == 0 or done == total:
                self.progress.emit(done, total)

        try:
            with VideoFrames(video_path, cache_frames=0) as frames:
                self.done.emit(pick_kmeans(frames, n, on_progress=report))
        except _CancelledError:
            self.failed.emit("")
        except VideoError as exc:
            self.failed.emit(str(exc))


class PickFramesDialog(QDialog):
    """Method + count; `picked(list of frame indices)` when done."""

    picked = Signal(list)

    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Pick Frames to Label")
        self.method = QComboBox(self)
        for key, label in METHOD_LABELS.items():
            self.method.addItem(label, key)
        self.method.setCurrentIndex(1)
        self.count = QSpinBox(self)
        self.count.setRange(1, 10000)
        self.count.setValue(20)
        self.progress = QProgressBar(self)
        self.progress.hide()
        self.note = QLabel("Picked frames are marked on the timeline (yellow); ] and [ jump between them. "
                           "Picking again adds frames and never removes labels.", self)
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        form = QFormLayout()
        form.addRow("Method", self.method)
        form.addRow("Frames", self.count)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.progress)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.run)
        self.buttons.rejected.connect(self.cancel)
        self.worker: PickWorker | None = None

    def run(self) -> None:
        c, n, method = self.controller, self.count.value(), self.method.currentData()
        if c.video is None:
            self.reject()
            return
        if method == "uniform":
            self._finish(pick_uniform(len(c.frame_ids), n))
        elif method == "uncertain":
            scores = {c.index_of[i]: w for i, w in c.window.inspector.worst.items() if i in c.index_of}
            if not scores:
                self.note.setText("No predictions yet: predict the video first (Shift+P).")
                return
            self._finish(pick_uncertain(scores, n))
        else:
            self.worker = PickWorker(self)
            self.worker.progress.connect(self._progress)
            self.worker.done.connect(self._finish)
            self.worker.failed.connect(self._failed)
            self.progress.show()
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            self.worker.start(c.session.store.image_root / c.video.path, n)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _finish(self, frames: list) -> None:
        self.picked.emit(list(frames))
        self.accept()

    def _failed(self, text: str) -> None:
        if text:
            self.note.setText(text)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        self.progress.hide()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancelled = True
        self.reject()
