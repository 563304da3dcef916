"""Row codecs of the project database: the packed keypoint blob and instance rows ↔ `Instance`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from model.annotations.edits import KeypointValue
from model.annotations.types import Instance, Keypoints, Source

# One keypoint in the blob: 22 bytes, little-endian, unaligned.
KP_DTYPE = np.dtype([("x", "<f8"), ("y", "<f8"), ("v", "i1"), ("conf", "<f4"), ("human", "u1")])



class InstanceRow(NamedTuple):
    """One row of the instances table in INSTANCE_COLUMNS order (keypoints still packed)."""

    id: int
    image_id: int
    category_id: int
    x: float
    y: float
    w: float
    h: float
    score: float
    source: str
    keypoints: bytes
    box_set: int
    track_id: int | None

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


INSTANCE_COLUMNS = ", ".join(InstanceRow._fields)
_PLACES = ", ".join("?" * len(InstanceRow._fields))
INSERT_INSTANCE = f"INSERT INTO instances ({INSTANCE_COLUMNS}) VALUES ({_PLACES})"


def encode_keypoints(kps: Keypoints) -> bytes:
    """Keypoints → blob of K × KP_DTYPE."""
    arr = np.empty(kps.num_keypoints, KP_DTYPE)
    arr["x"], arr["y"] = kps.xy[:, 0], kps.xy[:, 1]
    arr["v"], arr["conf"], arr["human"] = kps.vis, kps.confidence, kps.human
    return arr.tobytes()


def decode_array(blob: bytes) -> np.ndarray:
    """Blob → writable (K,) KP_DTYPE structured array."""
    if len(blob) % KP_DTYPE.itemsize:
        raise ValueError(f"keypoint blob of {len(blob)} bytes is not a multiple of {KP_DTYPE.itemsize}")
    return np.frombuffer(blob, KP_DTYPE).copy()


def array_to_keypoints(arr: np.ndarray) -> Keypoints:
    """(K,) KP_DTYPE → Keypoints."""
    xy = np.stack([arr["x"], arr["y"]], axis=-1)
    return Keypoints(xy, arr["v"], arr["conf"], arr["human"].astype(bool))


def decode_keypoints(blob: bytes) -> Keypoints:
    return array_to_keypoints(decode_array(blob))


def get_value(arr: np.ndarray, k: int) -> KeypointValue:
    rec = arr[k]
    return KeypointValue(
        float(rec["x"]), float(rec["y"]), int(rec["v"]), float(rec["conf"]), bool(rec["human"])
    )


def set_value(arr: np.ndarray, k: int, value: KeypointValue) -> None:
    arr[k] = (value.x, value.y, value.v, value.confidence, 1 if value.human else 0)


def row_to_instance(row: tuple) -> Instance:
    """A row of INSTANCE_COLUMNS (an InstanceRow or a plain tuple) → Instance (with instance_id)."""
    r = InstanceRow._make(row)
    return Instance(decode_keypoints(r.keypoints), r.box, r.score, Source(r.source), r.id, r.category_id,
                    bool(r.box_set), None if r.track_id is None else int(r.track_id))


def instance_params(image_id: int, inst: Instance) -> tuple:
    """Parameters for inserting inst (id may be None: SQLite assigns one) in INSTANCE_COLUMNS order."""
    x, y, w, h = (float(b) for b in inst.box)
    track = None if inst.track_id is None else int(inst.track_id)
    return (inst.instance_id, image_id, int(inst.category_id), x, y, w, h, float(inst.score),
            str(Source(inst.source)), encode_keypoints(inst.keypoints), 1 if inst.box_set else 0, track)


def same_instance(a: Instance, b: Instance) -> bool:
    """State equality (NaN confidences equal; box compared as floats)."""
    return (
        a.keypoints == b.keypoints
        and tuple(float(v) for v in a.box) == tuple(float(v) for v in b.box)
        and float(a.score) == float(b.score) and Source(a.source) == Source(b.source)
        and int(a.category_id) == int(b.category_id)
        and bool(a.box_set) == bool(b.box_set) and a.track_id == b.track_id
    )
