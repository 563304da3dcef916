"""The project COCO reader and writer agree with independent references: bulk_parse accepts a subset
of what parse_coco accepts and then reads the same values; project_coco_dict (the one writer) equals
build_coco of the selection rules written out here from the store's public API (`_reference_export`)."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.annotations import edits as E
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, ReviewStatus
from model.io.coco import CocoAnnotation, CocoDataset, CocoImage, CocoImportError, build_coco, parse_coco
from model.project.coco_bridge import import_coco
from model.project.coco_reader import BulkCoco, bulk_from_dataset, bulk_parse
from model.project.coco_writer import project_coco_dict
from model.project.store import ProjectStore


def _valid() -> dict:
    cat = {"id": 1, "name": "s", "keypoints": ["a", "leftb", "rightb"], "skeleton": [[1, 2], [1, 3]]}
    other = {"id": 2, "name": "thing"}
    images = [{"id": i, "file_name": f"d{i % 2}/img{i}.png", "width": 64, "height": 48} for i in (1, 2, 5)]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "keypoints": [1.5, 2, 2, 0, 0, 0, 3.25, 4, 1],
         "bbox": [0, 0, 10.5, 10], "iscrowd": 0},
        {"id": 7, "image_id": 5, "category_id": 1, "keypoints": [9, 9, 0, 1e-3, 5, 2, 6, 7, 2],
         "bbox": [1, 2, 3, 4]},
        {"id": 8, "image_id": 5, "category_id": 2, "bbox": [1, 2, 3, 4]},  # other category: skipped
        {"id": 9, "image_id": 2, "category_id": 1, "keypoints": [], "bbox": [0, 0, 1, 1], "iscrowd": 1},
    ]
    return {"images": images, "annotations": anns, "categories": [cat, other]}


def _assert_same(a: BulkCoco, b: BulkCoco) -> None:
    assert a.skeleton == b.skeleton and a.category_id == b.category_id and a.file_names == b.file_names
    for name in ("image_ids", "sizes", "ann_image", "ann_box"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.ann_kp.shape == b.ann_kp.shape
    for field in a.ann_kp.dtype.names:
        np.testing.assert_array_equal(a.ann_kp[field], b.ann_kp[field], err_msg=field)


def _reference(data: dict, root=None) -> BulkCoco:
    return bulk_from_dataset(parse_coco(data, "ref.json", image_root=root))


def test_bulk_reads_exactly_what_parse_coco_reads(tmp_path):
    data = _valid()
    bulk = bulk_parse(data, "x.json", tmp_path)
    assert bulk is not None and len(bulk.ann_box) == 2
    assert bulk.ann_kp["v"].tolist() == [[2, 0, 1], [0, 2, 2]] and bulk.ann_kp["x"][1, 0] == 0.0
    _assert_same(bulk, _reference(data, tmp_path))


@pytest.mark.parametrize("mutate", [
    lambda d: d["images"][0].update(file_name="./d1/img1.png"),  # lenient: parse_coco cleans it
    lambda d: d["images"][0].update(file_name="d1\\img1.png"),
    lambda d: d["images"][0].update(id=1.0),
    lambda d: d["annotations"][0].update(iscrowd=0.0),
])
def test_unusual_but_valid_files_take_the_reference_path(tmp_path, mutate):
    data = _valid()
    mutate(data)
    assert bulk_parse(data, "x.json", tmp_path) is None
    _reference(data, tmp_path)  # accepted there


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d["annotations"][0]["keypoints"].pop(), r"annotations\[0\].keypoints"),
    (lambda d: d["annotations"][0]["keypoints"].__setitem__(2, 3), r"annotations\[0\].keypoints\[2\]"),
    (lambda d: d["annotations"][0]["keypoints"].__setitem__(0, float("inf")),
     r"annotations\[0\].keypoints\[0\]"),
    (lambda d: d["annotations"][0]["keypoints"].__setitem__(0, True), r"annotations\[0\].keypoints\[0\]"),
    (lambda d: d["annotations"][1].update(image_id=99), r"annotations\[1\].image_id"),
    (lambda d: d["annotations"][1].update(id=1), r"annotations\[1\].id"),
    (lambda d: d["annotations"][0]["bbox"].__setitem__(2, -1), r"annotations\[0\].bbox"),
    (lambda d: d["images"][1].update(id=1), r"images\[1\].id"),
    (lambda d: d["images"][1].update(file_name="../x.png"), r"images\[1\].file_name"),
    (lambda d: d["images"][1].update(width=0), r"images\[1\].width"),
])
def test_malformed_files_get_the_reference_message(tmp_path, mutate, field):
    data = _valid()
    mutate(data)
    assert bulk_parse(data, "x.json", tmp_path) is None
    (tmp_path / "bad.json").write_text(json.dumps(data))
    (tmp_path / "imgs").mkdir()
    with pytest.raises(CocoImportError, match=rf"bad.json: {field}"):
        import_coco(tmp_path / "bad.json", tmp_path / "imgs", project=tmp_path / "p.db")
    assert not (tmp_path / "p.db").exists()


def test_symlinked_file_leaving_the_root_is_refused(tmp_path):
    root = tmp_path / "root"
    (root / "d1").mkdir(parents=True)
    (tmp_path / "secret.png").write_bytes(b"")
    (root / "d1" / "img1.png").symlink_to(tmp_path / "secret.png")
    assert bulk_parse(_valid(), "x.json", root) is None
    with pytest.raises(CocoImportError, match="symbolic link"):
        parse_coco(_valid(), "x.json", image_root=root)


_VALUES = st.one_of(st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True, width=64),
                    st.booleans(), st.none(), st.text(max_size=3), st.just([]), st.just({}),
                    st.sampled_from(["../a.png", "a//b.png", "/abs.png", "C:/x.png", "./a.png", "ok.png"]))


@st.composite
def _mutations(draw):
    data = _valid()
    for _ in range(draw(st.integers(1, 3))):
        section = draw(st.sampled_from(["images", "annotations"]))
        item = draw(st.sampled_from(data[section]))
        key = draw(st.sampled_from(sorted(item)))
        if isinstance(item[key], list) and item[key] and draw(st.booleans()):
            item[key][draw(st.integers(0, len(item[key]) - 1))] = draw(_VALUES)
        elif draw(st.booleans()):
            item[key] = draw(_VALUES)
        else:
            del item[key]
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_mutations())
def test_bulk_never_accepts_what_parse_coco_refuses(tmp_path, data):
    try:
        reference = _reference(copy.deepcopy(data), tmp_path)
    except CocoImportError:
        reference = None
    try:
        bulk = bulk_parse(data, "x.json", tmp_path)
    except CocoImportError:
        bulk = None
    if bulk is not None:
        assert reference is not None, "bulk accepted a file parse_coco refuses"
        _assert_same(bulk, reference)


# ---- export ------------------------------------------------------------------------------------
def _human_only(inst: Instance) -> Instance | None:
    kp = inst.keypoints
    keep = kp.human & (kp.vis > 0)
    if not keep.any():
        return None
    xy = np.where(keep[:, None], kp.xy, 0.0)
    kept = Keypoints(xy, np.where(keep, kp.vis, 0), kp.confidence, kp.human)
    return dataclasses.replace(inst, keypoints=kept)


def _reference_export(store: ProjectStore, labelled: bool = False, preds: bool = False) -> dict:
    """The export selection rules (coco_bridge's docstring) one instance at a time, through build_coco."""
    images, annotations = [], []
    for rec in store.images():
        done = rec.status == ReviewStatus.DONE
        if rec.status == ReviewStatus.SKIPPED or not (done or labelled):
            continue
        kept = store.instances(rec.id)
        if not done and not preds:
            kept = [inst for inst in map(_human_only, kept) if inst is not None]
        kept = [inst for inst in kept if inst.keypoints.num_labelled > 0]
        if done or kept:
            images.append(CocoImage(rec.id, rec.path, rec.width, rec.height))
            annotations += [CocoAnnotation(int(inst.instance_id), rec.id, inst) for inst in kept]
    return build_coco(CocoDataset(store.skeleton, 1, images, annotations))


def _mixed_project(tmp_path) -> ProjectStore:
    sk = Skeleton("s", ("a", "b", "c"))
    root = tmp_path / "imgs"
    root.mkdir()
    for name in ("img10.png", "img2.png", "img1.png", "skip.png", "pred.png"):
        (root / name).write_bytes(b"")
    store = ProjectStore.create(tmp_path / "p.db", root, sk)
    for rec in store.images():
        store.set_image_size(rec.id, 64, 48)
        for j in range(2):
            xy = np.array([[1.5 + j, 2.0], [3.0, 4.0 + j], [5.0, 6.0]])
            store.apply(E.apply_prediction(rec.id, None, xy, [0.9, 0.5, 0.1], (0, 0, 9.5 + j, 0), 0.7))
    ids = {r.path: r.id for r in store.images()}
    first = store.instances(ids["img2.png"])
    store.apply(E.move_keypoint(ids["img2.png"], first[1], 2, 7.0, 8.0, v=1))
    store.apply(E.set_visibility(ids["img2.png"], first[0], 0, 0))
    store.apply(E.SetStatus(ids["img10.png"], ReviewStatus.UNLABELLED, ReviewStatus.DONE))
    store.apply(E.SetStatus(ids["img1.png"], ReviewStatus.UNLABELLED, ReviewStatus.DONE))
    store.apply(E.remove_instance(ids["img1.png"], store.instances(ids["img1.png"])[0]))
    store.apply(E.SetStatus(ids["skip.png"], ReviewStatus.UNLABELLED, ReviewStatus.SKIPPED))
    return store


@pytest.mark.parametrize("labelled", [False, True])
@pytest.mark.parametrize("preds", [False, True])
def test_bulk_export_equals_reference_export(tmp_path, labelled, preds):
    with _mixed_project(tmp_path) as store:
        fast = project_coco_dict(store, labelled, preds)
        slow = _reference_export(store, labelled, preds)
    assert fast == slow and json.dumps(fast) == json.dumps(slow)
    assert fast["annotations"] or not fast["images"]
    assert [im["file_name"] for im in fast["images"]][:2] == ["img1.png", "img10.png"] or labelled


def test_bulk_export_equals_reference_on_openfield(openfield, tmp_path):
    import_coco(openfield / "annotations.json", openfield / "images", project=tmp_path / "p.db")
    with ProjectStore.open(tmp_path / "p.db") as store:
        assert project_coco_dict(store) == _reference_export(store)
