"""COCO keypoints: every malformed-input rule names file and field; exact round trip; export per DESIGN §6."""

from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest

from model.annotations.presets import load_preset
from model.annotations.skeleton import Skeleton
from model.annotations.types import Keypoints
from model.io.coco import (
    CocoImportError,
    build_coco,
    build_results,
    load_coco,
    parse_coco,
    parse_results,
    write_json_atomic,
)

NAMES = ["snout", "leftear", "rightear", "tailbase"]


def small_coco() -> dict:
    """Two images, three annotations using all three visibility states."""
    return {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 64, "height": 48},
            {"id": 2, "file_name": "sub/b.png", "width": 64, "height": 48},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1.5, 2.0, 30.0, 20.0], "area": 600,
             "iscrowd": 0, "num_keypoints": 4, "keypoints": [3, 4, 2, 5.25, 6, 2, 7, 8, 1, 9, 10, 2]},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100,
             "keypoints": [1, 1, 2, 0, 0, 0, 2.5, 3.5, 1, 4, 4, 2]},
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [20, 20, 0, 0],
             "keypoints": [21, 22, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]},
        ],
        "categories": [{"id": 1, "name": "mouse", "supercategory": "animal", "keypoints": list(NAMES),
                        "skeleton": [[1, 2], [1, 3], [2, 4]]}],
    }


def _set(path: str, value):
    """A mutator setting data[...path...] = value; path like 'annotations.1.keypoints'."""

    def mutate(data: dict) -> None:
        *head, last = path.split(".")
        node = data
        for part in head:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str):
    def mutate(data: dict) -> None:
        *head, last = path.split(".")
        node = data
        for part in head:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(last) if last.isdigit() else last]

    return mutate


def _second_category(data: dict) -> None:
    data["categories"].append({"id": 2, "name": "rat", "keypoints": ["a", "b"]})


def _kp(index: int, value):
    def mutate(data: dict) -> None:
        data["annotations"][0]["keypoints"][index] = value

    return mutate


MALFORMED = [
    (_set("annotations.1.keypoints", [1] * 9), "annotations[1].keypoints",
     "expected 12 values (4 keypoints × 3), got 9"),
    (_kp(5, 3), "annotations[0].keypoints[5]", "must be 0, 1 or 2"),
    (_kp(2, 1.5), "annotations[0].keypoints[2]", "must be 0, 1 or 2"),
    (_kp(2, -1), "annotations[0].keypoints[2]", "must be 0, 1 or 2"),
    (_kp(0, float("nan")), "annotations[0].keypoints[0]", "finite"),
    (_kp(4, float("inf")), "annotations[0].keypoints[4]", "finite"),
    (_kp(1, "7"), "annotations[0].keypoints[1]", "expected a number"),
    (_kp(1, None), "annotations[0].keypoints[1]", "expected a number, got null"),
    (_kp(1, True), "annotations[0].keypoints[1]", "expected a number, got true"),
    (_kp(3, 1e12), "annotations[0].keypoints[3]", "out of range"),
    (_set("annotations.0.keypoints", None), "annotations[0].keypoints", "expected a list, got null"),
    (_delete("annotations.0.keypoints"), "annotations[0].keypoints", "missing"),
    (_set("annotations.0.bbox", [1, 2, 3]), "annotations[0].bbox", "expected 4 values"),
    (_set("annotations.0.bbox", [1, 2, -3, 4]), "annotations[0].bbox", "negative size"),
    (_set("annotations.0.bbox", [1, "2", 3, 4]), "annotations[0].bbox[1]", "expected a number"),
    (_set("annotations.0.bbox", [1, 2, float("-inf"), 4]), "annotations[0].bbox[2]", "finite"),
    (_delete("annotations.2.bbox"), "annotations[2].bbox", "missing"),
    (_set("annotations.2.image_id", 77), "annotations[2].image_id", "unknown image id 77"),
    (_set("annotations.2.category_id", 9), "annotations[2].category_id", "unknown category id 9"),
    (_set("annotations.0.iscrowd", 2), "annotations[0].iscrowd", "out of range"),
    (_set("images.1.id", 1), "images[1].id", "duplicate image id 1 (also images[0])"),
    (_set("annotations.1.id", 1), "annotations[1].id", "duplicate annotation id 1 (also annotations[0])"),
    (_set("images.0.id", -3), "images[0].id", "out of range"),
    (_set("images.0.id", "1"), "images[0].id", "expected an integer"),
    (_set("images.0.id", 2.5), "images[0].id", "expected an integer"),
    (_set("images.0.width", 0), "images[0].width", "out of range"),
    (_delete("images.0.height"), "images[0].height", "missing"),
    (_set("images.1.file_name", "a.png"), "images[1].file_name", "duplicate file_name 'a.png'"),
    (_set("images.0.file_name", "/etc/passwd"), "images[0].file_name", "absolute path"),
    (_set("images.0.file_name", "../secret.png"), "images[0].file_name", "escapes the image root"),
    (_set("images.0.file_name", "a/../../b.png"), "images[0].file_name", "escapes the image root"),
    (_set("images.0.file_name", "..\\..\\x.png"), "images[0].file_name", "escapes the image root"),
    (_set("images.0.file_name", "C:\\data\\x.png"), "images[0].file_name", "drive letter"),
    (_set("images.0.file_name", "c:x.png"), "images[0].file_name", "drive letter"),
    (_set("images.0.file_name", "\\\\server\\share\\x.png"), "images[0].file_name", "absolute path"),
    (_set("images.0.file_name", "dir/"), "images[0].file_name", "does not name a file"),
    (_set("images.0.file_name", "a\x00.png"), "images[0].file_name", "control characters"),
    (_set("images.0.file_name", ""), "images[0].file_name", "does not name a file"),
    (_set("images.0.file_name", 5), "images[0].file_name", "expected a string"),
    (_set("categories.0.skeleton", [[0, 1]]), "categories[0].skeleton[0]", "out of range"),
    (_set("categories.0.skeleton", [[1, 5]]), "categories[0].skeleton[0]", "1..4"),
    (_set("categories.0.skeleton", [[2, 2]]), "categories[0].skeleton[0]", "to itself"),
    (_set("categories.0.skeleton", [[1]]), "categories[0].skeleton[0]", "expected a pair"),
    (_set("categories.0.flip_pairs", [[1, 4]]), "categories[0].flip_pairs[0]", "0..3"),
    (_set("categories.0.flip_pairs", [[0, 1], [1, 2]]), "categories[0].flip_pairs", "two 'flip_pairs'"),
    (_set("categories.0.sigmas", [0.1, 0.1]), "categories[0].sigmas", "expected 4 values"),
    (_set("categories.0.sigmas", [0.1, float("nan"), 0.1, 0.1]), "categories[0].sigmas[1]", "finite"),
    (_set("categories.0.sigmas", [0.1, 0, 0.1, 0.1]), "categories[0].sigmas", "positive"),
    (_set("categories.0.keypoints", ["a", "b", "a", "c"]), "categories[0].keypoints[2]", "duplicate"),
    (_set("categories.0.keypoints", ["a", 1, "b", "c"]), "categories[0].keypoints[1]", "expected a string"),
    (_set("categories.0.keypoints", []), "categories", "no keypoint category"),
    (_set("categories.0.id", "1"), "categories[0].id", "expected an integer"),
    (_second_category, "categories", "2 keypoint categories (ids 1, 2)"),
    (_delete("images"), "images", "missing"),
    (_set("annotations", {}), "annotations", "expected a list, got an object"),
    (_set("images.0", [1, 2]), "images[0]", "expected an object"),
]


@pytest.mark.parametrize("mutate, field, problem", MALFORMED, ids=[m[1] + ":" + m[2] for m in MALFORMED])
def test_malformed_input_names_file_and_field(tmp_path, mutate, field, problem):
    data = small_coco()
    mutate(data)
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(data), encoding="utf-8")  # NaN/inf are written as JSON extensions
    with pytest.raises(CocoImportError) as err:
        load_coco(path)
    message = str(err.value)
    assert message.startswith(f"{path}: {field}: "), message
    assert problem in message, message


def test_top_level_and_json_syntax_errors_name_the_file(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_text('{"images": [],\n  "annotations": [,]}', encoding="utf-8")
    with pytest.raises(CocoImportError, match=r"annotations\.json: invalid JSON at line 2, column 19"):
        load_coco(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(CocoImportError, match="annotations.json: expected a JSON object"):
        load_coco(path)
    with pytest.raises(CocoImportError, match="missing.json: cannot read"):
        load_coco(tmp_path / "missing.json")
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(CocoImportError, match="not UTF-8"):
        load_coco(path)


def test_huge_integer_is_refused_not_overflowed():
    data = small_coco()
    data["annotations"][0]["keypoints"][0] = 10**400
    with pytest.raises(CocoImportError, match=r"annotations\[0\]\.keypoints\[0\]: number too large"):
        parse_coco(data, "big.json")
    data = small_coco()
    data["images"][0]["id"] = 10**30
    with pytest.raises(CocoImportError, match=r"images\[0\]\.id: .*out of range"):
        parse_coco(data, "big.json")
    data["images"][0]["id"] = 10**5000  # beyond Python's int → str conversion limit
    with pytest.raises(CocoImportError, match=r"images\[0\]\.id: a huge number is out of range"):
        parse_coco(data, "big.json")


def test_integer_literal_beyond_pythons_digit_limit(tmp_path):
    path = tmp_path / "digits.json"
    path.write_text('{"images": [{"id": ' + "9" * 5000 + "}]}", encoding="utf-8")
    with pytest.raises(CocoImportError, match=r"digits\.json: invalid JSON"):
        load_coco(path)


def test_parse_keeps_values_and_all_visibility_states():
    ds = parse_coco(small_coco())
    assert ds.category_id == 1 and [im.file_name for im in ds.images] == ["a.png", "sub/b.png"]
    first = ds.annotations[0].instance
    np.testing.assert_array_equal(first.keypoints.xy, [[3, 4], [5.25, 6], [7, 8], [9, 10]])
    np.testing.assert_array_equal(first.keypoints.vis, [2, 2, 1, 2])
    np.testing.assert_array_equal(first.keypoints.human, [True, True, True, True])
    assert first.box == (1.5, 2.0, 30.0, 20.0)
    second = ds.annotations[1].instance.keypoints
    np.testing.assert_array_equal(second.vis, [2, 0, 1, 2])
    np.testing.assert_array_equal(second.human, [True, False, True, True])
    assert ds.skeleton.edges == ((0, 1), (0, 2), (1, 3))
    assert ds.skeleton.flip_pairs == ((1, 2),)  # guessed from leftear/rightear
    assert ds.skeleton.sigmas == (0.05,) * 4


def test_v0_position_is_zeroed_so_round_trip_is_exact():
    data = small_coco()
    data["annotations"][1]["keypoints"][3:6] = [17.0, 18.0, 0]
    ds = parse_coco(data)
    np.testing.assert_array_equal(ds.annotations[1].instance.keypoints.xy[1], [0.0, 0.0])


def test_round_trip_on_openfield_with_all_three_states(openfield):
    data = json.loads((openfield / "annotations.json").read_text(encoding="utf-8"))
    data["annotations"][0]["keypoints"][5] = 1  # leftear occluded
    data["annotations"][0]["keypoints"][6:9] = [0, 0, 0]  # rightear not labelled
    data["annotations"][3]["keypoints"][11] = 1
    first = parse_coco(data, "annotations.json", image_root=openfield / "images")
    built = build_coco(first)
    again = parse_coco(json.loads(json.dumps(built)), "rebuilt.json")
    assert again == first  # images, ids, xy, v, human flags, boxes, skeleton incl. flip pairs, sigmas
    assert [(a.id, a.image_id) for a in again.annotations] == [(a["id"], a["image_id"])
                                                                for a in data["annotations"]]
    src = {a["id"]: a for a in data["annotations"]}
    for ann in again.annotations:
        flat = np.asarray(src[ann.id]["keypoints"], float).reshape(-1, 3)
        np.testing.assert_array_equal(ann.instance.keypoints.vis, flat[:, 2])
        np.testing.assert_array_equal(ann.instance.keypoints.xy, flat[:, :2])
        assert list(ann.instance.box) == src[ann.id]["bbox"]
    assert again.skeleton.edges == ((0, 1), (0, 2), (1, 2), (1, 3), (2, 3))
    assert built["annotations"][0]["keypoints"][3:9] == [33.819, 265.941, 1, 0, 0, 0]


def test_export_follows_design_section_6():
    data = small_coco()
    for i, img in enumerate(data["images"]):
        img["id"] = i  # ids from 0 on import …
    for i, ann in enumerate(data["annotations"]):
        ann["id"], ann["image_id"] = i, [0, 1, 1][i]
    out = build_coco(parse_coco(data))
    assert [im["id"] for im in out["images"]] == [1, 2]  # … are written from 1
    assert [a["id"] for a in out["annotations"]] == [1, 2, 3]
    assert [a["image_id"] for a in out["annotations"]] == [1, 2, 2]
    a0, a1, a2 = out["annotations"]
    assert a1["keypoints"][3:6] == [0, 0, 0] and a1["num_keypoints"] == 3
    assert a2["num_keypoints"] == 1 and a2["area"] == 1.0  # zero-size box: area stays > 0
    assert a0["bbox"] == [1.5, 2.0, 30.0, 20.0] and a0["area"] == 600.0
    assert all(a["iscrowd"] == 0 and a["category_id"] == 1 for a in out["annotations"])
    cat = out["categories"][0]
    assert cat["skeleton"] == [[1, 2], [1, 3], [2, 4]]
    assert cat["flip_pairs"] == [[1, 2]] and cat["sigmas"] == [0.05] * 4


def test_extension_fields_override_guesses_and_round_trip():
    data = small_coco()
    data["categories"][0]["flip_pairs"] = [[0, 3]]
    data["categories"][0]["sigmas"] = [0.01, 0.02, 0.03, 0.04]
    ds = parse_coco(data)
    assert ds.skeleton.flip_pairs == ((0, 3),) and ds.skeleton.sigmas == (0.01, 0.02, 0.03, 0.04)
    assert parse_coco(build_coco(ds)).skeleton == ds.skeleton


def test_seventeen_keypoints_without_sigmas_get_cocos():
    coco17 = load_preset("coco17")
    data = small_coco()
    data["categories"][0]["keypoints"] = list(coco17.keypoints)
    data["categories"][0]["skeleton"] = []
    data["annotations"] = []
    ds = parse_coco(data)
    assert ds.skeleton.sigmas == coco17.sigmas
    assert ds.skeleton.flip_pairs == coco17.flip_pairs


def test_crowd_and_other_categories_are_skipped_and_skeleton_picks_category():
    data = small_coco()
    data["categories"].append({"id": 5, "name": "rat", "keypoints": ["nose", "tail"]})
    data["categories"].append({"id": 6, "name": "cage"})
    data["annotations"].append({"id": 9, "image_id": 1, "category_id": 5, "bbox": [0, 0, 1, 1],
                                "keypoints": [1, 1, 2, 2, 2, 2]})
    data["annotations"].append({"id": 10, "image_id": 1, "category_id": 6, "bbox": [0, 0, 1, 1]})
    data["annotations"][0]["iscrowd"] = 1
    rat = Skeleton("rat", ("nose", "tail"), ((0, 1),))
    ds = parse_coco(data, skeleton=rat)
    assert ds.category_id == 5 and ds.skeleton is rat and [a.id for a in ds.annotations] == [9]
    mouse = Skeleton("m", tuple(NAMES))
    assert [a.id for a in parse_coco(data, skeleton=mouse).annotations] == [2, 3]  # crowd skipped
    with pytest.raises(CocoImportError, match="<memory>: categories: no keypoint category has the keypoints"):
        parse_coco(data, skeleton=Skeleton("x", ("p", "q")))


def test_file_names_are_normalised_and_contained(tmp_path):
    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    data = small_coco()
    data["images"][0]["file_name"] = "sub\\a.png"
    data["images"][1]["file_name"] = "./sub//b.png"
    ds = parse_coco(data, image_root=root)
    assert [im.file_name for im in ds.images] == ["sub/a.png", "sub/b.png"]
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "link")
    data["images"][1]["file_name"] = "link/b.png"
    with pytest.raises(CocoImportError, match=r"x\.json: images\[1\]\.file_name: .*outside the image root"):
        parse_coco(data, "x.json", image_root=root)


def test_pycocotools_reads_the_export_and_scores_it_perfectly(tmp_path, openfield):
    from contextlib import redirect_stdout
    from io import StringIO

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    ds = load_coco(openfield / "annotations.json")
    path = tmp_path / "export.json"
    write_json_atomic(path, build_coco(ds))
    results = build_results([(a.image_id, a.instance.keypoints, 1.0) for a in ds.annotations])
    with redirect_stdout(StringIO()):
        gt = COCO(str(path))  # our extra category fields are ignored
        ev = COCOeval(gt, gt.loadRes(results), iouType="keypoints")
        ev.params.kpt_oks_sigmas = np.array(ds.skeleton.sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert gt.loadCats(1)[0]["flip_pairs"] == [[1, 2]]
    assert ev.stats[0] == pytest.approx(1.0) and ev.stats[5] == pytest.approx(1.0)


def test_build_results_format():
    kp = Keypoints([[1.5, 2.5], [3, 4]], [2, 0], confidence=[0.75, np.nan])
    (entry,) = build_results([(7, kp, 0.5)], category_id=3)
    assert entry == {"image_id": 7, "category_id": 3, "keypoints": [1.5, 2.5, 2.0, 3.0, 4.0, 2.0],
                     "score": 0.5, "keypoint_scores": [0.75, 0.0]}  # the one results format (v = 2)
    with pytest.raises(ValueError, match="image 7"):
        build_results([(7, kp, float("nan"))])
    (read,) = parse_results([entry], 2)
    assert read.keypoint_scores.tolist() == [0.75, 0.0]  # read back from keypoint_scores
    older = {"image_id": 7, "category_id": 3, "keypoints": [1.5, 2.5, 0.75, 3.0, 4.0, 1.0], "score": 0.5}
    (old,) = parse_results([older], 2)
    assert old.keypoint_scores.tolist() == [0.75, 1.0]  # older files: the third value


def test_parse_results_lists_unknown_image_ids():
    good = {"image_id": 1, "category_id": 1, "keypoints": [0.0] * 12, "score": 1.0}
    bad = [good, dict(good, image_id=40), dict(good, image_id=41)]
    pattern = r"res\.json: image_id: 2 image id\(s\) not in the ground truth: 40, 41"
    with pytest.raises(CocoImportError, match=pattern):
        parse_results(bad, 4, "res.json", image_ids={1, 2})
    with pytest.raises(CocoImportError, match=r"res\.json: \[0\]\.score: missing"):
        parse_results([{k: v for k, v in good.items() if k != "score"}], 4, "res.json")


def test_write_json_atomic_replaces_whole_file_or_nothing(tmp_path, monkeypatch):
    path = tmp_path / "out.json"
    write_json_atomic(path, {"a": "mäuse"})
    write_json_atomic(path, {"b": [1, 2]})
    assert json.loads(path.read_text(encoding="utf-8")) == {"b": [1, 2]}
    with pytest.raises(ValueError):
        write_json_atomic(path, {"c": float("nan")})

    def crash(*_args):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        write_json_atomic(path, {"d": 1})
    assert json.loads(path.read_text(encoding="utf-8")) == {"b": [1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temp file left behind


def test_parse_and_build_leave_the_input_alone():
    data = small_coco()
    before = copy.deepcopy(data)
    build_coco(parse_coco(data))
    assert data == before
