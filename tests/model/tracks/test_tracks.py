"""Tracks: Hungarian matching keeps two crossing animals apart where nearest-box matching swaps them;
tracking a folder of numbered frames, 'swap identities from here on' and 'this is track N' are one
undoable edit each."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model.annotations import edits as E
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints
from model.project.store import ProjectStore
from model.tracks.assign import Detection, assign_tracks, identity_switches, nearest_box_tracks
from model.tracks.project import assign_track, next_track_id, sequence_key, swap_from_here, track_sequence

SIGMAS = np.full(3, 0.08)
SK = Skeleton("m", ("snout", "neck", "tail"), sigmas=(0.08, 0.08, 0.08))


def _animal(x: float, y: float, heading: float) -> Detection:
    """Three keypoints along the heading (+1 right, -1 left) around (x, y); a 60 × 30 box."""
    xy = np.array([[x + 25 * heading, y], [x, y], [x - 25 * heading, y]])
    return Detection(xy, np.full(3, 2, np.int8), np.array([x - 30, y - 15, 60.0, 30.0]))


def _crossing(frames: int = 20, speed: float = 12.0) -> list[list[Detection]]:
    """Animal 0 walks right, animal 1 left, on one line; they pass each other between two frames."""
    out = []
    for f in range(frames):
        a = 314.0 + speed * (f - frames // 2)
        b = 326.0 - speed * (f - frames // 2)
        out.append([_animal(a, 200.0, 1.0), _animal(b, 203.0, -1.0)])
    return out


def test_hungarian_with_motion_keeps_crossing_identities_where_nearest_box_swaps():
    frames = _crossing()
    truth = [[0, 1] for _ in frames]
    ours = assign_tracks(frames, SIGMAS)
    assert ours[0] == [1, 2] and identity_switches(truth, ours) == 0
    assert identity_switches(truth, nearest_box_tracks(frames)) >= 1


def test_new_tracks_start_for_unmatched_instances_and_switches_are_counted():
    frames = [[_animal(100, 100, 1)], [_animal(110, 100, 1), _animal(500, 400, -1)], [_animal(120, 100, 1)]]
    assert assign_tracks(frames, SIGMAS) == [[1], [1, 2], [1]]
    assert identity_switches([[0, 1], [0, 1], [0, 1]], [[1, 2], [2, 1], [2, 1]]) == 2


def _project(tmp_path: Path) -> ProjectStore:
    folder = tmp_path / "clip"
    folder.mkdir()
    for i in range(4):
        (folder / f"frame_{i:06d}.png").write_bytes(b"")
    (tmp_path / "other.png").write_bytes(b"")
    store = ProjectStore.create(tmp_path / "p.hglabel", tmp_path, SK)
    for f, rec in enumerate(r for r in store.images() if r.path.startswith("clip/")):
        for det in (_animal(100 + 10 * f, 100, 1), _animal(400 - 10 * f, 300, -1)):
            kps = Keypoints(det.xy, det.vis, human=np.ones(3, bool))
            store.apply(E.AddInstance(rec.id, Instance(kps, tuple(det.box))))
    return store


def _tracks(store: ProjectStore) -> list[list[int | None]]:
    return [[i.track_id for i in store.instances(r.id)] for r in store.images() if r.path.startswith("clip/")]


def test_tracking_a_folder_of_frames_and_the_corrections_are_one_undo_step_each(tmp_path):
    with _project(tmp_path) as store:
        clip = [r for r in store.images() if r.path.startswith("clip/")]
        assert sequence_key(clip[0].path) == "clip" and sequence_key("a.mp4#000012") == "a.mp4"
        tracked = store.apply(track_sequence(store, clip[0].id))
        assert _tracks(store) == [[1, 2]] * 4 and next_track_id(store, clip[2].id) == 3
        assert track_sequence(store, clip[0].id) is None  # nothing left to change

        swap = swap_from_here(store, clip[2].id, 1, 2)
        assert isinstance(swap, E.Batch) and len(swap.edits) == 4
        applied = store.apply(swap)
        assert _tracks(store) == [[1, 2], [1, 2], [2, 1], [2, 1]]
        store.apply(applied.inverse())
        assert _tracks(store) == [[1, 2]] * 4

        first = store.instances(clip[1].id)[0]
        this_is = store.apply(assign_track(store, clip[1].id, first.instance_id, 2))
        assert _tracks(store)[1] == [2, 1]  # the frame's other instance took track 1
        store.apply(this_is.inverse())
        store.apply(tracked.inverse())
        assert _tracks(store) == [[None, None]] * 4


def test_track_command_tracks_every_sequence(tmp_path, capsys):
    import json

    from model.cli import main

    _project(tmp_path).close()
    assert main(["track", str(tmp_path / "p.hglabel")]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report == {"sequences": 2, "changed_instances": 8, "tracks": 2}
    with ProjectStore.open(tmp_path / "p.hglabel") as store:
        assert _tracks(store) == [[1, 2]] * 4
    assert main(["track", str(tmp_path / "missing.hglabel")]) == 2
