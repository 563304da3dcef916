"""The session: open project + QUndoStack + current image and selection, composed of two parts.

- `editor` (gui.editor.Editor): every edit a person makes (place, drag, visibility, Tab, swap, …).
- `predictions` (gui.prediction_queue.PredictionQueue): the model, requests, results, the one
  prediction/heatmap cache, batch undo steps.

Every change goes through `commit` → an EditCommand on the undo stack → `store.apply` (one committed
transaction), so there is no Save and a crash loses nothing already shown. Edits by a person on an
unlabelled or predicted image also move it to "in review" in the same undo step. Selection is kept
by instance id, so it survives reloads. `review` (model.annotations.review.ReviewPolicy) is the
review threshold; `style` only says how things look.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from gui.editor import Editor, next_missing
from gui.prediction_queue import PredictionQueue
from gui.undo import EditCommand
from gui.views.style import OverlayStyle
from gui.workers.image_loader import ImageLoader, LoadedImage
from model.annotations.edits import Batch, Edit, SetStatus
from model.annotations.review import ReviewPolicy
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Prediction, ReviewStatus
from model.project.store import ImageRecord, ProjectError, ProjectStore

log = logging.getLogger(__name__)

REVIEW_ORDER = (ReviewStatus.IN_REVIEW, ReviewStatus.PREDICTED)


class Session(QObject):
    """State of the window that is not widgets. Signals tell the views what to redraw."""

    project_changed = Signal()
    project_closing = Signal()  # the store is about to close: write what is held back (uncertainty scores)
    image_changed = Signal(int)  # image id of the new current image
    pixels_ready = Signal(object)  # LoadedImage of the current image
    pixels_failed = Signal(str)
    annotations_changed = Signal()  # instances or selection of the current image
    record_changed = Signal(object)  # ImageRecord whose status changed
    progress_changed = Signal(int, int)  # done, total
    message = Signal(str)  # one line for the status bar
    problem = Signal(str)  # a warning that stays (an edit not saved, read-only project); "" clears it
    prediction_changed = Signal()  # the Prediction of the selected instance may have changed

    def __init__(self, loader: ImageLoader | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store: ProjectStore | None = None
        self._problem_shown = False  # a failed edit's warning is up (cleared by the next edit that lands)
        self.undo_stack = QUndoStack(self)
        self.loader = loader if loader is not None else ImageLoader(parent=self)
        self.loader.ready.connect(self._on_pixels)
        self.loader.failed.connect(self._on_pixels_failed)
        self.records: list[ImageRecord] = []
        self._row_of: dict[int, int] = {}
        self._counts: Counter = Counter()
        self.row = -1
        self.instances: list[Instance] = []
        self.pixels: LoadedImage | None = None
        self.selected_id: int | None = None  # instance id
        self.selected_k: int | None = None
        self.armed = False  # a click places the selected keypoint even if it is already labelled
        self.style = OverlayStyle()
        self.review = ReviewPolicy()
        self.filter_status: ReviewStatus | None = None
        self.prefetch_ahead = 2
        self.editor = Editor(self)
        self.predictions = PredictionQueue(self, parent=self)
        self.predictions.message.connect(self.message)
        self.predictions.prediction_changed.connect(self.prediction_changed)

    # ---- project --------------------------------------------------------------------------------
    @property
    def skeleton(self) -> Skeleton | None:
        return None if self.store is None else self.store.skeleton

    def open_project(self, store: ProjectStore, records: list[ImageRecord] | None = None,
                     first_image: LoadedImage | None = None) -> None:
        """Make store the current project (records: its images, if already read off the GUI thread;
        first_image: the first one, if already decoded)."""
        self.close_project()
        if first_image is not None:
            self.loader.put(first_image)
        self.store = store
        self.records = list(records) if records is not None else store.images()
        self._row_of = {r.id: i for i, r in enumerate(self.records)}
        self._counts = Counter(r.status for r in self.records)
        self.project_changed.emit()
        read_only = (f"{store.path}: opened read-only (viewing, export and predicting the shown image "
                     "work; edits and predictions are not saved)")
        self.problem.emit(read_only if store.read_only else "")
        self.progress_changed.emit(*self.progress())
        if self.records:
            self.show_row(0)

    def close_project(self) -> None:
        if self.store is not None:
            self.project_closing.emit()
        self.predictions.reset()
        self.undo_stack.clear()
        self.loader.clear()
        if self.store is not None:
            self.store.close()
        self.store, self.records, self._row_of, self.row = None, [], {}, -1
        self.instances, self.pixels, self.selected_id, self.selected_k = [], None, None, None

    def progress(self) -> tuple[int, int]:
        return self._counts[ReviewStatus.DONE], len(self.records)

    def counts(self) -> dict[ReviewStatus, int]:
        return {s: self._counts[s] for s in ReviewStatus}

    @property
    def current(self) -> ImageRecord | None:
        return self.records[self.row] if 0 <= self.row < len(self.records) else None

    def image_path(self, record: ImageRecord) -> Path:
        return self.store.image_root / record.path

    def row_of(self, image_id: int) -> int | None:
        return self._row_of.get(image_id)

    # ---- navigation -----------------------------------------------------------------------------
    def show_row(self, row: int) -> None:
        if not 0 <= row < len(self.records):
            return
        rec = self.records[row]
        self.row = row
        self.instances = self.store.instances(rec.id)
        first = self.instances[0] if self.instances else None
        self.selected_id = None if first is None else first.instance_id
        self.selected_k = None if first is None else next_missing(first, -1)
        self.armed = self.selected_k is not None
        self.pixels = self.loader.get(rec.id)
        self.image_changed.emit(rec.id)
        if self.pixels is not None:
            self.pixels_ready.emit(self.pixels)
        else:
            self.loader.request(rec.id, self.image_path(rec))
        self.annotations_changed.emit()
        self.prediction_changed.emit()
        self._prefetch(row)

    def show_image(self, image_id: int) -> None:
        row = self._row_of.get(image_id)
        if row is not None:
            self.show_row(row)

    def set_filter(self, status: ReviewStatus | None) -> None:
        self.filter_status = status

    def _accepts(self, rec: ImageRecord) -> bool:
        return self.filter_status is None or rec.status == self.filter_status

    def step(self, delta: int) -> bool:
        """Go to the next (delta=1) or previous (-1) image that passes the status filter."""
        row = self.row + delta
        while 0 <= row < len(self.records):
            if self._accepts(self.records[row]):
                self.show_row(row)
                return True
            row += delta
        self.message.emit("No more images" + ("" if self.filter_status is None else " with this status"))
        return False

    def next_needing_review(self) -> bool:
        """The next image (wrapping) in review, else the next predicted one."""
        n = len(self.records)
        for wanted in REVIEW_ORDER:
            for i in range(1, n + 1):
                row = (self.row + i) % n
                if self.records[row].status == wanted and row != self.row:
                    self.show_row(row)
                    return True
        self.message.emit("No image needs review")
        return False

    def _prefetch(self, row: int) -> None:
        rows = [row + i for i in range(1, self.prefetch_ahead + 1)] + [row - 1]
        for r in rows:
            if 0 <= r < len(self.records) and not self.records[r].missing:
                self.loader.request(self.records[r].id, self.image_path(self.records[r]))

    def _on_pixels(self, item: LoadedImage) -> None:
        rec = self.current
        if rec is None or item.image_id != rec.id:
            return
        self.pixels = item
        self.pixels_ready.emit(item)
        if rec.width is None and not self.store.read_only:
            w, h = item.size
            try:
                self.store.set_image_size(rec.id, w, h)
            except ProjectError as exc:  # only a cache of the size: the next edit reports the problem
                log.debug("image size not stored: %s", exc)
                return
            self._refresh_record(rec.id)

    def _on_pixels_failed(self, image_id: int, text: str) -> None:
        rec = self.current
        if rec is not None and image_id == rec.id:
            self.pixels_failed.emit(text)
            self.message.emit(text)

    # ---- selection ------------------------------------------------------------------------------
    @property
    def selected_index(self) -> int | None:
        for i, inst in enumerate(self.instances):
            if inst.instance_id == self.selected_id:
                return i
        return None

    @property
    def selected_instance(self) -> Instance | None:
        i = self.selected_index
        return None if i is None else self.instances[i]

    def select(self, index: int | None, k: int | None = None, armed: bool = False) -> None:
        """Select instance `index` of the current image and keypoint k (None: keep none)."""
        if index is not None and not 0 <= index < len(self.instances):
            return
        self.selected_id = None if index is None else self.instances[index].instance_id
        self.selected_k = k
        self.armed = armed
        self.annotations_changed.emit()
        self.prediction_changed.emit()

    def set_style(self, style: OverlayStyle) -> None:
        self.style = style
        self.annotations_changed.emit()

    def set_review(self, review: ReviewPolicy) -> None:
        """A new review threshold: rings and tables redraw (statuses already set stay)."""
        self.review = review
        self.annotations_changed.emit()

    def prediction_for(self, image_id: int, inst: Instance) -> Prediction | None:
        return self.predictions.prediction_for(image_id, inst)

    # ---- committing edits -----------------------------------------------------------------------
    def commit(self, edit: Edit, text: str, by_person: bool = True) -> bool:
        """Push edit as one undo step (applied and committed now). False if the store refused it."""
        if self.store is None:
            return False
        if by_person:
            edit = self._with_review_status(edit)
        self.predictions.close_open_batch()
        cmd = EditCommand(self.store, edit, text, self.after_apply, self.edit_failed)
        self.undo_stack.push(cmd)
        return not cmd.failed

    def _with_review_status(self, edit: Edit) -> Edit:
        """A person's edit on an unlabelled/predicted image also sets it in review (same undo step)."""
        extra = []
        for image_id in edit.image_ids:
            status = self.records[self._row_of[image_id]].status
            if status in (ReviewStatus.UNLABELLED, ReviewStatus.PREDICTED):
                extra.append(SetStatus(image_id, status, ReviewStatus.IN_REVIEW))
        return Batch((edit, *extra), "") if extra else edit

    def after_apply(self, edit: Edit) -> None:
        """Refresh what an applied (or undone) edit changed: statuses, counts, the current instances."""
        if self._problem_shown:  # an edit landed again: the earlier warning is over
            self._problem_shown = False
            self.problem.emit("")
        ids = edit.image_ids
        for image_id in ids:
            self._refresh_record(image_id)
        rec = self.current
        if rec is not None and rec.id in ids:
            self.instances = self.store.instances(rec.id)
            ids_now = {i.instance_id for i in self.instances}
            if self.selected_id not in ids_now:  # gone, or none selected yet: take the last one
                self.selected_id = self.instances[-1].instance_id if self.instances else None
                self.selected_k = None
            self.annotations_changed.emit()

    def _refresh_record(self, image_id: int) -> None:
        row = self._row_of.get(image_id)
        if row is None:
            return
        old = self.records[row]
        new = self.store.image(image_id)
        if new == old:
            return
        self.records[row] = new
        if new.status != old.status:
            self._counts[old.status] -= 1
            self._counts[new.status] += 1
            self.progress_changed.emit(*self.progress())
        self.record_changed.emit(new)

    def edit_failed(self, text: str) -> None:
        """An edit (or its undo) was refused by the store: say so and show what the file holds."""
        self.message.emit(text)
        self.problem.emit(text)
        self._problem_shown = True
        rec = self.current
        if rec is not None:
            self._refresh_record(rec.id)
            self.instances = self.store.instances(rec.id)
            self.annotations_changed.emit()

