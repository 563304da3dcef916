"""Boxes that mean something (follow keypoints until a person sets them, the v3 migration, export
rule) and track ids in the store and the COCO round trip (PoseTrack files import as they are)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from model.annotations import edits as E
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, ReviewStatus, Source
from model.io.coco import parse_coco
from model.project import rows, schema
from model.project.coco_bridge import export_coco, import_coco
from model.project.coco_writer import project_coco_dict
from model.project.store import ProjectStore

SK = Skeleton("m", ("a", "b"))
V1_COLUMNS = "id, image_id, category_id, x, y, w, h, score, source, keypoints"


def _store(tmp_path: Path) -> ProjectStore:
    (tmp_path / "img").mkdir()
    for name in ("f1.png", "f2.png"):
        (tmp_path / "img" / name).write_bytes(b"")
    return ProjectStore.create(tmp_path / "p.hglabel", tmp_path / "img", SK)


def test_box_follows_keypoints_in_the_store_and_undo_restores_it(tmp_path):
    with _store(tmp_path) as store:
        image = store.images()[0].id
        kp = E.with_keypoint(Keypoints.empty(2), 0, E.KeypointValue(100.0, 100.0, 2, np.nan, True))
        added = store.apply(E.AddInstance(image, Instance(kp, (90.0, 90.0, 20.0, 20.0))))
        inst = store.instances(image)[0]
        edit = store.apply(E.move_keypoint(image, inst, 1, 200.0, 150.0, image_size=(640, 480)))
        moved = store.instances(image)[0]
        assert moved.box == pytest.approx((85.0, 90.0, 130.0, 70.0))  # 100..200 ± 15, 100..150 ± 10
        store.apply(edit.inverse())
        assert store.instances(image)[0].box == (90.0, 90.0, 20.0, 20.0)
        # a person sets the box: it is theirs
        store.apply(E.set_box(image, store.instances(image)[0], (0.0, 0.0, 300.0, 300.0)))
        owned = store.instances(image)[0]
        assert owned.box_set and owned.box == (0.0, 0.0, 300.0, 300.0)
        store.apply(E.move_keypoint(image, owned, 1, 20.0, 20.0))
        assert store.instances(image)[0].box == (0.0, 0.0, 300.0, 300.0)
        assert added.instance.instance_id == owned.instance_id


def test_v3_migration_fixes_whole_image_boxes_of_click_started_instances(tmp_path):
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    schema.MIGRATIONS[0](conn)
    schema.MIGRATIONS[1](conn)
    conn.execute("PRAGMA user_version=2")
    conn.execute("INSERT INTO meta VALUES ('skeleton', ?)", (json.dumps(SK.to_dict()),))
    conn.execute("INSERT INTO meta VALUES ('image_root', ?)", (str(tmp_path),))
    conn.execute("INSERT INTO images (path, status, width, height) VALUES ('x.png', 'done', 640, 480)")
    kps = Keypoints([[100.0, 100.0], [200.0, 150.0]], [2, 2], human=[True, True])
    made = [
        Instance(kps, (0.0, 0.0, 640.0, 480.0), 1.0, Source.HUMAN),  # clicked: whole image
        Instance(kps, (50.0, 60.0, 200.0, 150.0), 1.0, Source.HUMAN),  # drawn by a person
        Instance(kps, (1.0, 2.0, 3.0, 4.0), 0.5, Source.MODEL),  # the model's
    ]
    for inst in made:
        conn.execute(f"INSERT INTO instances ({V1_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     rows.instance_params(1, inst)[:10])
    conn.close()
    with ProjectStore.open(db) as store:
        clicked, drawn, model = store.instances(1)
        assert store.integrity_check() == "ok"
    assert clicked.box == pytest.approx((85.0, 90.0, 130.0, 70.0)) and not clicked.box_set
    assert drawn.box == (50.0, 60.0, 200.0, 150.0) and drawn.box_set
    assert model.box == (1.0, 2.0, 3.0, 4.0) and not model.box_set
    assert {clicked.track_id, drawn.track_id, model.track_id} == {None}
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    conn.close()


def test_instance_without_keypoints_is_not_exported(tmp_path):
    with _store(tmp_path) as store:
        image = store.images()[0].id
        full = Instance(Keypoints([[5.0, 6.0], [7.0, 8.0]], [2, 2], human=[True, True]), (0, 0, 20, 20))
        empty = Instance(Keypoints.empty(2), (30, 30, 40, 40), box_set=True)
        store.apply(E.Batch((E.AddInstance(image, full), E.AddInstance(image, empty),
                             E.SetStatus(image, ReviewStatus.UNLABELLED, ReviewStatus.DONE))))
        store.set_image_size(image, 64, 64)
        report = export_coco(store, tmp_path / "out.json")
        data = json.loads((tmp_path / "out.json").read_text())
        assert report.annotations == 1 and [a["num_keypoints"] for a in data["annotations"]] == [2]
        assert len(project_coco_dict(store)["annotations"]) == 1  # the in-memory writer agrees


def test_track_ids_round_trip_and_posetrack_fields_are_accepted(tmp_path):
    (tmp_path / "img").mkdir()
    for name in ("000000.jpg", "000001.jpg"):
        (tmp_path / "img" / name).write_bytes(b"")
    category = {"id": 1, "name": "m", "keypoints": ["a", "b"], "skeleton": [[1, 2]]}
    images = [{"id": 10034180000 + i, "file_name": f"00000{i}.jpg", "width": 64, "height": 48,
               "is_labeled": True, "nframes": 2, "vid_id": "003418", "ignore_regions_x": []}
              for i in range(2)]
    anns = [{"id": 1003418000000 + n, "image_id": images[n // 2]["id"], "category_id": 1, "iscrowd": False,
             "track_id": n % 2, "bbox": [1, 2, 30, 20], "bbox_head": [1, 2, 3, 4], "scores": [],
             "keypoints": [5, 6, 1, 7, 8, 1], "num_keypoints": 2} for n in range(4)]
    src = tmp_path / "posetrack.json"
    src.write_text(json.dumps({"images": images, "annotations": anns, "categories": [category]}))
    report = import_coco(src, tmp_path / "img")
    assert report.annotations == 4
    with ProjectStore.open(report.project) as store:
        tracks = [[i.track_id for i in store.instances(r.id)] for r in store.images()]
        assert tracks == [[0, 1], [0, 1]]
        first = store.instances(store.images()[0].id)[1]
        store.apply(E.set_track(store.images()[0].id, first, 7))
        export_coco(store, tmp_path / "out.json")
        assert parse_coco(project_coco_dict(store)).annotations[1].instance.track_id == 7
    out = json.loads((tmp_path / "out.json").read_text())
    assert [a["track_id"] for a in out["annotations"]] == [0, 7, 0, 1]
    report2 = import_coco(tmp_path / "out.json", tmp_path / "img", project=tmp_path / "again.hglabel")
    with ProjectStore.open(report2.project) as store:
        assert [i.track_id for r in store.images() for i in store.instances(r.id)] == [0, 7, 0, 1]


@pytest.mark.parametrize("name", ["val/003418_mpii_test.json", "test_posetrack18_val.json"])
def test_real_posetrack18_files_import_as_they_are(shared, tmp_path, name):
    root = shared / "data" / "mmpose_multi" / "posetrack18"
    raw = json.loads((root / "annotations" / name).read_text())
    assert any(a["iscrowd"] is False for a in raw["annotations"])  # JSON booleans, as PoseTrack writes
    report = import_coco(root / "annotations" / name, root, project=tmp_path / "pt.hglabel")
    assert report.annotations == len(raw["annotations"])
    with ProjectStore.open(report.project) as store:
        tracks = sorted(i.track_id for r in store.images() for i in store.instances(r.id))
    assert tracks == sorted(a["track_id"] for a in raw["annotations"])
