"""Tracks in a project: which images form a sequence, tracking one, and the two identity corrections.

A sequence is a video's frames ("clip.mp4#000012", model.io.frames) or the images of one folder
(numbered frames), in the project's natural order. Every change is one undoable Batch of SetTrack
edits (one undo step): `track_sequence` (match all frames), `swap_from_here` (tracks a ↔ b on this
frame and every later one), `assign_track` ("this is track N": the instance takes N on this frame;
an instance of the frame that had N takes its old track).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

import numpy as np

from model.annotations.edits import Batch, SetTrack, set_track
from model.annotations.types import Instance
from model.io.frames import parse_frame_ref
from model.project.store import ImageRecord, ProjectStore
from model.tracks.assign import Detection, assign_tracks


def sequence_key(path: str) -> str:
    """The sequence an image belongs to: its video for a frame reference, else its folder."""
    ref = parse_frame_ref(path)
    return str(ref[0]) if ref is not None else str(PurePosixPath(path).parent)


def sequence_of(store: ProjectStore, image_id: int) -> list[ImageRecord]:
    """The images of image_id's sequence, in order."""
    key = sequence_key(store.image(image_id).path)
    return [r for r in store.images() if sequence_key(r.path) == key]


def detection(inst: Instance) -> Detection:
    kps = inst.keypoints
    return Detection(np.asarray(kps.xy), np.asarray(kps.vis), np.asarray(inst.box, np.float64))


def _batch(edits: Iterable[SetTrack], label: str) -> Batch | None:
    edits = tuple(e for e in edits if e.old != e.new)
    return Batch(edits, label) if edits else None


def track_sequence(store: ProjectStore, image_id: int) -> Batch | None:
    """The edit giving every instance of image_id's sequence a track (None when nothing changes)."""
    records = sequence_of(store, image_id)
    frames = [store.instances(r.id) for r in records]
    ids = assign_tracks([[detection(i) for i in insts] for insts in frames], store.skeleton.sigmas)
    edits = (set_track(r.id, inst, t) for r, insts, tids in zip(records, frames, ids, strict=True)
             for inst, t in zip(insts, tids, strict=True))
    return _batch(edits, "track identities")


def swap_from_here(store: ProjectStore, image_id: int, a: int, b: int) -> Batch | None:
    """Tracks a and b exchange identities on image_id and every later frame of its sequence."""
    records = sequence_of(store, image_id)
    start = next(i for i, r in enumerate(records) if r.id == image_id)
    swap = {a: b, b: a}
    edits = (set_track(r.id, inst, swap[inst.track_id]) for r in records[start:]
             for inst in store.instances(r.id) if inst.track_id in swap)
    return _batch(edits, f"swap tracks {a} and {b} from here on")


def assign_track(store: ProjectStore, image_id: int, instance_id: int, track: int) -> Batch | None:
    """"This is track N": the instance gets `track`; the frame's instance that had it gets the old one."""
    insts = store.instances(image_id)
    target = next(i for i in insts if i.instance_id == instance_id)
    edits = [set_track(image_id, target, track)]
    edits += [set_track(image_id, i, target.track_id) for i in insts
              if i.instance_id != instance_id and i.track_id == track]
    return _batch(edits, f"this is track {track}")


def next_track_id(store: ProjectStore, image_id: int) -> int:
    """One more than the highest track id in image_id's sequence (1 when it has none)."""
    ids = [i.track_id for r in sequence_of(store, image_id) for i in store.instances(r.id)
           if i.track_id is not None]
    return max(ids, default=0) + 1
