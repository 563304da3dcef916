"""VideoController: the timeline of the current video, frame stepping, play/pause, picked frames,
Pick Frames, copy-previous. Composed into the window (no mixin); the state lives in the session and
the store, this class only maps frame indices ↔ image ids and drives the Timeline view."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from gui.views.timeline import DONE, IN_REVIEW, MISSING, PREDICTED, SKIPPED, UNLABELLED, Timeline
from model.annotations.edits import AddInstance, Batch
from model.annotations.types import ReviewStatus, Source
from model.io.frames import frame_ref, parse_frame_ref
from model.io.video import VIDEO_SUFFIXES, is_video_path

log = logging.getLogger(__name__)

STATE_OF = {ReviewStatus.UNLABELLED: UNLABELLED, ReviewStatus.PREDICTED: PREDICTED,
            ReviewStatus.IN_REVIEW: IN_REVIEW, ReviewStatus.DONE: DONE, ReviewStatus.SKIPPED: SKIPPED}


class VideoController(QObject):
    """Frames of the video whose frame is shown; hidden when the current image is not a video frame."""

    video_changed = Signal(str)  # relative path of the video now on the timeline ("" = none)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window, self.session = window, window.session
        self.timeline = Timeline()
        self.timeline.hide()
        self.video = None  # VideoRecord
        self.frame_ids: list[int | None] = []
        self.index_of: dict[int, int] = {}  # image id → frame index (current video)
        self.picked: set[int] = set()
        self.pending: Path | None = None  # a video being opened: show its first frame when it is open
        self.pick_dialog = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._refresh_timer = QTimer(self, singleShot=True, interval=150)
        self._refresh_timer.timeout.connect(self.refresh_strip)
        s = self.session
        s.project_changed.connect(self._on_project)
        s.image_changed.connect(self._on_image)
        s.record_changed.connect(lambda _r: self._refresh_timer.start())
        self.timeline.frame_requested.connect(self.show_frame)
        self.timeline.play_toggled.connect(self.set_playing)

    def handlers(self) -> dict:
        """The window's action handlers this controller implements (ids from gui.actions)."""
        return {
            "open_video": self.choose_video, "open_demo_video": self.open_demo_video,
            "copy_previous": self.copy_previous,
            "frame_forward": lambda: self.step_frames(1), "frame_back": lambda: self.step_frames(-1),
            "frame_forward_10": lambda: self.step_frames(10), "frame_back_10": lambda: self.step_frames(-10),
            "next_picked": lambda: self.next_picked(1), "previous_picked": lambda: self.next_picked(-1),
            "play_pause": self.toggle_play, "pick_frames": self.pick_frames_dialog,
        }

    # ---- opening -------------------------------------------------------------------------------
    def choose_video(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        kinds = "Videos (" + " ".join(f"*{s}" for s in VIDEO_SUFFIXES) + ");;All files (*)"
        path, _ = QFileDialog.getOpenFileName(self.window, "Open video", "", kinds)
        if path:
            self.open_video(path)

    def open_video(self, path: str | Path, skeleton=None, checkpoint: str | None = None) -> bool:
        """Open the video's folder as the project (the video registered, every frame an image) and
        show its first frame; a missing or unsupported file gets one message naming it."""
        path = Path(path).resolve()
        if not path.is_file():
            self.window._open_failed(f"{path}: no such video file")
            return False
        if not is_video_path(path):
            self.window._open_failed(f"{path}: not a video (mp4, avi, mov, mkv, m4v, webm)")
            return False
        return self.window.open_folder(path.parent, skeleton, checkpoint, video=path)

    def open_demo_video(self) -> bool:
        from gui.app import demo_skeleton, demo_video
        from model.assets import DemoMissingError, demo_dir

        try:
            return self.open_video(demo_video(), demo_skeleton(), str(demo_dir() / "checkpoint.pt"))
        except DemoMissingError as exc:
            self.window._open_failed(str(exc))
            return False

    def opened(self) -> None:
        """The window opened a project: show the first frame of the video it was opened for."""
        video, self.pending = self.pending, None
        store = self.session.store
        if video is None or store is None:
            return
        image_id = store.image_id(frame_ref(Path(video).relative_to(store.image_root).as_posix(), 0))
        if image_id is not None:
            self.session.show_image(image_id)

    # ---- which video ---------------------------------------------------------------------------
    def _on_project(self) -> None:
        self.set_playing(False)
        self.video, self.frame_ids, self.index_of = None, [], {}
        store = self.session.store
        self.picked = set(store.picked()) if store is not None else set()
        self.window.inspector.list_proxy.set_picked(self.picked)
        self.timeline.hide()

    def _on_image(self, image_id: int) -> None:
        rec = self.session.current
        ref = parse_frame_ref(rec.path) if rec is not None else None
        if ref is None:
            self.set_playing(False)
            self.timeline.hide()
            return
        video_path = ref[0].as_posix()
        if self.video is None or self.video.path != video_path:
            self._load_video(video_path)
        self.timeline.show()
        self.timeline.set_current(ref[1])

    def _load_video(self, rel: str) -> None:
        store = self.session.store
        self.video = next((v for v in store.videos() if v.path == rel), None)
        count = self.video.frame_count if self.video else 0
        self.frame_ids = [None] * count
        self.index_of = {}
        for rec in self.session.records:
            ref = parse_frame_ref(rec.path)
            if ref is not None and ref[0].as_posix() == rel and ref[1] < count:
                self.frame_ids[ref[1]] = rec.id
                self.index_of[rec.id] = ref[1]
        self.timeline.set_video(rel, count, self.video.fps if self.video else 0.0)
        self.refresh_strip()
        self.video_changed.emit(rel)

    def refresh_strip(self) -> None:
        """Recolour the strip from the records' statuses, the uncertainty scores and the picks."""
        n = len(self.frame_ids)
        if not n:
            return
        states = np.full(n, MISSING, np.uint8)
        uncertain, picked = np.zeros(n, bool), np.zeros(n, bool)
        scores = self.window.inspector.worst
        for rec in self.session.records:
            k = self.index_of.get(rec.id)
            if k is None:
                continue
            states[k] = MISSING if rec.missing else STATE_OF.get(rec.status, UNLABELLED)
            score = scores.get(rec.id)
            uncertain[k] = score is not None and score > 1.0
            picked[k] = rec.id in self.picked
        self.timeline.set_states(states, uncertain, picked)

    # ---- navigation ----------------------------------------------------------------------------
    @property
    def current_index(self) -> int | None:
        rec = self.session.current
        return None if rec is None else self.index_of.get(rec.id)

    def show_frame(self, index: int) -> bool:
        if not self.frame_ids:
            return False
        index = int(min(max(index, 0), len(self.frame_ids) - 1))
        image_id = self.frame_ids[index]
        if image_id is None:
            return False
        self.session.show_image(image_id)
        return True

    def step_frames(self, delta: int) -> bool:
        """±delta frames on the current video (clamped to its ends)."""
        k = self.current_index
        return k is not None and k + delta != k and self.show_frame(k + delta)

    def next_picked(self, direction: int = 1) -> bool:
        """The next (or previous) picked frame of this video."""
        k = self.current_index
        if k is None:
            return False
        frames = sorted(self.index_of[i] for i in self.picked if i in self.index_of)
        later = [f for f in frames if (f > k if direction > 0 else f < k)]
        if not later:
            self.session.message.emit("No more picked frames (Video → Pick Frames…)")
            return False
        return self.show_frame(later[0] if direction > 0 else later[-1])

    # ---- play ----------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        self.set_playing(not self.timer.isActive())

    def set_playing(self, on: bool) -> None:
        if on and self.video is not None and self.current_index is not None:
            self.timer.start(max(10, int(round(1000.0 / (self.video.fps or 30.0)))))
        else:
            self.timer.stop()
        self.timeline.set_playing(self.timer.isActive())

    def _tick(self) -> None:
        k = self.current_index
        if k is None or k + 1 >= len(self.frame_ids) or not self.show_frame(k + 1):
            self.set_playing(False)

    # ---- picks and labelling help --------------------------------------------------------------
    def pick_frames_dialog(self):
        from gui.dialogs.pick_frames import PickFramesDialog

        if self.video is None:
            self.session.message.emit("Pick Frames: open a video first (File → Open Video)")
            return None
        self.pick_dialog = PickFramesDialog(self, self.window)
        self.pick_dialog.picked.connect(self._picked)
        self.pick_dialog.open()
        return self.pick_dialog

    def _picked(self, frames: list) -> None:
        new = self.set_picked(frames)
        self.session.message.emit(f"Picked {len(frames)} frame(s), {new} new; ] jumps to the next one")

    def set_picked(self, frame_indices: list[int]) -> int:
        """Mark frames of this video picked (adds; never removes labels). Returns how many are new."""
        ids = [self.frame_ids[k] for k in frame_indices if 0 <= k < len(self.frame_ids)]
        ids = [i for i in ids if i is not None]
        new = [i for i in ids if i not in self.picked]
        self.session.store.set_picked(new)
        self.picked.update(new)
        self.window.inspector.list_proxy.set_picked(self.picked)
        self.refresh_strip()
        return len(new)

    def copy_previous(self) -> bool:
        """Copy the instances of the nearest earlier labelled frame into this frame (one undo step)."""
        s, k = self.session, self.current_index
        if k is None or s.store is None:
            s.message.emit("Copy previous frame: the current image is not a video frame")
            return False
        for j in range(k - 1, -1, -1):
            image_id = self.frame_ids[j]
            if image_id is None:
                continue
            found = [inst for inst in s.store.instances(image_id) if inst.source == Source.HUMAN
                     or inst.keypoints.human.any()]
            if found:
                here = self.frame_ids[k]
                edits = [AddInstance(here, _as_human_copy(inst)) for inst in found]
                return s.commit(Batch(tuple(edits)), f"Copy {len(edits)} instance(s) from frame {j}")
        s.message.emit("No earlier labelled frame to copy from")
        return False


def _as_human_copy(inst):
    """A new instance (no id) with the same box and keypoints, as a person's starting point."""
    import dataclasses

    return dataclasses.replace(inst, instance_id=None, source=Source.HUMAN)


def with_timeline(canvas, timeline):
    """The central widget: the canvas with the timeline under it."""
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(canvas, 1)
    layout.addWidget(timeline)
    return box
