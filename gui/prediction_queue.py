"""The session's predictions: model loading, request ids, stale results, the one prediction cache, batch undo.

- Requests carry ids. A result for an image with a newer "predict this image" request pending is
  not written (its heatmaps are still cached), nor is anything of a cancelled request, of a
  heatmaps-only request, or of a closed project.
- Results are merged against the store's state when they arrive (model.project.merge, with the
  session's review policy), so a keypoint a person touched meanwhile is never overwritten.
- "Predict this image" is one undo step. Batch results are applied in time-boxed chunks
  (gui.predictions.PredictionSink); chunks join one "Predict N images" undo step for as long as
  that step is on top of the stack; any other change (or an undo) closes it, and later chunks start
  a new step, so undo order stays exact.
- Every result's Predictions (per-stack heatmaps) go into one MB-bounded HeatmapCache keyed by
  (image id, instance id, model); `prediction_for` answers the inspector and the keypoints table,
  which never talk to the inference worker themselves. `result_arrived` tells them a result came.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from gui.predictions import PredictionSink
from gui.undo import PredictionBatchCommand
from gui.workers.inference import ImageResult, InferenceClient, ModelInfo
from model.annotations.edits import Batch, Edit
from model.annotations.review import ReviewPolicy
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Prediction, ReviewStatus
from model.inspect.heatmap_cache import CacheKey, HeatmapCache
from model.project.merge import edits_for_result
from model.project.store import ImageRecord, ProjectError, ProjectStore, StaleEditError

log = logging.getLogger(__name__)


class QueueHost(Protocol):
    """What the queue needs from its session."""

    store: ProjectStore | None
    records: list[ImageRecord]
    instances: list[Instance]
    undo_stack: QUndoStack
    review: ReviewPolicy

    @property
    def skeleton(self) -> Skeleton | None: ...
    @property
    def current(self) -> ImageRecord | None: ...
    @property
    def selected_instance(self) -> Instance | None: ...
    def row_of(self, image_id: int) -> int | None: ...
    def image_path(self, record: ImageRecord) -> Path: ...
    def commit(self, edit: Edit, text: str, by_person: bool = True) -> bool: ...
    def after_apply(self, edit: Edit) -> None: ...
    def edit_failed(self, text: str) -> None: ...


class PredictionQueue(QObject):
    """Owned by the Session; `attach(client)` connects it to the inference worker."""

    message = Signal(str)
    model_changed = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    result_arrived = Signal(object)  # ImageResult of the open project (also heatmaps-only, stale ones)
    prediction_changed = Signal()  # the current image's predictions may have changed
    batch_progress = Signal(int, int)  # done, total
    batch_finished = Signal(bool)  # cancelled

    def __init__(self, host: QueueHost, cache_mb: float = 256.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.inference: InferenceClient | None = None
        self.model_info: ModelInfo | None = None
        self._previous_model = ""
        self.flip_test = False  # predict with a mirrored pass too (flip disagreement in the inspector)
        self.cache = HeatmapCache(cache_mb)
        self._single: dict[int, int] = {}  # request id → image id
        self._latest_single: dict[int, int] = {}  # image id → newest single request id
        self._ignored: set[int] = set()  # cancelled, heatmaps-only, of a closed project: never written
        self.batch_request: int | None = None
        self.batch_total = 0
        self.sink = PredictionSink(self._build_result_edits, self._apply_chunk, parent=self)
        self.sink.chunk_applied.connect(self._on_chunk)
        self._open_batch: PredictionBatchCommand | None = None
        self.batch_companion = None  # BatchCompanion for the next batch's undo step (a model swap)
        self._open_batch_index = -1
        host.undo_stack.indexChanged.connect(self._on_undo_index)

    def attach(self, client: InferenceClient) -> None:
        self.inference = client
        w = client.worker
        w.model_loaded.connect(self._on_model_loaded)
        w.model_failed.connect(self._on_model_failed)
        w.result.connect(self.receive)
        w.failed.connect(self._on_job_failed)
        w.progress.connect(self._on_progress)
        w.request_finished.connect(self._on_request_finished)

    # ---- model ----------------------------------------------------------------------------------
    def load_checkpoint(self, path: str) -> None:
        if self.inference is None:
            return
        self.message.emit(f"Loading {path} …")
        self.inference.load_checkpoint(path, self.host.skeleton, flip_test=self.flip_test)

    def toggle_flip_test(self) -> bool:
        """Switch the flip test on or off and reload the model with it; returns the new state."""
        self.flip_test = not self.flip_test
        self.message.emit(f"Flip test {'on' if self.flip_test else 'off'}")
        if self.model_info is not None:
            self.load_checkpoint(self.model_info.path)
        return self.flip_test

    def model_id(self) -> str:
        return "" if self.model_info is None else str(self.model_info.path)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.model_info = info
        model = self.model_id()
        previous, self._previous_model = self._previous_model, model
        # the model before keeps its entries, so undoing a model swap shows its heatmaps again
        self.cache.discard_where(lambda key: key.model_id not in (model, previous))
        self.model_changed.emit(info)
        self.message.emit(f"Model {info.name} on {info.device} ({info.precision})")

    def _on_model_failed(self, text: str) -> None:
        self.model_failed.emit(text)
        self.message.emit(text)

    # ---- requests -------------------------------------------------------------------------------
    def ready(self) -> bool:
        """A project, an image and a model: predicting can start (else the user is told why not)."""
        if self.host.store is None or self.host.current is None:
            return False
        if self.inference is None or self.model_info is None:
            self.message.emit("Load a checkpoint first (Model → Load Checkpoint)")
            return False
        if not self.fits():
            self.message.emit(self.mismatch_text())
            return False
        return True

    def fits(self) -> bool:
        """The loaded model's keypoints are the project's (names and order; they differ after a skeleton
        change): a model that does not fit is not asked and its late results are dropped."""
        info, skeleton = self.model_info, self.host.skeleton
        return info is None or skeleton is None or tuple(info.skeleton.keypoints) == tuple(skeleton.keypoints)

    def mismatch_text(self) -> str:
        return (f"The model's keypoints ({', '.join(self.model_info.skeleton.keypoints)}) are not the "
                f"skeleton's ({', '.join(self.host.skeleton.keypoints)}): load or train a matching model")

    def _writable(self) -> bool:
        """Batch predictions become edits: a read-only project cannot take them (one image is still
        predicted: shown from the cache and in the inspector, not stored)."""
        if self.host.store is not None and self.host.store.read_only:
            self.message.emit("The project is read-only: predictions cannot be stored (the heatmap "
                              "inspector still works; `hglabel predict` writes a results file)")
            return False
        return True

    def predict_current(self) -> int | None:
        """Queue 'predict this image' ahead of any batch; returns the request id."""
        if not self.ready():
            return None
        rec = self.host.current
        rid = self.inference.predict([(rec.id, self.host.image_path(rec))], urgent=True)
        self.expect_single(rid, rec.id)
        self.message.emit(f"Predicting {rec.path} …")
        return rid

    def expect_single(self, rid: int, image_id: int) -> None:
        """Request `rid` predicts image `image_id` alone: its result is one undo step."""
        self._single[rid] = image_id
        self._latest_single[image_id] = rid

    def predict_unlabelled(self) -> int | None:
        """Queue every unlabelled image; progress through batch_progress, end through batch_finished."""
        if not self.ready() or not self._writable():
            return None
        if self.batch_request is not None:
            self.message.emit("A batch is already running")
            return None
        records = [r for r in self.host.records if r.status == ReviewStatus.UNLABELLED and not r.missing]
        if not records:
            self.message.emit("No unlabelled images")
            return None
        return self.predict_batch(records)

    def predict_batch(self, records: list[ImageRecord]) -> int | None:
        """Queue `records` as the one batch (a running batch is cancelled first: it may have run with
        another model); results become one undo step. Returns the request id."""
        if (self.inference is None or self.model_info is None or not records or not self.fits()
                or not self._writable()):
            return None
        if self.batch_request is not None:
            self.cancel_batch()
        self.batch_request = self.inference.predict([(r.id, self.host.image_path(r)) for r in records])
        self.batch_total = len(records)
        self.batch_progress.emit(0, self.batch_total)
        return self.batch_request

    def request_heatmaps(self, record: ImageRecord) -> int | None:
        """Predict `record` for its heatmaps only (into the cache; never turned into edits)."""
        if self.inference is None or self.model_info is None or not self.fits():
            return None
        rid = self.inference.predict([(record.id, self.host.image_path(record))], urgent=True)
        self._ignored.add(rid)
        return rid

    def cancel(self, rid: int) -> None:
        """Cancel one request (nothing of it is written)."""
        self._ignored.add(rid)
        if self.inference is not None:
            self.inference.cancel(rid)

    def cancel_batch(self) -> None:
        rid = self.batch_request
        if rid is None:
            return
        self.cancel(rid)
        self._finish_batch(cancelled=True)

    def reset(self) -> None:
        """Forget requests, results and cached predictions (project closed); cancel running requests."""
        for rid in [*self._single, *([self.batch_request] if self.batch_request is not None else [])]:
            self.cancel(rid)
        self._single.clear()
        self._latest_single.clear()
        self.cache.clear()
        self.sink.clear()
        self.batch_request = None
        self.close_open_batch()

    # ---- results --------------------------------------------------------------------------------
    def receive(self, result: ImageResult) -> None:
        """A result from the worker: cache its predictions, then write it (one step or batch chunks)."""
        rid, image_id = result.request_id, result.image_id
        if self.host.store is None or self.host.row_of(image_id) is None or not self.fits():
            return
        model = self.model_id()
        for iid, pred in result.predictions:
            self.cache.put(CacheKey(image_id, iid, model), pred)
        stale = self._latest_single.get(image_id, rid) > rid  # a newer "predict this image" is on its way
        if rid not in self._ignored and not stale:
            if rid in self._single:
                self._write_single(result)
            else:
                self.sink.push(result)
        self.result_arrived.emit(result)
        current = self.host.current
        if current is not None and current.id == image_id:
            self.prediction_changed.emit()

    def _write_single(self, result: ImageResult) -> None:
        rid, image_id = result.request_id, result.image_id
        del self._single[rid]
        if self._latest_single.get(image_id) == rid:
            del self._latest_single[image_id]
        if self.host.store.read_only:
            self.message.emit("Prediction shown, not stored: the project is read-only")
            return
        edits = self._build_result_edits(result)
        if edits:
            name = self.host.records[self.host.row_of(image_id)].path
            self.host.commit(edits[0] if len(edits) == 1 else Batch(tuple(edits), "predict"),
                             f"Predict {name}", by_person=False)
        self.message.emit("Prediction done" if edits else "Prediction changed nothing")

    def _build_result_edits(self, result: ImageResult) -> list[Edit]:
        store, image_id = self.host.store, result.image_id
        return edits_for_result(image_id, store.image(image_id).status, store.instances(image_id),
                                list(result.predictions), self.host.review)

    def _apply_chunk(self, batch: Batch) -> Batch | None:
        try:
            return self.host.store.apply(batch)
        except (StaleEditError, ValueError) as exc:
            log.warning("prediction chunk refused: %s", exc)
            self.message.emit(f"Predictions not applied: {exc}")
            return None
        except ProjectError as exc:  # locked, full disk, file removed: say so and stop the batch
            log.warning("prediction chunk not written: %s", exc)
            self.cancel_batch()
            self.host.edit_failed(f"Predictions not saved: {exc}")
            return None

    def _on_chunk(self, applied: Batch, images: int) -> None:
        stack = self.host.undo_stack
        top_is_open = (self._open_batch is not None and stack.index() == self._open_batch_index
                       and stack.count() == self._open_batch_index)
        if top_is_open:
            self._open_batch.extend(applied, images)
            self.host.after_apply(applied)
            return
        cmd = PredictionBatchCommand(self.host.store, applied, images, self.host.after_apply,
                                     self.host.edit_failed, self.batch_companion)
        self.batch_companion = None  # belongs to the first undo step of the batch
        stack.push(cmd)
        self._open_batch, self._open_batch_index = cmd, stack.index()

    def close_open_batch(self) -> None:
        """Later batch chunks start a new undo step (called before any other change is committed)."""
        self._open_batch, self._open_batch_index = None, -1

    def _on_undo_index(self, index: int) -> None:
        if self._open_batch is not None and index != self._open_batch_index:
            self.close_open_batch()

    def _on_job_failed(self, rid: int, image_id: int, text: str) -> None:
        if rid not in self._ignored:
            self._single.pop(rid, None)
            self.message.emit(text)

    def _on_progress(self, rid: int, done: int) -> None:
        if rid == self.batch_request:
            self.batch_progress.emit(done, self.batch_total)

    def _on_request_finished(self, rid: int, cancelled: bool) -> None:
        if rid == self.batch_request:
            self._finish_batch(cancelled)

    def _finish_batch(self, cancelled: bool) -> None:
        self.batch_request = None
        self.batch_finished.emit(cancelled)
        self.message.emit("Batch cancelled" if cancelled else f"Predicted {self.batch_total} images")

    # ---- the cache ------------------------------------------------------------------------------
    def prediction_for(self, image_id: int, inst: Instance) -> Prediction | None:
        """The cached prediction of one stored instance of the loaded model; a whole-image result is
        matched by its box, or taken when the image has one instance."""
        model = self.model_id()
        pred = self.cache.get(CacheKey(image_id, inst.instance_id, model))
        if pred is not None:
            return pred
        loose = self.cache.get(CacheKey(image_id, None, model))
        if loose is None:
            return None
        current = self.host.current
        only_one = current is not None and current.id == image_id and len(self.host.instances) == 1
        if tuple(map(float, loose.box)) == tuple(map(float, inst.box)) or only_one:
            return loose
        return None

    def current_prediction(self) -> Prediction | None:
        """The cached Prediction of the selected instance of the current image."""
        rec, inst = self.host.current, self.host.selected_instance
        return None if rec is None or inst is None else self.prediction_for(rec.id, inst)
