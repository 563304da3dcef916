"""Undoable edits: small frozen records of one change to a project, each knowing its inverse.

An edit is pure data. `ProjectStore.apply(edit)` performs it in one committed transaction and
returns the edit *as applied* (new instance ids filled in); `store.apply(applied.inverse())`
undoes it exactly. Every edit carries the old state it replaces, so the store can refuse an
edit whose old state no longer matches the file (`StaleEditError`) instead of silently
clobbering newer work.

Use the constructor helpers (`move_keypoint`, `set_visibility`, `apply_prediction`,
`accept_prediction`, …) to build edits from the current `Instance`: they compute the old
values so the inverse is exact, and they enforce "a prediction never overwrites a keypoint a
person touched".
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from model.annotations.boxes import followed_box
from model.annotations.types import Instance, Keypoints, ReviewStatus, Source

Box = tuple[float, float, float, float]
Size = tuple[int, int] | None


class KeypointValue(NamedTuple):
    """One keypoint's full stored state: x, y image pixels, COCO v, model confidence (NaN: none), human."""

    x: float
    y: float
    v: int
    confidence: float
    human: bool

    def same_as(self, other: KeypointValue) -> bool:
        """Equality that treats NaN confidences as equal."""
        conf_eq = self.confidence == other.confidence or (
            math.isnan(self.confidence) and math.isnan(other.confidence)
        )
        return (self.x, self.y, int(self.v), bool(self.human)) == (
            other.x, other.y, int(other.v), bool(other.human)
        ) and conf_eq


def keypoint_value(kps: Keypoints, k: int) -> KeypointValue:
    """The stored state of keypoint k of `kps`."""
    return KeypointValue(
        float(kps.xy[k, 0]), float(kps.xy[k, 1]), int(kps.vis[k]),
        float(kps.confidence[k]), bool(kps.human[k]),
    )


def with_keypoint(kps: Keypoints, k: int, value: KeypointValue) -> Keypoints:
    """A copy of `kps` with keypoint k replaced by `value`."""
    xy, vis = kps.xy.copy(), kps.vis.copy()
    conf, human = kps.confidence.copy(), kps.human.copy()
    xy[k] = (value.x, value.y)
    vis[k], conf[k], human[k] = value.v, value.confidence, value.human
    return Keypoints(xy, vis, conf, human)


class Edit(ABC):
    """Base class of all edits. Subclasses are frozen dataclasses with an exact `inverse()`."""

    @abstractmethod
    def inverse(self) -> Edit:
        """The edit that undoes this one."""

    @property
    def image_ids(self) -> tuple[int, ...]:
        """Images whose state this edit changes (for views to refresh)."""
        return (self.image_id,)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SetKeypoint(Edit):
    """Replace keypoint k of one instance (position, visibility, confidence, human flag).

    old_box/new_box (both or neither): the box follows the keypoints (it was not set by a person).
    """

    image_id: int
    instance_id: int
    k: int
    old: KeypointValue
    new: KeypointValue
    old_box: Box | None = None
    new_box: Box | None = None

    def inverse(self) -> SetKeypoint:
        return replace(self, old=self.new, new=self.old, old_box=self.new_box, new_box=self.old_box)


@dataclass(frozen=True)
class SetBox(Edit):
    """Replace an instance's box [x, y, w, h]; new_set: the box is a person's from now on."""

    image_id: int
    instance_id: int
    old: Box
    new: Box
    old_set: bool = False
    new_set: bool = True

    def inverse(self) -> SetBox:
        return replace(self, old=self.new, new=self.old, old_set=self.new_set, new_set=self.old_set)


@dataclass(frozen=True)
class SetTrack(Edit):
    """Change an instance's track (identity through a sequence; None: no track)."""

    image_id: int
    instance_id: int
    old: int | None
    new: int | None

    def inverse(self) -> SetTrack:
        return replace(self, old=self.new, new=self.old)


@dataclass(frozen=True)
class SetStatus(Edit):
    """Change an image's review status."""

    image_id: int
    old: ReviewStatus
    new: ReviewStatus

    def inverse(self) -> SetStatus:
        return replace(self, old=self.new, new=self.old)


@dataclass(frozen=True)
class AddInstance(Edit):
    """Add an instance. With instance.instance_id None the store assigns an id (see `apply`)."""

    image_id: int
    instance: Instance

    def inverse(self) -> RemoveInstance:
        if self.instance.instance_id is None:
            raise ValueError("AddInstance has no instance_id yet: invert the edit returned by store.apply")
        return RemoveInstance(self.image_id, self.instance)


@dataclass(frozen=True)
class RemoveInstance(Edit):
    """Remove an instance; carries its full state so the inverse restores it with the same id."""

    image_id: int
    instance: Instance

    def inverse(self) -> AddInstance:
        return AddInstance(self.image_id, self.instance)


@dataclass(frozen=True)
class UpdateInstance(Edit):
    """Replace an instance's keypoints, box, score and source at once (same instance_id)."""

    image_id: int
    old: Instance
    new: Instance

    def __post_init__(self) -> None:
        if self.old.instance_id is None or self.old.instance_id != self.new.instance_id:
            raise ValueError("UpdateInstance needs old and new with the same, known instance_id")

    @property
    def instance_id(self) -> int:
        return int(self.old.instance_id)  # type: ignore[arg-type]

    def inverse(self) -> UpdateInstance:
        """Same class with old and new swapped (so inverse().inverse() == self)."""
        return replace(self, old=self.new, new=self.old)


@dataclass(frozen=True)
class ApplyPrediction(UpdateInstance):
    """A prediction written into an existing instance (only keypoints no person touched change)."""


@dataclass(frozen=True)
class AcceptPrediction(UpdateInstance):
    """The user confirms the model's keypoints: they become human values."""


@dataclass(frozen=True)
class Batch(Edit):
    """Several edits applied (and undone) as one transaction and one undo step."""

    edits: tuple[Edit, ...]
    label: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "edits", tuple(self.edits))

    def inverse(self) -> Batch:
        return Batch(tuple(e.inverse() for e in reversed(self.edits)), self.label)

    @property
    def image_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(i for e in self.edits for i in e.image_ids))


# ---- constructors that compute old state from the current instance ---------------------------

def move_keypoint(
    image_id: int, inst: Instance, k: int, x: float, y: float, v: int | None = None,
    image_size: Size = None,
) -> SetKeypoint:
    """A person places keypoint k at (x, y); v defaults to 2 unless it was already 1 (occluded).

    The box follows the keypoints unless a person set it (image_size (w, h) clips it)."""
    old = keypoint_value(inst.keypoints, k)
    if v is None:
        v = 1 if old.v == 1 else 2
    new = KeypointValue(float(x), float(y), int(v), math.nan, True)
    return _with_box(SetKeypoint(image_id, _iid(inst), k, old, new), inst, image_size)


def relocate_keypoint(image_id: int, inst: Instance, k: int, x: float, y: float, confidence: float,
                      image_size: Size = None) -> SetKeypoint:
    """Keypoint k moves to (x, y) with its human flag unchanged (Tab through heatmap maxima): a
    prediction stays a prediction with the maximum's `confidence`, a person's keypoint stays theirs.
    v stays 1 or 2 (0 becomes 2)."""
    old = keypoint_value(inst.keypoints, k)
    conf = old.confidence if old.human else float(confidence)
    new = KeypointValue(float(x), float(y), old.v or 2, conf, old.human)
    return _with_box(SetKeypoint(image_id, _iid(inst), k, old, new), inst, image_size)


def set_visibility(image_id: int, inst: Instance, k: int, v: int, image_size: Size = None) -> SetKeypoint:
    """A person sets keypoint k's visibility (0 clears it to x = y = 0); the value becomes human."""
    if v not in (0, 1, 2):
        raise ValueError(f"visibility must be 0, 1 or 2, got {v!r}")
    old = keypoint_value(inst.keypoints, k)
    x, y = (0.0, 0.0) if v == 0 else (old.x, old.y)
    edit = SetKeypoint(image_id, _iid(inst), k, old, KeypointValue(x, y, int(v), old.confidence, True))
    return _with_box(edit, inst, image_size)


def _with_box(edit: SetKeypoint, inst: Instance, image_size: Size) -> SetKeypoint:
    """edit carrying the box change the keypoint change causes (none for a person's box)."""
    kps = with_keypoint(inst.keypoints, edit.k, edit.new)
    box = followed_box(inst.box, inst.box_set, kps.xy, kps.vis, image_size)
    if box == _box(inst.box):
        return edit
    return replace(edit, old_box=_box(inst.box), new_box=box)


def set_box(image_id: int, inst: Instance, box: Box) -> SetBox:
    """A person sets inst's box (drawn, moved or resized): from now on it is theirs."""
    return SetBox(image_id, _iid(inst), _box(inst.box), _box(box), bool(inst.box_set), True)


def set_track(image_id: int, inst: Instance, track_id: int | None) -> SetTrack:
    """Give inst the track `track_id` (None: no track)."""
    return SetTrack(image_id, _iid(inst), inst.track_id, None if track_id is None else int(track_id))


def remove_instance(image_id: int, inst: Instance) -> RemoveInstance:
    _iid(inst)
    return RemoveInstance(image_id, inst)


def accept_prediction(image_id: int, inst: Instance) -> AcceptPrediction:
    """Mark every labelled model keypoint (v > 0) of inst as human-confirmed; source becomes human."""
    human = inst.keypoints.human | (inst.keypoints.vis > 0)
    kps = Keypoints(inst.keypoints.xy, inst.keypoints.vis, inst.keypoints.confidence, human)
    return AcceptPrediction(image_id, inst, replace(inst, keypoints=kps, source=Source.HUMAN))


def merge_prediction(current: Keypoints | None, xy: np.ndarray, confidence: np.ndarray,
                     vis: np.ndarray | None = None) -> Keypoints:
    """Keypoints after writing a prediction: xy (K, 2), confidence (K,) float32, vis (K,) (default 2).

    Keypoints a person set (current.human) keep their value; all others take the prediction
    with human = False.
    """
    xy = np.asarray(xy, np.float64)
    conf = np.asarray(confidence, np.float32)
    k = xy.shape[0]
    vis = np.full(k, 2, np.int8) if vis is None else np.asarray(vis, np.int8)
    if current is None:
        return Keypoints(xy, vis, conf, np.zeros(k, bool))
    if current.num_keypoints != k:
        raise ValueError(f"prediction has {k} keypoints, instance has {current.num_keypoints}")
    keep = current.human
    return Keypoints(
        np.where(keep[:, None], current.xy, xy), np.where(keep, current.vis, vis),
        np.where(keep, current.confidence, conf), keep.copy(),
    )


def apply_prediction(image_id: int, current: Instance | None, xy: np.ndarray, confidence: np.ndarray,
                     box: Box, score: float, vis: np.ndarray | None = None) -> Edit:
    """The edit that writes a prediction into `current` (or adds a new model instance if None).

    Human keypoints are never overwritten; a box that a person set (box_set) is kept, any other
    box follows the merged keypoints (the prediction's box when none is labelled).
    Returns ApplyPrediction, or AddInstance when current is None.
    """
    kps = merge_prediction(None if current is None else current.keypoints, xy, confidence, vis)
    if current is None:
        new_box = followed_box(box, False, kps.xy, kps.vis)
        return AddInstance(image_id, Instance(kps, new_box, float(score), Source.MODEL))
    old_box = current.box if current.box_set else box
    new_box = followed_box(old_box, current.box_set, kps.xy, kps.vis)
    new = replace(current, keypoints=kps, box=new_box, score=float(score))
    return ApplyPrediction(image_id, current, new)


def _iid(inst: Instance) -> int:
    if inst.instance_id is None:
        raise ValueError("the instance has no instance_id: take it from store.instances()")
    return int(inst.instance_id)


def _box(box) -> Box:
    x, y, w, h = (float(b) for b in box)
    return (x, y, w, h)
