"""Inference off the GUI: a worker thread feeds a child process that owns the network.

`InferenceClient` (GUI thread) forwards requests through queued signals to `InferenceWorker`
(a QObject in its own QThread). The worker keeps the job queue and sends one small batch at a
time to the child process (gui.workers.inference_process), which reads the images and runs
torch; the worker thread blocks on the pipe without the GIL. So a "predict this image" request
jumps ahead of a running batch, a cancel takes effect between batches, and each batch takes the
image's instance boxes from the store as they are when it is sent (the store is thread-safe).
The GUI thread touches neither torch nor the image files nor the GIL-heavy network code.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import sqlite3
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from gui.workers.inference_process import ModelInfo, serve
from model.annotations.skeleton import Skeleton
from model.annotations.types import Prediction
from model.errors import HglabelError

log = logging.getLogger(__name__)

__all__ = ["ImageResult", "InferenceClient", "InferenceWorker", "Job", "ModelInfo"]


@dataclass(frozen=True)
class Job:
    """Predict one image: its id and file; boxes come from the store when the job is sent."""

    request_id: int
    image_id: int
    path: Path


@dataclass(frozen=True)
class ImageResult:
    """Predictions for one image: (instance_id or None for a whole-image pass, Prediction) pairs."""

    request_id: int
    image_id: int
    predictions: tuple[tuple[int | None, Prediction], ...]


class ChildGoneError(HglabelError, RuntimeError):
    """The inference process ended (crashed, killed, or shut down)."""


class ChildProcess:
    """The spawned inference process and its pipe; `call` is one blocking round trip."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self.closing = False

    def call(self, message: tuple):
        with self._lock:
            if self.closing:
                raise ChildGoneError("inference is shutting down")
            if self._proc is None or not self._proc.is_alive():
                ctx = multiprocessing.get_context("spawn")
                parent, child = ctx.Pipe()
                self._proc = ctx.Process(target=serve, args=(child,), name="hglabel-inference", daemon=True)
                self._proc.start()
                child.close()
                self._conn = parent
            conn = self._conn
        try:
            conn.send(message)
            return conn.recv()
        except (EOFError, OSError) as exc:
            with self._lock:
                self._proc = None
            raise ChildGoneError("the inference process ended unexpectedly") from exc

    def stop(self) -> None:
        """From any thread: end the process now (a blocked `call` then raises ChildGoneError)."""
        with self._lock:
            self.closing = True
            proc, conn = self._proc, self._conn
        if proc is None:
            return
        with contextlib.suppress(OSError):
            conn.send(("quit",))
        proc.join(timeout=1.0)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=2.0)


class InferenceWorker(QObject):
    """Lives in the inference thread; never touched directly from the GUI thread."""

    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    result = Signal(object)  # ImageResult
    failed = Signal(int, int, str)  # request id, image id, message
    progress = Signal(int, int)  # request id, jobs finished (done or failed)
    request_finished = Signal(int, bool)  # request id, cancelled

    def __init__(self, store_getter, batch_size: int = 4) -> None:
        super().__init__()
        self._store_getter = store_getter
        self.child = ChildProcess()
        self._loaded = False
        self._jobs: deque[Job] = deque()
        self._counts: dict[int, int] = {}
        self._batch_size = batch_size
        self._scheduled = False

    @Slot(str, object, str, bool)
    def load(self, path: str, skeleton: Skeleton | None, device: str, flip_test: bool = False) -> None:
        try:
            kind, payload = self.child.call(("load", path, skeleton, device, flip_test))
        except ChildGoneError as exc:
            kind, payload = "load_failed", str(exc)
        if kind == "loaded":
            self._loaded = True
            self.model_loaded.emit(payload)
        else:
            self.model_failed.emit(str(payload))

    @Slot(object, bool)
    def submit(self, jobs: list[Job], urgent: bool) -> None:
        if jobs:
            self._counts[jobs[0].request_id] = 0
        if urgent:
            self._jobs.extendleft(reversed(jobs))
        else:
            self._jobs.extend(jobs)
        self._schedule()

    @Slot(int)
    def cancel(self, request_id: int) -> None:
        before = len(self._jobs)
        self._jobs = deque(j for j in self._jobs if j.request_id != request_id)
        if request_id in self._counts:
            del self._counts[request_id]
            self.request_finished.emit(request_id, before != len(self._jobs))

    def _schedule(self) -> None:
        if not self._scheduled and self._jobs:
            self._scheduled = True
            QTimer.singleShot(0, self._step)

    def _step(self) -> None:
        """Run up to batch_size jobs of the request at the head of the queue, then yield."""
        self._scheduled = False
        if not self._jobs:
            return
        head = self._jobs[0].request_id
        batch = []
        while self._jobs and self._jobs[0].request_id == head and len(batch) < self._batch_size:
            batch.append(self._jobs.popleft())
        self._run(batch)
        if head in self._counts:
            self._counts[head] += len(batch)
            self.progress.emit(head, self._counts[head])
            if not any(j.request_id == head for j in self._jobs):
                del self._counts[head]
                self.request_finished.emit(head, False)
        self._schedule()

    def _run(self, batch: list[Job]) -> None:
        if not self._loaded:
            for job in batch:
                self.failed.emit(job.request_id, job.image_id, "no model loaded")
            return
        sent = []
        for job in batch:
            try:
                boxes = [(i.instance_id, i.box) for i in self._store_getter().instances(job.image_id)]
            except (KeyError, AttributeError, OSError, sqlite3.Error) as exc:  # project closed meanwhile
                self.failed.emit(job.request_id, job.image_id, str(exc))
                continue
            hint = None if boxes else neighbour_hint(self._store_getter(), job.image_id)
            sent.append((job.image_id, str(job.path), boxes, hint))
        if not sent:
            return
        try:
            _, answers = self.child.call(("predict", sent))
        except ChildGoneError as exc:
            self._loaded = False
            if not self.child.closing:
                self.model_failed.emit(str(exc))
            for job in batch:
                self.failed.emit(job.request_id, job.image_id, str(exc))
            return
        request_of = {job.image_id: job.request_id for job in batch}
        for image_id, payload in answers:
            if isinstance(payload, str):
                self.failed.emit(request_of[image_id], image_id, payload)
            else:
                self.result.emit(ImageResult(request_of[image_id], image_id, payload))


class InferenceClient(QObject):
    """GUI-side handle: starts the thread, hands out request ids, forwards cancels."""

    _load = Signal(str, object, str, bool)
    _submit = Signal(object, bool)
    _cancel = Signal(int)

    def __init__(self, store_getter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("hglabel-inference")
        self.worker = InferenceWorker(store_getter)
        self.worker.moveToThread(self._thread)
        self._load.connect(self.worker.load)
        self._submit.connect(self.worker.submit)
        self._cancel.connect(self.worker.cancel)
        self._next_id = 0
        self._thread.start()

    def load_checkpoint(self, path: str, skeleton: Skeleton | None, device: str = "auto",
                        flip_test: bool = False) -> None:
        self._load.emit(str(path), skeleton, device, flip_test)

    def predict(self, jobs: list[tuple[int, Path]], urgent: bool = False) -> int:
        """Queue (image_id, path) jobs under a new request id; urgent ones go before queued batches."""
        self._next_id += 1
        rid = self._next_id
        self._submit.emit([Job(rid, image_id, Path(path)) for image_id, path in jobs], urgent)
        return rid

    def cancel(self, request_id: int) -> None:
        self._cancel.emit(request_id)

    def shutdown(self) -> None:
        """End the child process (interrupting a running batch), then the thread."""
        self.worker.child.stop()
        self._thread.quit()
        self._thread.wait(10_000)


def neighbour_hint(store, image_id: int):
    """A neighbouring video frame's stored result for an image without instances (or None)."""
    from model.project.videos import neighbour_result

    try:
        return neighbour_result(store, store.image(image_id).path)
    except (KeyError, AttributeError, OSError, sqlite3.Error):
        return None
