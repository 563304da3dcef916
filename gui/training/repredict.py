"""After training: load the new checkpoint into the session, then re-predict every image not yet done
(Assist: only those no person has touched, model.project.touched).

Loading happens in the inference thread; the batch is queued when the session reports that very
checkpoint as loaded (model_changed). Results go through the session's normal batch path (status
bar progress, cancel, one undo step, keypoints a person set are never overwritten). That undo step
also loads the model before again (and redo the new one); the cache keeps the previous model's
predictions and heatmaps, so the uncertainty and heatmaps on screen are those of before.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gui.undo import BatchCompanion
from model.annotations.types import ReviewStatus
from model.project.touched import touched_image_ids

log = logging.getLogger(__name__)

FINISHED = (ReviewStatus.DONE, ReviewStatus.SKIPPED)


def not_done_records(session) -> list:
    """The session's images that are neither done nor skipped and whose file is present."""
    return [r for r in session.records if r.status not in FINISHED and not r.missing]


def untouched_records(session) -> tuple[list, int]:
    """The not-done images no person has touched, and how many not-done ones a person touched."""
    records = not_done_records(session)
    touched = touched_image_ids(session.store, records)
    return [r for r in records if r.id not in touched], len(touched)


def predict_not_done(session, records: list | None = None) -> int | None:
    """Queue `records` (default: every not-done image) as the session's batch (like Predict All
    Unlabelled, wider); returns the request id, or None when there is nothing to do or no model."""
    queue = session.predictions
    if session.store is None or queue.inference is None or queue.model_info is None:
        return None
    records = not_done_records(session) if records is None else records
    if not records:
        session.message.emit("Every image is done" if not not_done_records(session)
                             else "No image left to re-predict")
        return None
    session.message.emit(f"Re-predicting {len(records)} images with the new model …")
    return session.predictions.predict_batch(records)


class ModelSwap(QObject):
    """Load `checkpoint` into `session`, then predict the images not yet done (once); skip_touched:
    only those no person has touched (`touched` then counts the ones left as they are)."""

    predicting = Signal(int)  # number of images queued (0: none to do)
    failed = Signal(str)

    def __init__(self, session, checkpoint: str | Path, parent: QObject | None = None,
                 skip_touched: bool = False) -> None:
        super().__init__(parent)
        self.session = session
        self.checkpoint = Path(checkpoint)
        self.skip_touched = skip_touched
        self.touched = 0
        self.request_id: int | None = None
        self.previous: str | None = None  # the model loaded before the swap

    def _disconnect(self) -> None:
        self.session.predictions.model_changed.disconnect(self._on_model)
        self.session.predictions.model_failed.disconnect(self._on_failed)

    def start(self) -> None:
        queue = self.session.predictions
        self.previous = queue.model_info.path if queue.model_info is not None else None
        queue.model_changed.connect(self._on_model)
        queue.model_failed.connect(self._on_failed)
        queue.load_checkpoint(str(self.checkpoint))

    def _on_model(self, info) -> None:
        if Path(info.path) != self.checkpoint:
            return  # another load finished first
        self._disconnect()
        queue = self.session.predictions
        queue.close_open_batch()  # the re-prediction is its own undo step, not part of an earlier batch
        if self.previous is not None:  # Undo of the re-prediction loads the model before again
            previous, new = self.previous, str(self.checkpoint)
            queue.batch_companion = BatchCompanion(lambda: queue.load_checkpoint(previous),
                                                   lambda: queue.load_checkpoint(new), "Load & Re-predict")
        records = None
        if self.skip_touched and self.session.store is not None:
            records, self.touched = untouched_records(self.session)
        self.request_id = predict_not_done(self.session, records)
        if self.request_id is None:
            queue.batch_companion = None
        self.predicting.emit(0 if self.request_id is None else self.session.predictions.batch_total)

    def _on_failed(self, text: str) -> None:
        self._disconnect()
        log.warning("new model not loaded: %s", text)
        self.failed.emit(text)
