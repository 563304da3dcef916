"""Case 11: COCO values checked against the images: stated width/height vs the real file, boxes of no
size around several keypoints, keypoints far outside the image, and every field of a category even
when a project's skeleton chooses it (bulk reader and parse_coco agree)."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from model.io.coco import CocoImportError, load_coco, parse_coco
from model.project.coco_bridge import import_coco
from model.project.store import ProjectStore


def _data(openfield):
    return json.loads((openfield / "annotations.json").read_text())


def _import(tmp_path, openfield, data):
    images = tmp_path / "imgs"
    if not images.exists():
        shutil.copytree(openfield / "images", images)
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    return import_coco(path, images, project=tmp_path / "p.db")


def test_stated_size_must_match_the_real_image(openfield, tmp_path):
    data = _data(openfield)
    data["images"][3]["width"] += 10
    with pytest.raises(CocoImportError, match=r"images\[3\]: width × height .* but .* is \d+×\d+ pixels"):
        _import(tmp_path, openfield, data)
    with pytest.raises(CocoImportError, match=r"images\[3\]"):  # training reads COCO files the same way
        load_coco(tmp_path / "in.json", image_root=tmp_path / "imgs")


def test_box_of_no_size_around_keypoints_is_refused(openfield, tmp_path):
    data = _data(openfield)
    data["annotations"][2]["bbox"][2] = 0
    with pytest.raises(CocoImportError, match=r"annotations\[2\]\.bbox: box of no size"):
        _import(tmp_path, openfield, data)


def test_keypoint_far_outside_its_image_is_refused(openfield, tmp_path):
    data = _data(openfield)
    width = data["images"][0]["width"]
    ann = next(a for a in data["annotations"] if a["image_id"] == data["images"][0]["id"])
    j = next(j for j in range(len(ann["keypoints"]) // 3) if ann["keypoints"][3 * j + 2] > 0)
    ann["keypoints"][3 * j] = 3.0 * width
    with pytest.raises(CocoImportError, match=rf"keypoints\[{3 * j}\]: keypoint at .* is far outside"):
        _import(tmp_path, openfield, data)


def test_every_category_field_is_validated_even_when_a_skeleton_chooses_it(openfield, tmp_path):
    data = _data(openfield)
    report = _import(tmp_path, openfield, data)
    with ProjectStore.open(report.project) as store:
        skeleton = store.skeleton
    bad = copy.deepcopy(data)
    bad["categories"][0]["sigmas"] = [-1.0] * len(skeleton.keypoints)
    with pytest.raises(CocoImportError, match=r"categories\[0\]\.sigmas: sigmas must be positive"):
        parse_coco(bad, "x.json", skeleton=skeleton)
    bad = copy.deepcopy(data)
    bad["categories"][0]["flip_pairs"] = [[0, 99]]
    with pytest.raises(CocoImportError, match=r"categories\[0\]\.flip_pairs\[0\]"):
        _import(tmp_path, openfield, bad)  # into the existing project: its skeleton picks the category
