"""The inference thread: the only owner of the network. Requests carry an id; the GUI never waits.

`InferenceClient` (GUI thread) forwards requests through queued signals to `InferenceWorker`
(in its own QThread). The worker keeps a job queue and runs one small batch per event-loop turn,
so a "predict this image" request jumps ahead of a running batch and a cancel takes effect
between batches. Each job reads its image and the image's current instance boxes itself (the
project store is thread-safe), so the GUI thread touches neither torch nor the image files.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from model.annotations.skeleton import Skeleton
from model.annotations.types import Prediction
from model.io.images import ImageReadError, read_image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """Predict one image: its id and file; boxes come from the store when the job runs."""

    request_id: int
    image_id: int
    path: Path


@dataclass(frozen=True)
class ModelInfo:
    """What the status bar and the session need to know about the loaded network."""

    path: str
    name: str
    device: str
    precision: str
    skeleton: Skeleton
    stacks: int
    input_size: tuple[int, int]


@dataclass(frozen=True)
class ImageResult:
    """Predictions for one image: (instance_id or None for a whole-image pass, Prediction) pairs."""

    request_id: int
    image_id: int
    predictions: tuple[tuple[int | None, Prediction], ...]


def load_predictor(path: str, project_skeleton: Skeleton | None, device: str = "auto"):
    """A Predictor for path: our own format keeps its skeleton (must match the project's keypoints);
    a pytorch-pose file takes the project's skeleton. Raises CheckpointError or ValueError."""
    from model.infer.checkpoint import CheckpointError, load_checkpoint
    from model.infer.predictor import Predictor

    try:
        bundle = load_checkpoint(path)
    except CheckpointError as first:
        if project_skeleton is None:
            raise
        try:
            bundle = load_checkpoint(path, project_skeleton)
        except CheckpointError:
            raise first from None
    if project_skeleton is not None and bundle.skeleton.keypoints != project_skeleton.keypoints:
        raise ValueError(
            f"{path}: the checkpoint's keypoints {list(bundle.skeleton.keypoints)} differ from the "
            f"project's {list(project_skeleton.keypoints)}"
        )
    return Predictor(bundle, device=device)


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
        self._predictor = None
        self._jobs: deque[Job] = deque()
        self._counts: dict[int, int] = {}
        self._batch_size = batch_size
        self._scheduled = False

    @Slot(str, object, str)
    def load(self, path: str, skeleton: Skeleton | None, device: str) -> None:
        try:
            _limit_torch_threads()
            predictor = load_predictor(path, skeleton, device)
        except Exception as exc:  # CheckpointError, ValueError, RuntimeError from torch
            self.model_failed.emit(str(exc))
            return
        self._predictor = predictor
        cfg = predictor.config
        self.model_loaded.emit(ModelInfo(path, Path(path).name, predictor.device_name, predictor.precision,
                                         predictor.skeleton, cfg.stacks, tuple(cfg.input_size)))

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
        if self._predictor is None:
            for job in batch:
                self.failed.emit(job.request_id, job.image_id, "no model loaded")
            return
        items, owners = [], []
        for job in batch:
            try:
                image = read_image(job.path)
                instances = self._store_getter().instances(job.image_id)
            except (ImageReadError, OSError, KeyError) as exc:
                self.failed.emit(job.request_id, job.image_id, str(exc))
                continue
            boxes = [(inst.instance_id, inst.box) for inst in instances] or [(None, None)]
            for iid, box in boxes:
                items.append((image, box))
                owners.append((job, iid))
        if not items:
            return
        try:
            preds = self._predictor.predict(items, batch_size=self._batch_size)
        except Exception as exc:  # a bad image size or a torch error must not kill the thread
            log.exception("prediction failed")
            for job in batch:
                self.failed.emit(job.request_id, job.image_id, f"prediction failed: {exc}")
            return
        grouped: dict[int, list] = {}
        for (job, iid), pred in zip(owners, preds, strict=True):
            grouped.setdefault(job.image_id, [job]).append((iid, pred))
        for job, *pairs in grouped.values():
            self.result.emit(ImageResult(job.request_id, job.image_id, tuple(pairs)))


class InferenceClient(QObject):
    """GUI-side handle: starts the thread, hands out request ids, forwards cancels."""

    _load = Signal(str, object, str)
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

    def load_checkpoint(self, path: str, skeleton: Skeleton | None, device: str = "auto") -> None:
        self._load.emit(str(path), skeleton, device)

    def predict(self, jobs: list[tuple[int, Path]], urgent: bool = False) -> int:
        """Queue (image_id, path) jobs under a new request id; urgent ones go before queued batches."""
        self._next_id += 1
        rid = self._next_id
        self._submit.emit([Job(rid, image_id, Path(path)) for image_id, path in jobs], urgent)
        return rid

    def cancel(self, request_id: int) -> None:
        self._cancel.emit(request_id)

    def shutdown(self) -> None:
        self._thread.quit()
        self._thread.wait(10_000)


def _limit_torch_threads() -> None:
    """Leave one core to the GUI thread: torch's intra-op pool gets cores - 1 (at least 1).

    Called in the inference thread, which is where torch runs (and is first imported)."""
    import torch

    cores = os.cpu_count() or 2
    torch.set_num_threads(max(1, min(torch.get_num_threads(), cores - 1)))
