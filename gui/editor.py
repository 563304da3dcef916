"""Every edit a person makes on the current image: place, drag, box, visibility, accept, Tab, swap, status.

Each intent builds one edit with model.annotations.edits' constructors (which record the old state,
so undo is exact) and commits it through the Session as one undo step. Points are clamped onto the
image (pixel centres at integers: x in [-0.5, w - 0.5]) in one place, `Editor._clamp`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import SignalInstance

from gui.workers.image_loader import LoadedImage
from model.annotations import edits as E
from model.annotations.boxes import keypoint_box
from model.annotations.review import ReviewPolicy
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, Prediction, ReviewStatus, Source
from model.inspect.correction import (
    cell_size_px,
    flip_partner,
    maxima_candidates,
    next_candidate,
    swap_keypoints,
)
from model.project.store import ImageRecord, ProjectStore


def next_missing(inst: Instance, after: int) -> int | None:
    """Index of the next keypoint with v = 0 after `after`, wrapping; None when all are labelled."""
    vis = inst.keypoints.vis
    k = len(vis)
    for i in range(1, k + 1):
        j = (after + i) % k
        if vis[j] == 0:
            return j
    return None


class EditorHost(Protocol):
    """What the editor needs from its session: the current image, its instances, the selection."""

    store: ProjectStore | None
    instances: list[Instance]
    pixels: LoadedImage | None
    selected_id: int | None
    selected_k: int | None
    armed: bool
    message: SignalInstance
    annotations_changed: SignalInstance

    @property
    def skeleton(self) -> Skeleton | None: ...
    @property
    def current(self) -> ImageRecord | None: ...
    @property
    def selected_index(self) -> int | None: ...
    @property
    def selected_instance(self) -> Instance | None: ...
    def select(self, index: int | None, k: int | None = None, armed: bool = False) -> None: ...
    def commit(self, edit: E.Edit, text: str, by_person: bool = True) -> bool: ...
    def prediction_for(self, image_id: int, inst: Instance) -> Prediction | None: ...


class Editor:
    """Every edit a person makes on the current image; owned by the Session (its `host`)."""

    def __init__(self, host: EditorHost) -> None:
        self.host = host
        self._confirm_for: int | None = None  # image whose flagged keypoints were named by Space
        self._last_xy: dict[tuple[int | None, int], tuple[float, float]] = {}  # (instance id, k) → x, y

    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        """(x, y) pulled onto the image ([-0.5, w - 0.5]) when its size is known."""
        size = self._image_size()
        if size is None:
            return float(x), float(y)
        w, h = size
        return float(min(max(x, -0.5), w - 0.5)), float(min(max(y, -0.5), h - 0.5))

    def _image_size(self) -> tuple[int, int] | None:
        h = self.host
        if h.pixels is not None:
            return tuple(h.pixels.size)
        rec = h.current
        if rec is not None and rec.width and rec.height:
            return (rec.width, rec.height)
        return None

    def press_keypoint(self, index: int, k: int) -> None:
        """A keypoint was pressed (start of a click or a drag): select it."""
        self.host.select(index, k, armed=False)

    def move_keypoint(self, index: int, k: int, x: float, y: float) -> bool:
        """A drag ended: only keypoint k of instance `index` moves; one undo step."""
        if not 0 <= index < len(self.host.instances):
            return False
        inst = self.host.instances[index]
        x, y = self._clamp(x, y)
        name = self.host.skeleton.keypoints[k]
        edit = E.move_keypoint(self.host.current.id, inst, k, x, y, image_size=self._image_size())
        ok = self.host.commit(edit, f"Move {name}")
        if not ok:
            self.host.annotations_changed.emit()
        return ok

    def place_keypoint(self, x: float, y: float) -> bool:
        """A click on the image: place the selected keypoint (a new instance if there is none)."""
        if self.host.store is None or self.host.current is None:
            return False
        x, y = self._clamp(x, y)
        inst = self.host.selected_instance
        k = self.host.selected_k
        if inst is None and self.host.instances:
            self.host.message.emit("Select an instance first (click its keypoint or its #tag)")
            return False
        if inst is None:
            return self._place_in_new_instance(0 if k is None else k, x, y)
        if k is None or (inst.keypoints.vis[k] > 0 and not self.host.armed):
            k = next_missing(inst, -1 if k is None else k)
            if k is None:
                self.host.message.emit(
                    "Every keypoint is placed: drag one to move it, or press 1–9 to pick one")
                return False
        name = self.host.skeleton.keypoints[k]
        edit = E.move_keypoint(self.host.current.id, inst, k, x, y, image_size=self._image_size())
        if not self.host.commit(edit, f"Place {name}"):
            return False
        self._advance(k)
        return True

    def _place_in_new_instance(self, k: int, x: float, y: float) -> bool:
        kp = Keypoints.empty(self.host.skeleton.num_keypoints)
        kp = E.with_keypoint(kp, k, E.KeypointValue(x, y, 2, float("nan"), True))
        box = keypoint_box(kp.xy, kp.vis, self._image_size()) or (x - 10.0, y - 10.0, 20.0, 20.0)
        inst = Instance(kp, box, 1.0, Source.HUMAN)  # the box follows the keypoints (box_set False)
        text = f"Place {self.host.skeleton.keypoints[k]}"
        if not self.host.commit(E.AddInstance(self.host.current.id, inst), text):
            return False
        self.host.selected_id = self.host.instances[-1].instance_id
        self._advance(k)
        return True

    def _advance(self, k: int) -> None:
        inst = self.host.selected_instance
        nxt = None if inst is None else next_missing(inst, k)
        self.host.select(self.host.selected_index, k if nxt is None else nxt, armed=nxt is not None)

    def add_instance(self, x: float, y: float, w: float, h: float) -> bool:
        """A box was drawn: add an empty instance there and select its first keypoint."""
        if self.host.store is None or self.host.current is None:
            return False
        inst = Instance(Keypoints.empty(self.host.skeleton.num_keypoints), (x, y, w, h), 1.0, Source.HUMAN,
                        box_set=True)
        if not self.host.commit(E.AddInstance(self.host.current.id, inst), "Add instance"):
            return False
        self.host.select(len(self.host.instances) - 1, 0, armed=True)
        return True

    def select_keypoint(self, k: int) -> None:
        """Keys 1–9: pick keypoint k of the selected (or only) instance; the next click places it."""
        if self.host.skeleton is None or not 0 <= k < self.host.skeleton.num_keypoints:
            return
        index = self.host.selected_index
        if index is None and self.host.instances:
            index = 0
        self.host.select(index, k, armed=True)

    def next_instance(self) -> None:
        if self.host.instances:
            index = self.host.selected_index
            self.host.select(0 if index is None else (index + 1) % len(self.host.instances), None)

    def cycle_visibility(self) -> bool:
        """Selected keypoint: visible (2) → occluded (1) → not labelled (0) → visible (2).

        0 → 2 puts it back where it was last (before this session cleared it, else where the model
        put it); with no known spot it asks for a click (the next click places it)."""
        h = self.host
        inst, k = h.selected_instance, h.selected_k
        if inst is None or k is None:
            h.message.emit("Select a keypoint first")
            return False
        name = h.skeleton.keypoints[k]
        v = int(inst.keypoints.vis[k])
        if v == 0:
            spot = self._last_spot(inst, k)
            if spot is None:
                h.armed = True
                h.message.emit(f"{name} is not labelled and has no known spot: click to place it")
                return False
            x, y = self._clamp(*spot)
            edit = E.move_keypoint(h.current.id, inst, k, x, y, v=2, image_size=self._image_size())
            return h.commit(edit, f"{name}: v=2")
        new_v = 1 if v == 2 else 0
        if new_v == 0:
            self._remember(inst, k)
        edit = E.set_visibility(h.current.id, inst, k, new_v, self._image_size())
        return h.commit(edit, f"{name}: v={new_v}")

    def _remember(self, inst: Instance, k: int) -> None:
        """Keep where keypoint k of inst was before it is cleared (for V's 0 → 2)."""
        x, y = inst.keypoints.xy[k]
        self._last_xy[(inst.instance_id, k)] = (float(x), float(y))

    def _last_spot(self, inst: Instance, k: int) -> tuple[float, float] | None:
        spot = self._last_xy.get((inst.instance_id, k))
        if spot is not None:
            return spot
        pred = self.host.prediction_for(self.host.current.id, inst)
        if pred is not None and pred.keypoints.shape[0] > k:
            x, y = pred.keypoints[k]
            return float(x), float(y)
        return None

    def delete_keypoint(self) -> bool:
        inst, k = self.host.selected_instance, self.host.selected_k
        if inst is None or k is None or inst.keypoints.vis[k] == 0:
            self.host.message.emit("Select a labelled keypoint first")
            return False
        self._remember(inst, k)
        edit = E.set_visibility(self.host.current.id, inst, k, 0, self._image_size())
        ok = self.host.commit(edit, f"Clear {self.host.skeleton.keypoints[k]}")
        if ok:
            self.host.armed = True
        return ok

    def delete_instance(self) -> bool:
        inst = self.host.selected_instance
        if inst is None:
            self.host.message.emit("Select an instance first")
            return False
        return self.host.commit(E.remove_instance(self.host.current.id, inst), "Delete instance")

    def accept_prediction(self) -> bool:
        """Confirm the model's keypoints of the selected instance (all instances when none is selected)."""
        selected = self.host.selected_instance
        chosen = [selected] if selected is not None else list(self.host.instances)
        todo = [i for i in chosen if bool(((i.keypoints.vis > 0) & ~i.keypoints.human).any())]
        if not todo:
            self.host.message.emit("Nothing to accept: no predicted keypoints here")
            return False
        image_id = self.host.current.id
        parts = tuple(E.accept_prediction(image_id, inst) for inst in todo)
        edit = parts[0] if len(parts) == 1 else E.Batch(parts, "accept")
        return self.host.commit(edit, "Accept prediction")

    def mark_done(self) -> bool:
        """Mark the image done. While model keypoints are still flagged (under the review threshold, or
        suggested absent) the first press only names them; pressing it again confirms them all."""
        rec = self.host.current
        if rec is None:
            return False
        if rec.status == ReviewStatus.DONE:
            self.host.message.emit("Already done")
            return False
        names = self.unconfirmed_names()
        if names and self._confirm_for != rec.id:
            self._confirm_for = rec.id
            self.host.message.emit(f"Still flagged: {', '.join(names)}. Press Space again to confirm them "
                                   "all, or fix them first")
            return False
        self._confirm_for = None
        edit = E.SetStatus(rec.id, rec.status, ReviewStatus.DONE)
        return self.host.commit(edit, "Mark done", by_person=False)

    def unconfirmed_names(self) -> list[str]:
        """'#2 snout (absent?)'-style names of the current image's flagged model keypoints."""
        policy = getattr(self.host, "review", None) or ReviewPolicy()
        skeleton = self.host.skeleton
        names: list[str] = []
        for n, inst in enumerate(self.host.instances):
            kp = inst.keypoints
            for k in np.flatnonzero(policy.unconfirmed(kp)):
                name = skeleton.keypoints[k] if skeleton is not None else str(k)
                tag = f"#{n + 1} " if len(self.host.instances) > 1 else ""
                names.append(f"{tag}{name}{' (absent?)' if kp.vis[k] == 0 else ''}")
        return names

    def skip_image(self) -> bool:
        rec = self.host.current
        if rec is None or rec.status == ReviewStatus.SKIPPED:
            return False
        edit = E.SetStatus(rec.id, rec.status, ReviewStatus.SKIPPED)
        return self.host.commit(edit, "Skip image", by_person=False)

    def set_box(self, index: int, box: tuple[float, float, float, float], label: str = "Resize box") -> bool:
        """A person moved or resized an instance's box (one undo step); from now on the box is theirs."""
        if not 0 <= index < len(self.host.instances):
            return False
        inst = self.host.instances[index]
        box = tuple(float(v) for v in box)
        if tuple(map(float, inst.box)) == box or box[2] <= 1.0 or box[3] <= 1.0:
            return False
        return self.host.commit(E.set_box(self.host.current.id, inst, box), label)

    def tab_maximum(self, step: int = 1) -> bool:
        """Move the selected keypoint to the next (step 1) / previous (-1) local maximum of its heatmap."""
        h = self.host
        chosen = self._selected_with_prediction()
        if chosen is None:
            return False
        inst, k, pred = chosen
        points, values = maxima_candidates(pred, k)
        here = inst.keypoints.xy[k] if inst.keypoints.vis[k] > 0 else (float("inf"), float("inf"))
        tolerance = 0.75 * cell_size_px(pred.heatmap_to_image)
        i = next_candidate(points, here, tolerance, step)
        name = h.skeleton.keypoints[k]
        if len(points) == 1 and float(np.hypot(*(points[0] - np.asarray(here, np.float64)))) <= tolerance:
            h.message.emit(f"{name}: its heatmap has no other maximum; it stays as it is")
            return False
        x, y = self._clamp(*points[i])  # a maximum outside the image is pulled onto its border
        # the confirmed state never changes by itself: a prediction moved by Tab is still a prediction
        edit = E.relocate_keypoint(h.current.id, inst, k, x, y, float(values[i]), self._image_size())
        ok = h.commit(edit, f"{name} to maximum {i + 1}")
        if ok:
            h.message.emit(f"{name}: maximum {i + 1} of {len(points)} (value {values[i]:.2f})")
        return ok

    def _selected_with_prediction(self) -> tuple[Instance, int, Prediction] | None:
        h = self.host
        inst, k = h.selected_instance, h.selected_k
        if inst is None or k is None:
            h.message.emit("Select a keypoint first")
            return None
        pred = h.prediction_for(h.current.id, inst)
        if pred is None:
            h.message.emit("No heatmaps for this instance yet (predict it with P)")
            return None
        return inst, k, pred

    def swap_flip(self) -> bool:
        """Swap the selected keypoint with its left/right partner (one undo step)."""
        h = self.host
        inst, k = h.selected_instance, h.selected_k
        if inst is None or k is None:
            h.message.emit("Select a keypoint first")
            return False
        partner = flip_partner(h.skeleton, k)
        if partner is None:
            h.message.emit(f"{h.skeleton.keypoints[k]} has no left/right partner")
            return False
        names = h.skeleton.keypoints
        return h.commit(swap_keypoints(h.current.id, inst, k, partner), f"Swap {names[k]} ↔ {names[partner]}")
