"""Wires the heatmap inspector into the main window: dock, canvas overlay, peak path, marks, keys, scores.

- Predictions come from the session's PredictionQueue (its one cache, keyed by image, instance and
  model); every result it reports (`result_arrived`) updates the image's uncertainty score.
- The dock shows the selected instance's prediction; on a cache miss the queue is asked for the
  image's heatmaps only (nothing is written to the project).
- Each image's worst-keypoint score is kept in the project (`ProjectStore.set_uncertainty`): the
  scores that arrive are written together at most every SAVE_SCORES_MS (one transaction instead of one
  commit per result on the GUI thread) and when the project closes, and loaded when it opens
  (`worst`), so sorting/filtering by uncertainty and `U` work right after a restart. A new model
  keeps the stored scores; an image's score changes only when the image is predicted again. The full
  `ImageUncertainty` (worst keypoint, count) is in memory only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer

from gui.inspector import list_model
from gui.inspector.dock import SOURCE_KEYPOINT, HeatmapDock
from gui.inspector.overlay import HEATMAP_Z, MARKS_Z, PATH_Z, HeatmapOverlay, PeakPath, UncertaintyMarks
from gui.workers.inference import ImageResult
from model.annotations.types import Instance, Prediction, ReviewStatus
from model.errors import HglabelError
from model.inspect.geometry import peak_path
from model.inspect.render import crop_under_heatmap
from model.inspect.uncertainty import (
    ImageUncertainty,
    image_uncertainty,
    keypoint_uncertainty,
    next_most_uncertain,
)

log = logging.getLogger(__name__)

SAVE_SCORES_MS = 1000  # arrived uncertainty scores are written to the project together this often
FINISHED = (ReviewStatus.DONE, ReviewStatus.SKIPPED)


class InspectorController(QObject):
    """Owns the inspector's widgets and state for one main window (see the module docstring)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window, self.session, self.canvas = window, window.session, window.canvas
        self.queue = window.session.predictions
        self.scores: dict[int, ImageUncertainty] = {}  # this session's results, in full
        self.worst: dict[int, float] = {}  # image id → worst score: stored ones, then this session's
        self.dock = HeatmapDock(window)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.resizeDocks([self.dock], [460], Qt.Orientation.Horizontal)
        self.overlay, self.path, self.marks = HeatmapOverlay(), PeakPath(), UncertaintyMarks()
        for item, z in ((self.overlay, HEATMAP_Z), (self.path, PATH_Z), (self.marks, MARKS_Z)):
            self.canvas.add_overlay(item, z)
        self.path.hide()
        self.list_proxy = list_model.install(window.list_panel)
        self.shown: Prediction | None = None
        self._underlaid = False  # the shown prediction has the image crop under its cells
        self.pending: tuple[int, int] | None = None  # (request id, image id) of a heatmaps-only request
        self._asked: tuple | None = None  # (image, instance, model) of the last heatmaps-only request
        self._answered: tuple | None = None  # … of the last request whose answer lacked it
        self._scores_timer = QTimer(self, singleShot=True, interval=150)
        self._scores_timer.timeout.connect(self._push_scores)
        self._unsaved: dict[int, float | None] = {}  # image id → worst score not yet in the project
        self._save_timer = QTimer(self, singleShot=True, interval=SAVE_SCORES_MS)  # not restarted per result
        self._save_timer.timeout.connect(self.save_scores)
        self._connect()

    def _connect(self) -> None:
        s, d = self.session, self.dock
        s.prediction_changed.connect(self.refresh)
        s.pixels_ready.connect(lambda _item: self.refresh())
        s.annotations_changed.connect(self._on_annotations)
        self.queue.model_changed.connect(self._on_model)
        s.project_changed.connect(self._on_project)
        s.project_closing.connect(self.save_scores)
        self.queue.result_arrived.connect(self._on_result)
        d.keypoint_selected.connect(self._on_dock_keypoint)
        d.stack_selected.connect(lambda _s: self.update_canvas_items())
        d.overlay_changed.connect(self.update_canvas_items)
        d.sort_check.toggled.connect(self.list_proxy.set_sorted)
        d.only_uncertain_check.toggled.connect(self.list_proxy.set_only_uncertain)
        d.only_picked_check.toggled.connect(self.list_proxy.set_only_picked)

    def handlers(self) -> dict[str, Callable[[], object]]:
        """Handlers of the inspector's actions (ids in gui.actions)."""
        d = self.dock
        return {
            "next_uncertain": self.next_uncertain,
            "toggle_heatmap_overlay": d.overlay_check.toggle, "sort_uncertainty": d.sort_check.toggle,
            "filter_uncertain": d.only_uncertain_check.toggle,
        }

    # ---- predictions -----------------------------------------------------------------------------
    def model_id(self) -> str:
        return self.queue.model_id()

    def prediction_for(self, image_id: int, inst: Instance) -> Prediction | None:
        """The queue's cached prediction of one stored instance."""
        return self.queue.prediction_for(image_id, inst)

    def uncertainty_scores(self, inst: Instance) -> np.ndarray | None:
        """(K,) uncertainty scores of inst's cached prediction on the current image, or None."""
        rec = self.session.current
        pred = None if rec is None else self.prediction_for(rec.id, inst)
        return None if pred is None else keypoint_uncertainty(pred).score

    def _on_result(self, result: ImageResult) -> None:
        self._score_result(result)
        if self.pending is not None and self.pending[0] == result.request_id:
            self.pending = None
            brought = {iid for iid, _pred in result.predictions}
            # an answer without the asked instance is not asked for again at once (no request loop)
            self._answered = None if self._asked is None or self._asked[1] in brought else self._asked
        current = self.session.current
        if current is not None and current.id == result.image_id:
            self.refresh()

    def _score_result(self, result: ImageResult) -> None:
        store = self.session.store
        if store is None:
            return
        try:
            human = {inst.instance_id: inst.keypoints.human for inst in store.instances(result.image_id)}
        except KeyError:
            return
        preds = [pred for _iid, pred in result.predictions]
        masks = [human.get(iid) if iid is not None else None for iid, _pred in result.predictions]
        self._set_score(result.image_id, image_uncertainty(preds, masks))

    def _rescore_current(self) -> None:
        rec = self.session.current
        if rec is None:
            return
        pairs = [(p, inst.keypoints.human) for inst in self.session.instances
                 if (p := self.prediction_for(rec.id, inst)) is not None]
        if pairs:
            self._set_score(rec.id, image_uncertainty([p for p, _ in pairs], [h for _, h in pairs]))

    def _set_score(self, image_id: int, value: ImageUncertainty | None) -> None:
        if value is None:
            self.scores.pop(image_id, None)
            self.worst.pop(image_id, None)
        else:
            self.scores[image_id] = value
            self.worst[image_id] = value.worst_score
        self._unsaved[image_id] = None if value is None else value.worst_score
        if not self._save_timer.isActive():
            self._save_timer.start()
        self._scores_timer.start()

    def save_scores(self) -> None:
        """Write the scores that arrived since the last write to the project, in one transaction."""
        self._save_timer.stop()
        unsaved, self._unsaved = self._unsaved, {}
        store = self.session.store
        if not unsaved or store is None or store.read_only:
            return
        try:
            store.set_uncertainty(unsaved)
        except HglabelError as exc:  # the scores are kept in memory; the store names the problem
            log.warning("uncertainty of %d image(s) not stored: %s", len(unsaved), exc)

    def _push_scores(self) -> None:
        self.list_proxy.set_scores(dict(self.worst))

    def request_heatmaps(self) -> int | None:
        """Ask the worker for the current image's heatmaps (nothing is written to the project)."""
        s = self.session
        rec = s.current
        if rec is None or self.queue.inference is None or self.queue.model_info is None or s.store is None:
            return None
        if self.pending is not None:
            if self.pending[1] == rec.id:
                return self.pending[0]
            self.queue.cancel(self.pending[0])
        inst = self.target_instance()
        self._asked = (rec.id, None if inst is None else inst.instance_id, self.model_id())
        rid = self.queue.request_heatmaps(rec)
        self.pending = (rid, rec.id)
        return rid

    # ---- views -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the selected instance's prediction in the dock and on the canvas (request it on a miss)."""
        s = self.session
        rec, inst = s.current, self.target_instance()
        pred = None if rec is None or inst is None else self.prediction_for(rec.id, inst)
        key = None if pred is not None or inst is None else (rec.id, inst.instance_id, self.model_id())
        if key is not None and key != self._answered and self.dock.isVisible():
            self.request_heatmaps()
        late_pixels = pred is not None and not self._underlaid and s.pixels is not None
        if pred is not self.shown or late_pixels:
            self.shown = pred
            underlay = self._underlay(pred)
            self._underlaid = underlay is not None
            self.dock.set_prediction(pred, s.skeleton, keypoint=s.selected_k, underlay=underlay)
        elif s.selected_k is not None and s.selected_k != self.dock.keypoint:
            self.dock.set_keypoint(s.selected_k)
        self.update_canvas_items()
        self.update_marks()

    def _underlay(self, pred: Prediction | None) -> np.ndarray | None:
        """(h, w, 3) uint8 RGB crop of the shown image under pred's heatmaps, or None."""
        pixels = self.session.pixels
        if pred is None or pixels is None:
            return None
        h, w = pred.stack_heatmaps.shape[2:]
        crop = crop_under_heatmap(pixels.bgra, pred.heatmap_to_image, (w, h), 1)
        return np.ascontiguousarray(crop[..., 2::-1])

    def target_instance(self) -> Instance | None:
        """The instance the dock shows: the selected one, else the image's first."""
        s = self.session
        inst = s.selected_instance
        return inst if inst is not None or not s.instances else s.instances[0]

    def _on_annotations(self) -> None:
        self._rescore_current()
        self.refresh()

    def update_canvas_items(self) -> None:
        """Heatmap overlay (chosen stack; selected keypoint or max of all) and the peak path."""
        pred, d = self.shown, self.dock
        if pred is None or self.session.skeleton is None:
            self.overlay.hide()
            self.path.hide()
            self._uncertainty_text(None)
            return
        k, stack = d.keypoint, min(d.stack, pred.stack_heatmaps.shape[0] - 1)
        if d.overlay_enabled:
            maps = pred.stack_heatmaps[stack]
            heatmap = maps[k] if d.overlay_source == SOURCE_KEYPOINT else maps.max(axis=0)
            if self.overlay.colormap != d.colormap:
                self.overlay.set_colormap(d.colormap)
            self.overlay.setOpacity(d.opacity)
            self.overlay.show_heatmap(heatmap, pred.heatmap_to_image, d.grid.levels[1])
        else:
            self.overlay.hide()
        if d.path_enabled:
            self.path.set_path(peak_path(pred.stack_keypoints, k), self.session.skeleton.colors[k])
        else:
            self.path.hide()
        self._uncertainty_text(pred)

    def _uncertainty_text(self, pred: Prediction | None) -> None:
        s, d = self.session, self.dock
        if pred is None or s.skeleton is None:
            d.uncertainty.setText(" ")
            return
        line = keypoint_uncertainty(pred).describe(d.keypoint, s.skeleton.keypoints)
        rec = s.current
        score = None if rec is None else self.scores.get(rec.id)
        if score is not None:
            line += (f"\nImage: worst {s.skeleton.keypoints[score.keypoint]} "
                     f"(uncertainty {score.worst_score:.2f}), {score.uncertain_count} uncertain")
        d.uncertainty.setText(line)

    def update_marks(self) -> None:
        """Rings around the uncertain, model-set keypoints of every instance of the current image."""
        s = self.session
        rec = s.current
        xy, tips = [], []
        if rec is not None and s.skeleton is not None:
            for inst in s.instances:
                pred = self.prediction_for(rec.id, inst)
                if pred is None:
                    continue
                unc = keypoint_uncertainty(pred)
                flagged = unc.uncertain & ~inst.keypoints.human & (inst.keypoints.vis > 0)
                for k in np.flatnonzero(flagged):
                    xy.append(inst.keypoints.xy[k])
                    tips.append(unc.describe(int(k), s.skeleton.keypoints))
        self.marks.set_marks(np.asarray(xy, np.float64).reshape(-1, 2), tips)

    # ---- intents ---------------------------------------------------------------------------------
    def _on_dock_keypoint(self, k: int) -> None:
        s = self.session
        if s.selected_instance is not None:
            s.select(s.selected_index, k)
        else:
            self.update_canvas_items()

    def next_uncertain(self) -> bool:
        """Go to the next image in uncertainty order (done and skipped images are passed over)."""
        s = self.session
        skip = [r.id for r in s.records if r.status in FINISHED]
        scores = self.worst
        current = None if s.current is None else s.current.id
        target = next_most_uncertain(scores, current, skip)
        if target is None:
            s.message.emit("No more uncertain images" if scores else "No predictions yet (Shift+P: all)")
            return False
        s.show_image(target)
        return True

    # ---- lifecycle -------------------------------------------------------------------------------
    def _on_model(self, _info) -> None:
        self.pending = None  # the scores stay: an image's score is replaced when it is re-predicted
        self.refresh()

    def _on_project(self) -> None:
        self._unsaved.clear()
        self._save_timer.stop()
        self.scores.clear()
        store = self.session.store
        self.worst = {} if store is None else store.uncertainties()
        self._push_scores()
        self.pending, self.shown = None, None
        self.dock.set_prediction(None, self.session.skeleton)
        self.refresh()
