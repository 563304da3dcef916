"""Prediction glue of the session (mixed into Session): requests, stale results, batch undo steps.

- Requests carry ids. A result for an image with a newer "predict this image" request pending is
  dropped, as is anything of a cancelled request or of a closed project.
- Results are merged against the store's state when they arrive (gui.predictions), so a keypoint
  the user touched meanwhile is never overwritten.
- "Predict this image" is one undo step. Batch results are applied in time-boxed chunks; chunks
  join one "Predict N images" undo step for as long as that step is on top of the stack; any other
  change (or an undo) closes it, and later chunks start a new step, so undo order stays exact.
- The Prediction objects (per-stack heatmaps) of recent images stay reachable through
  `current_prediction()` for the heatmap inspector.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from gui.predictions import PredictionSink, edits_for_result
from gui.undo import PredictionBatchCommand
from gui.workers.inference import ImageResult, InferenceClient, ModelInfo
from model.annotations.edits import Batch
from model.annotations.types import Prediction, ReviewStatus
from model.project.store import StaleEditError

log = logging.getLogger(__name__)

KEEP_PREDICTIONS = 64


class PredictMixin:
    """Needs Session's store, records, undo_stack, style, commit, _after_apply and its signals."""

    def __init__(self) -> None:
        self.inference: InferenceClient | None = None
        self.model_info: ModelInfo | None = None
        self.flip_test = False  # predict with a mirrored pass too (flip disagreement in the inspector)
        self._single: dict[int, int] = {}  # request id → image id
        self._latest_single: dict[int, int] = {}  # image id → newest single request id
        self._ignored: set[int] = set()
        self.batch_request: int | None = None
        self.batch_total = 0
        self._predictions: OrderedDict[int, tuple] = OrderedDict()  # image id → ((iid, Prediction), …)
        self.sink = PredictionSink(self._build_result_edits, self._apply_chunk, parent=self)
        self.sink.chunk_applied.connect(self._on_chunk)
        self._open_batch: PredictionBatchCommand | None = None
        self._open_batch_index = -1
        self.undo_stack.indexChanged.connect(self._on_undo_index)

    def attach_inference(self, client: InferenceClient) -> None:
        self.inference = client
        w = client.worker
        w.model_loaded.connect(self._on_model_loaded)
        w.model_failed.connect(self._on_model_failed)
        w.result.connect(self._on_result)
        w.failed.connect(self._on_job_failed)
        w.progress.connect(self._on_progress)
        w.request_finished.connect(self._on_request_finished)

    # ---- model ----------------------------------------------------------------------------------
    def load_checkpoint(self, path: str) -> None:
        if self.inference is None:
            return
        self.message.emit(f"Loading {path} …")
        self.inference.load_checkpoint(path, self.skeleton, flip_test=self.flip_test)

    def toggle_flip_test(self) -> bool:
        """Switch the flip test on or off and reload the model with it; returns the new state."""
        self.flip_test = not self.flip_test
        self.message.emit(f"Flip test {'on' if self.flip_test else 'off'}")
        if self.model_info is not None:
            self.load_checkpoint(self.model_info.path)
        return self.flip_test

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.model_info = info
        self.model_changed.emit(info)
        self.message.emit(f"Model {info.name} on {info.device} ({info.precision})")

    def _on_model_failed(self, text: str) -> None:
        self.model_failed.emit(text)
        self.message.emit(text)

    # ---- requests -------------------------------------------------------------------------------
    def _can_predict(self) -> bool:
        if self.store is None or self.current is None:
            return False
        if self.inference is None or self.model_info is None:
            self.message.emit("Load a checkpoint first (Model → Load Checkpoint)")
            return False
        return True

    def predict_current(self) -> int | None:
        """Queue 'predict this image' ahead of any batch; returns the request id."""
        if not self._can_predict():
            return None
        rec = self.current
        rid = self.inference.predict([(rec.id, self.image_path(rec))], urgent=True)
        self._single[rid] = rec.id
        self._latest_single[rec.id] = rid
        self.message.emit(f"Predicting {rec.path} …")
        return rid

    def predict_unlabelled(self) -> int | None:
        """Queue every unlabelled image; progress through batch_progress, end through batch_finished."""
        if not self._can_predict():
            return None
        if self.batch_request is not None:
            self.message.emit("A batch is already running")
            return None
        records = [r for r in self.records if r.status == ReviewStatus.UNLABELLED and not r.missing]
        if not records:
            self.message.emit("No unlabelled images")
            return None
        return self.predict_batch(records)

    def predict_batch(self, records: list) -> int | None:
        """Queue `records` as the session's one batch (a running batch is cancelled first: it may have
        run with another model); results become one undo step. Returns the request id."""
        if self.inference is None or self.model_info is None or not records:
            return None
        if self.batch_request is not None:
            self.cancel_batch()
        self.batch_request = self.inference.predict([(r.id, self.image_path(r)) for r in records])
        self.batch_total = len(records)
        self.batch_progress.emit(0, self.batch_total)
        return self.batch_request

    def request_heatmaps(self, record) -> int | None:
        """Predict `record` for its heatmaps only: the result is never turned into edits."""
        if self.inference is None or self.model_info is None:
            return None
        rid = self.inference.predict([(record.id, self.image_path(record))], urgent=True)
        self._ignored.add(rid)
        return rid

    def cancel_batch(self) -> None:
        rid = self.batch_request
        if rid is None:
            return
        self._ignored.add(rid)
        if self.inference is not None:
            self.inference.cancel(rid)
        self._finish_batch(cancelled=True)

    def reset_predictions(self) -> None:
        """Forget requests and results (project closed); running requests are cancelled."""
        if self.inference is not None:
            for rid in [*self._single, *([self.batch_request] if self.batch_request else [])]:
                self.inference.cancel(rid)
        self._ignored.update(self._single)
        if self.batch_request is not None:
            self._ignored.add(self.batch_request)
        self._single.clear()
        self._latest_single.clear()
        self._predictions.clear()
        self.sink.clear()
        self.batch_request = None
        self.close_open_batch()

    # ---- results --------------------------------------------------------------------------------
    def _on_result(self, result: ImageResult) -> None:
        rid, image_id = result.request_id, result.image_id
        if rid in self._ignored or self.store is None or image_id not in self._row_of:
            return
        if self._latest_single.get(image_id, rid) > rid:
            return  # a newer "predict this image" is on its way
        self._predictions[image_id] = result.predictions
        self._predictions.move_to_end(image_id)
        while len(self._predictions) > KEEP_PREDICTIONS:
            self._predictions.popitem(last=False)
        if rid in self._single:
            del self._single[rid]
            if self._latest_single.get(image_id) == rid:
                del self._latest_single[image_id]
            edits = self._build_result_edits(result)
            if edits:
                name = self.records[self._row_of[image_id]].path
                self.commit(edits[0] if len(edits) == 1 else Batch(tuple(edits), "predict"),
                            f"Predict {name}", by_person=False)
            self.message.emit("Prediction done" if edits else "Prediction changed nothing")
        else:
            self.sink.push(result)
        if self.current is not None and self.current.id == image_id:
            self.prediction_changed.emit()

    def _build_result_edits(self, result: ImageResult) -> list:
        image_id = result.image_id
        status = self.store.image(image_id).status
        return edits_for_result(image_id, status, self.store.instances(image_id), list(result.predictions),
                                self.style.threshold)

    def _apply_chunk(self, batch: Batch) -> Batch | None:
        try:
            return self.store.apply(batch)
        except (StaleEditError, ValueError) as exc:
            log.warning("prediction chunk refused: %s", exc)
            self.message.emit(f"Predictions not applied: {exc}")
            return None

    def _on_chunk(self, applied: Batch, images: int) -> None:
        top_is_open = (self._open_batch is not None and self.undo_stack.index() == self._open_batch_index
                       and self.undo_stack.count() == self._open_batch_index)
        if top_is_open:
            self._open_batch.extend(applied, images)
            self._after_apply(applied)
            return
        cmd = PredictionBatchCommand(self.store, applied, images, self._after_apply, self._failed)
        self.undo_stack.push(cmd)
        self._open_batch, self._open_batch_index = cmd, self.undo_stack.index()

    def close_open_batch(self) -> None:
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

    # ---- for the heatmap inspector -------------------------------------------------------------
    def current_prediction(self) -> Prediction | None:
        """The latest Prediction of the selected instance of the current image, if one is kept."""
        rec, inst = self.current, self.selected_instance
        if rec is None or inst is None:
            return None
        pairs = self._predictions.get(rec.id, ())
        for iid, pred in pairs:
            if iid == inst.instance_id:
                return pred
        loose = [pred for iid, pred in pairs if iid is None]
        for pred in loose:
            if tuple(map(float, pred.box)) == tuple(map(float, inst.box)):
                return pred
        return loose[0] if len(loose) == 1 and len(self.instances) == 1 else None
