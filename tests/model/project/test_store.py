"""ProjectStore: edits applied and undone exactly, stale edits refused, skeleton migration, rescan."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from model.annotations import edits as E
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, ReviewStatus, Source
from model.project.store import ProjectError, ProjectStore, StaleEditError

SK = Skeleton("m", ("a", "b", "c"), edges=((0, 1), (1, 2)))


def _touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")


@pytest.fixture()
def store(tmp_path):
    _touch(tmp_path / "imgs", "f1.png", "f2.png", "f10.png")
    s = ProjectStore.open_folder(tmp_path / "imgs", SK)
    yield s
    s.close()


def _add(store: ProjectStore, image_id: int, xy=((1.0, 2.0), (3.0, 4.0), (0.0, 0.0)), vis=(2, 1, 0),
         source=Source.HUMAN) -> Instance:
    inst = Instance(Keypoints(xy, vis), (0.5, 0.25, 10.0, 20.0), 0.9, source)
    applied = store.apply(E.AddInstance(image_id, inst))
    return applied.instance


def _snapshot(store: ProjectStore):
    return [(r.status, store.instances(r.id)) for r in store.images()]


def test_scan_on_create_is_natural_sorted(store):
    assert [r.path for r in store.images()] == ["f1.png", "f2.png", "f10.png"]
    assert store.path.parent.name == ".hglabel"
    assert store.image_path(store.images()[2].id) == store.image_root / "f10.png"


def test_every_edit_applies_and_undoes_exactly(store):
    img = store.images()[0].id
    inst = _add(store, img)
    assert inst.instance_id is not None
    before = _snapshot(store)
    edits = [
        E.move_keypoint(img, inst, 2, 0.1 + 0.2, 1e-17),
        E.set_visibility(img, inst, 1, 2),
        E.set_box(img, inst, (1, 2, 3, 4)),
        E.SetStatus(img, ReviewStatus.UNLABELLED, ReviewStatus.IN_REVIEW),
        E.accept_prediction(img, inst),
        E.apply_prediction(img, inst, np.full((3, 2), 7.0), np.full(3, 0.5), (9, 9, 9, 9), 0.3),
        E.remove_instance(img, inst),
    ]
    for edit in edits:
        applied = store.apply(edit)
        assert _snapshot(store) != before, type(edit).__name__
        store.apply(applied.inverse())
        assert _snapshot(store) == before, type(edit).__name__
    moved = store.apply(edits[0])
    kp = store.instances(img)[0].keypoints
    assert kp.xy[2].tolist() == [0.1 + 0.2, 1e-17] and kp.human.tolist() == [False, False, True]
    store.apply(moved.inverse())


def test_add_instance_undo_redo_keeps_the_id(store):
    img = store.images()[1].id
    applied = store.apply(E.AddInstance(img, Instance(Keypoints.empty(3), (0, 0, 1, 1))))
    iid = applied.instance.instance_id
    store.apply(applied.inverse())
    assert store.instances(img) == []
    store.apply(applied)  # redo
    assert [i.instance_id for i in store.instances(img)] == [iid]
    other = store.apply(E.AddInstance(img, Instance(Keypoints.empty(3), (0, 0, 1, 1))))
    assert other.instance.instance_id != iid


def test_stale_edit_is_refused_and_batch_rolls_back(store):
    img = store.images()[0].id
    inst = _add(store, img)
    store.apply(E.move_keypoint(img, inst, 0, 5, 5))
    before = _snapshot(store)
    with pytest.raises(StaleEditError):
        store.apply(E.move_keypoint(img, inst, 0, 6, 6))  # built from the old state
    batch = E.Batch((
        E.SetStatus(img, ReviewStatus.UNLABELLED, ReviewStatus.DONE), E.set_box(img, inst, (0, 0, 1, 1)),
        E.SetStatus(img, ReviewStatus.UNLABELLED, ReviewStatus.SKIPPED),
    ))
    with pytest.raises(StaleEditError):
        store.apply(batch)
    assert _snapshot(store) == before
    with pytest.raises(StaleEditError):
        store.apply(E.SetStatus(999, ReviewStatus.UNLABELLED, ReviewStatus.DONE))


def test_prediction_never_overwrites_a_person(store):
    img = store.images()[0].id
    inst = _add(store, img, source=Source.MODEL)
    touched = store.apply(E.move_keypoint(img, inst, 1, 11.0, 12.0))
    current = store.instances(img)[0]
    batch = store.apply(E.Batch((
        E.apply_prediction(img, current, np.full((3, 2), 99.0), np.full(3, 0.5), (1, 1, 1, 1), 0.5),
        E.SetStatus(img, ReviewStatus.UNLABELLED, ReviewStatus.PREDICTED),
    )))
    kp = store.instances(img)[0].keypoints
    assert kp.xy.tolist() == [[99.0, 99.0], [11.0, 12.0], [99.0, 99.0]]
    assert kp.vis.tolist() == [2, 1, 2] and kp.human.tolist() == [False, True, False]
    store.apply(batch.inverse())
    assert store.instances(img)[0] == current and store.image(img).status == ReviewStatus.UNLABELLED
    assert touched.new.human


def test_batch_of_adds_resolves_ids(store):
    img = store.images()[2].id
    batch = E.Batch(tuple(
        E.apply_prediction(img, None, np.full((3, 2), float(i)), np.full(3, 0.5), (0, 0, 2, 2), 0.5)
        for i in range(3)
    ))
    applied = store.apply(batch)
    ids = [e.instance.instance_id for e in applied.edits]
    assert ids == [i.instance_id for i in store.instances(img)] and None not in ids
    store.apply(applied.inverse())
    assert store.instances(img) == []


def test_skeleton_change_migrates_every_instance_and_persists(store, tmp_path):
    img = store.images()[0].id
    _add(store, img)
    new = SK.with_keypoints(["c", "new", "a_renamed"], [2, None, 0])
    store.set_skeleton(new, [2, None, 0])
    kp = store.instances(img)[0].keypoints
    assert kp.xy.tolist() == [[0.0, 0.0], [0.0, 0.0], [1.0, 2.0]]
    assert kp.vis.tolist() == [0, 0, 2]
    path = store.path
    store.close()
    with ProjectStore.open(path) as again:
        assert again.skeleton.keypoints == ("c", "new", "a_renamed")
        assert again.instances(img)[0].keypoints.vis.tolist() == [0, 0, 2]
        with pytest.raises(ValueError):
            again.set_skeleton(Skeleton("m", ("x",)))
        with pytest.raises(ValueError):
            again.set_skeleton(Skeleton("m", ("x",)), [5])


def test_rescan_adds_new_flags_vanished_and_keeps_labels(store):
    root = store.image_root
    img = store.image_id("f2.png")
    _add(store, img)
    store.apply(E.SetStatus(img, ReviewStatus.UNLABELLED, ReviewStatus.DONE))
    (root / "f2.png").unlink()
    _touch(root, "sub/f3.jpg", "f0.PNG", ".hglabel/junk.png", ".hidden/x.png", "readme.txt")
    report = store.rescan()
    assert (report.added, report.vanished, report.returned, report.total) == (2, 1, 0, 5)
    assert [r.path for r in store.images()] == ["f0.PNG", "f1.png", "f2.png", "f10.png", "sub/f3.jpg"]
    rec = store.image(img)
    assert rec.missing and rec.status == ReviewStatus.DONE and len(store.instances(img)) == 1
    assert len(store.images(include_missing=False)) == 4
    _touch(root, "f2.png")
    assert store.rescan().returned == 1 and not store.image(img).missing


def test_counts_progress_sizes_and_status_filter(store):
    ids = [r.id for r in store.images()]
    store.apply(E.SetStatus(ids[0], ReviewStatus.UNLABELLED, ReviewStatus.DONE))
    store.apply(E.SetStatus(ids[1], ReviewStatus.UNLABELLED, ReviewStatus.SKIPPED))
    counts = store.counts_by_status()
    assert counts[ReviewStatus.DONE] == 1 and counts[ReviewStatus.SKIPPED] == 1
    assert counts[ReviewStatus.UNLABELLED] == 1 and counts[ReviewStatus.PREDICTED] == 0
    assert store.progress() == (1, 3)
    assert [r.id for r in store.images(status="done")] == [ids[0]]
    assert store.image(ids[2]).width is None
    store.set_image_size(ids[2], 640, 480)
    assert (store.image(ids[2]).width, store.image(ids[2]).height) == (640, 480)


def test_project_moves_with_its_folder(store, tmp_path):
    img = store.images()[0].id
    _add(store, img)
    store.close()
    shutil.move(tmp_path / "imgs", tmp_path / "moved")
    with ProjectStore.open_folder(tmp_path / "moved") as moved:
        assert moved.image_root == (tmp_path / "moved").resolve()
        assert moved.image_path(img).name == "f1.png" and moved.image_path(img).parent == moved.image_root
        assert len(moved.instances(img)) == 1


def test_open_errors_name_the_file(tmp_path):
    with pytest.raises(ProjectError, match="no such project"):
        ProjectStore.open(tmp_path / "nope.db")
    with pytest.raises(ProjectError, match="no project yet"):
        ProjectStore.open_folder(tmp_path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match="junk.db"):
        ProjectStore.open(junk)
    with pytest.raises(ProjectError, match="already exists"):
        ProjectStore.create(junk, tmp_path, SK)
