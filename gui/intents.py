"""What the user asks for on the canvas and keyboard, turned into core edits (mixed into Session).

Each intent builds one edit with model.annotations.edits' constructors (which record the old
state, so undo is exact) and commits it as one undo step.
"""

from __future__ import annotations

from model.annotations import edits as E
from model.annotations.boxes import keypoint_box
from model.annotations.types import Instance, Keypoints, ReviewStatus, Source


def next_missing(inst: Instance, after: int) -> int | None:
    """Index of the next keypoint with v = 0 after `after`, wrapping; None when all are labelled."""
    vis = inst.keypoints.vis
    k = len(vis)
    for i in range(1, k + 1):
        j = (after + i) % k
        if vis[j] == 0:
            return j
    return None


class IntentsMixin:
    """Intents of the annotation canvas. Expects Session's attributes (store, instances, selection)."""

    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        if self.pixels is None:
            return float(x), float(y)
        w, h = self.pixels.size
        return float(min(max(x, -0.5), w - 0.5)), float(min(max(y, -0.5), h - 0.5))

    def _image_size(self) -> tuple[int, int] | None:
        if self.pixels is not None:
            return tuple(self.pixels.size)
        rec = self.current
        if rec is not None and rec.width and rec.height:
            return (rec.width, rec.height)
        return None

    def press_keypoint(self, index: int, k: int) -> None:
        """A keypoint was pressed (start of a click or a drag): select it."""
        self.select(index, k, armed=False)

    def move_keypoint(self, index: int, k: int, x: float, y: float) -> bool:
        """A drag ended: only keypoint k of instance `index` moves; one undo step."""
        if not 0 <= index < len(self.instances):
            return False
        inst = self.instances[index]
        x, y = self._clamp(x, y)
        name = self.skeleton.keypoints[k]
        edit = E.move_keypoint(self.current.id, inst, k, x, y, image_size=self._image_size())
        ok = self.commit(edit, f"Move {name}")
        if not ok:
            self.annotations_changed.emit()
        return ok

    def place_keypoint(self, x: float, y: float) -> bool:
        """A click on the image: place the selected keypoint (a new instance if there is none)."""
        if self.store is None or self.current is None:
            return False
        x, y = self._clamp(x, y)
        inst = self.selected_instance
        k = self.selected_k
        if inst is None and self.instances:
            self.message.emit("Select an instance first (click its keypoint or its #tag)")
            return False
        if inst is None:
            return self._place_in_new_instance(0 if k is None else k, x, y)
        if k is None or (inst.keypoints.vis[k] > 0 and not self.armed):
            k = next_missing(inst, -1 if k is None else k)
            if k is None:
                self.message.emit("Every keypoint is placed: drag one to move it, or press 1–9 to pick one")
                return False
        name = self.skeleton.keypoints[k]
        edit = E.move_keypoint(self.current.id, inst, k, x, y, image_size=self._image_size())
        if not self.commit(edit, f"Place {name}"):
            return False
        self._advance(k)
        return True

    def _place_in_new_instance(self, k: int, x: float, y: float) -> bool:
        kp = Keypoints.empty(self.skeleton.num_keypoints)
        kp = E.with_keypoint(kp, k, E.KeypointValue(x, y, 2, float("nan"), True))
        box = keypoint_box(kp.xy, kp.vis, self._image_size()) or (x - 10.0, y - 10.0, 20.0, 20.0)
        inst = Instance(kp, box, 1.0, Source.HUMAN)  # the box follows the keypoints (box_set False)
        if not self.commit(E.AddInstance(self.current.id, inst), f"Place {self.skeleton.keypoints[k]}"):
            return False
        self.selected_id = self.instances[-1].instance_id
        self._advance(k)
        return True

    def _advance(self, k: int) -> None:
        inst = self.selected_instance
        nxt = None if inst is None else next_missing(inst, k)
        self.select(self.selected_index, k if nxt is None else nxt, armed=nxt is not None)

    def add_instance(self, x: float, y: float, w: float, h: float) -> bool:
        """A box was drawn: add an empty instance there and select its first keypoint."""
        if self.store is None or self.current is None:
            return False
        inst = Instance(Keypoints.empty(self.skeleton.num_keypoints), (x, y, w, h), 1.0, Source.HUMAN,
                        box_set=True)
        if not self.commit(E.AddInstance(self.current.id, inst), "Add instance"):
            return False
        self.select(len(self.instances) - 1, 0, armed=True)
        return True

    def select_keypoint(self, k: int) -> None:
        """Keys 1–9: pick keypoint k of the selected (or only) instance; the next click places it."""
        if self.skeleton is None or not 0 <= k < self.skeleton.num_keypoints:
            return
        index = self.selected_index
        if index is None and self.instances:
            index = 0
        self.select(index, k, armed=True)

    def next_instance(self) -> None:
        if self.instances:
            index = self.selected_index
            self.select(0 if index is None else (index + 1) % len(self.instances), None)

    def cycle_visibility(self) -> bool:
        """Selected keypoint: visible (2) → occluded (1) → not labelled (0)."""
        inst, k = self.selected_instance, self.selected_k
        if inst is None or k is None:
            self.message.emit("Select a keypoint first")
            return False
        v = int(inst.keypoints.vis[k])
        if v == 0:
            self.message.emit("Not labelled: click on the image to place it")
            return False
        new_v = 1 if v == 2 else 0
        name = self.skeleton.keypoints[k]
        edit = E.set_visibility(self.current.id, inst, k, new_v, self._image_size())
        return self.commit(edit, f"{name}: v={new_v}")

    def delete_keypoint(self) -> bool:
        inst, k = self.selected_instance, self.selected_k
        if inst is None or k is None or inst.keypoints.vis[k] == 0:
            self.message.emit("Select a labelled keypoint first")
            return False
        edit = E.set_visibility(self.current.id, inst, k, 0, self._image_size())
        ok = self.commit(edit, f"Clear {self.skeleton.keypoints[k]}")
        if ok:
            self.armed = True
        return ok

    def delete_instance(self) -> bool:
        inst = self.selected_instance
        if inst is None:
            self.message.emit("Select an instance first")
            return False
        return self.commit(E.remove_instance(self.current.id, inst), "Delete instance")

    def accept_prediction(self) -> bool:
        """Confirm the model's keypoints of the selected instance (all instances when none is selected)."""
        chosen = [self.selected_instance] if self.selected_instance is not None else list(self.instances)
        todo = [i for i in chosen if bool(((i.keypoints.vis > 0) & ~i.keypoints.human).any())]
        if not todo:
            self.message.emit("Nothing to accept: no predicted keypoints here")
            return False
        image_id = self.current.id
        parts = tuple(E.accept_prediction(image_id, inst) for inst in todo)
        edit = parts[0] if len(parts) == 1 else E.Batch(parts, "accept")
        return self.commit(edit, "Accept prediction")

    def mark_done(self) -> bool:
        rec = self.current
        if rec is None:
            return False
        if rec.status == ReviewStatus.DONE:
            self.message.emit("Already done")
            return False
        return self.commit(E.SetStatus(rec.id, rec.status, ReviewStatus.DONE), "Mark done", by_person=False)

    def skip_image(self) -> bool:
        rec = self.current
        if rec is None or rec.status == ReviewStatus.SKIPPED:
            return False
        edit = E.SetStatus(rec.id, rec.status, ReviewStatus.SKIPPED)
        return self.commit(edit, "Skip image", by_person=False)

    def set_box(self, index: int, box: tuple[float, float, float, float], label: str = "Resize box") -> bool:
        """A person moved or resized an instance's box (one undo step); from now on the box is theirs."""
        if not 0 <= index < len(self.instances):
            return False
        inst = self.instances[index]
        box = tuple(float(v) for v in box)
        if tuple(map(float, inst.box)) == box or box[2] <= 1.0 or box[3] <= 1.0:
            return False
        return self.commit(E.set_box(self.current.id, inst, box), label)

