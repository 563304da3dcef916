"""evaluate(): pycocotools OKS AP with our sigmas, PCK, pixel errors, matching, edge cases; `hglabel eval`."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from model.annotations.presets import load_preset
from model.annotations.types import Keypoints
from model.cli import main as cli_main
from model.evaluation import evaluate
from model.evaluation.evaluate import pycocotools_gt
from model.evaluation.matching import gt_area, oks
from model.io.coco import CocoImportError, build_results, load_coco, parse_coco, write_json_atomic
from tests.model.io.test_coco import small_coco


@pytest.fixture(scope="module")
def mouse(openfield):
    return load_coco(openfield / "annotations.json")


def _shifted(ds, offset, score=1.0, rng=None):
    items = []
    for ann in ds.annotations:
        kp = ann.instance.keypoints
        noise = rng.normal(0, offset, kp.xy.shape) if rng is not None else np.asarray(offset, float)
        items.append((ann.image_id, Keypoints(kp.xy + noise, kp.vis), score))
    return build_results(items)


def test_ground_truth_against_itself_is_perfect(openfield, mouse, tmp_path):
    res = tmp_path / "res.json"
    write_json_atomic(res, build_results([(a.image_id, a.instance.keypoints, 1.0)
                                          for a in mouse.annotations]))
    out = evaluate(openfield / "annotations.json", res)
    for name in ("AP", "AP50", "AP75", "AR", "PCK@0.05", "PCK@0.1", "PCK@0.2"):
        assert out[name] == pytest.approx(1.0), name
    assert out["mean_px_error"] == 0.0 and out["labelled_keypoints"] == 48
    assert out["counts"] == {"images": 12, "gt_instances": 12, "results": 12, "matched_instances": 12}


def test_known_offset_gives_exact_errors_and_pck(mouse):
    out = evaluate(pycocotools_gt(mouse), _shifted(mouse, (9.6, 12.8)))  # 16 px on every keypoint
    assert out["mean_px_error"] == pytest.approx(16.0) and out["median_px_error"] == pytest.approx(16.0)
    diag = np.array([np.hypot(a.instance.box[2], a.instance.box[3]) for a in mouse.annotations])
    expected = {alpha: np.mean(alpha * diag >= 16.0) for alpha in (0.05, 0.1, 0.2)}
    assert 0.0 < expected[0.1] < 1.0  # the offset sits between thresholds for this data
    for alpha, value in expected.items():
        assert out[f"PCK@{alpha:g}"] == pytest.approx(value)
    for name in mouse.skeleton.keypoints:
        per = out["per_keypoint"][name]
        assert per["labelled_keypoints"] == 12 and per["mean_px_error"] == pytest.approx(16.0)
        assert per["PCK@0.1"] == pytest.approx(expected[0.1])
    assert out["AP"] == 0.0  # 16 px is beyond every OKS threshold on these small boxes
    assert 0.0 < evaluate(pycocotools_gt(mouse), _shifted(mouse, (3.0, 4.0)))["AP"] < 1.0  # 5 px: partly


def test_our_oks_is_cocoevals(mouse):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    results = _shifted(mouse, 4.0, rng=np.random.default_rng(3))
    sigmas = np.array([0.03, 0.05, 0.07, 0.09])
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = pycocotools_gt(mouse)
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(json.loads(json.dumps(results))), iouType="keypoints")
        ev.params.kpt_oks_sigmas = sigmas
        ev.evaluate()
    for ann, res in list(zip(mouse.annotations, results, strict=True))[:20]:
        xy = np.asarray(res["keypoints"]).reshape(-1, 3)[:, :2]
        ours = oks(ann, xy, sigmas, gt_area(ann))
        assert ours == pytest.approx(ev.ious[(ann.image_id, 1)][0, 0], rel=1e-12)


def test_sigmas_are_used(mouse):
    results = _shifted(mouse, 3.0, rng=np.random.default_rng(0))
    tight = evaluate(pycocotools_gt(mouse), results, sigmas=[0.02] * 4)
    loose = evaluate(pycocotools_gt(mouse), results, sigmas=[0.2] * 4)
    assert tight["AP"] < loose["AP"] and tight["sigmas"] == [0.02] * 4
    assert tight["PCK@0.1"] == loose["PCK@0.1"]  # PCK does not depend on sigmas
    with pytest.raises(ValueError, match="sigmas: expected 4 positive numbers"):
        evaluate(pycocotools_gt(mouse), results, sigmas=[0.1, 0.1])


def test_seventeen_keypoints_default_to_coco_sigmas():
    coco17 = load_preset("coco17")
    data = small_coco()
    data["categories"][0]["keypoints"] = list(coco17.keypoints)
    data["categories"][0]["skeleton"] = []
    flat = [10.0, 12.0, 2] * 17
    data["annotations"] = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 40],
                            "keypoints": flat}]
    out = evaluate(data, [{"image_id": 1, "category_id": 1, "keypoints": flat, "score": 0.9}])
    assert out["sigmas"] == list(coco17.sigmas) and out["AP"] == pytest.approx(1.0)


def test_unlabelled_keypoints_are_not_scored():
    data = small_coco()  # annotation 2 has keypoint 1 at v = 0; annotation 3 has one labelled keypoint
    ds = parse_coco(data)
    far = [(a.image_id, Keypoints(np.where(a.instance.keypoints.vis[:, None] > 0,
                                           a.instance.keypoints.xy, 1e4), a.instance.keypoints.vis), 1.0)
           for a in ds.annotations]
    out = evaluate(data, build_results(far))
    assert out["labelled_keypoints"] == 4 + 3 + 1
    assert out["PCK@0.05"] == 1.0 and out["mean_px_error"] == 0.0
    assert out["per_keypoint"]["leftear"]["labelled_keypoints"] == 1


def test_multi_instance_matching_by_oks_not_order():
    data = small_coco()
    anns = parse_coco(data).annotations
    a2, a3 = anns[1].instance.keypoints, anns[2].instance.keypoints  # both on image 2
    results = build_results([(2, a3, 0.9), (2, a2, 0.8), (2, Keypoints(a2.xy + 30, a2.vis), 0.1)])
    out = evaluate(data, results)
    assert out["counts"]["matched_instances"] == 2  # image 1's instance has no result
    assert out["mean_px_error"] == 0.0  # the low-score false positive did not steal a match
    assert out["PCK@0.2"] == pytest.approx(4 / 8)  # image 1's 4 labelled keypoints count as missed
    assert out["matched_keypoints"] == 4


def test_single_instance_takes_the_top_scoring_result():
    data = small_coco()
    good = parse_coco(data).annotations[0].instance.keypoints
    bad = Keypoints(good.xy + 7.0, good.vis)
    out = evaluate(data, build_results([(1, good, 0.3), (1, bad, 0.6)]))
    assert out["per_keypoint"]["snout"]["mean_px_error"] == pytest.approx(7.0 * np.sqrt(2))


def test_empty_results_are_zeros(mouse):
    out = evaluate(pycocotools_gt(mouse), [])
    assert out["AP"] == out["AR"] == out["PCK@0.1"] == 0.0
    assert out["mean_px_error"] is None and out["counts"]["matched_instances"] == 0


def test_results_for_unknown_images_or_wrong_shape_are_refused(mouse, tmp_path):
    good = _shifted(mouse, (0.0, 0.0))[:2]
    bad = good + [dict(good[0], image_id=5000), dict(good[0], image_id=4000)]
    with pytest.raises(CocoImportError, match="results: image_id: 2 image id.* 4000, 5000"):
        evaluate(pycocotools_gt(mouse), bad)
    path = tmp_path / "r.json"
    path.write_text(json.dumps([dict(good[0], keypoints=[1, 2, 3])]), encoding="utf-8")
    with pytest.raises(CocoImportError, match=r"r\.json: \[0\]\.keypoints: expected 12 values"):
        evaluate(pycocotools_gt(mouse), path)
    path.write_text(json.dumps([dict(good[0], category_id=3)]), encoding="utf-8")
    with pytest.raises(CocoImportError, match=r"r\.json: \[0\]\.category_id: 3 is not"):
        evaluate(pycocotools_gt(mouse), path)


def test_zero_based_ids_still_evaluate_perfectly():
    data = small_coco()
    for ann in data["annotations"]:
        ann["id"] -= 1  # annotation id 0 must not count as "unmatched" inside COCOeval
    ds = parse_coco(data)
    out = evaluate(data, build_results([(a.image_id, a.instance.keypoints, 1.0) for a in ds.annotations]))
    assert out["AP"] == pytest.approx(1.0) and out["AR"] == pytest.approx(1.0)


def test_cli_eval_json_on_openfield(openfield, mouse, tmp_path, capsys):
    res = tmp_path / "res.json"
    write_json_atomic(res, build_results([(a.image_id, a.instance.keypoints, 1.0)
                                          for a in mouse.annotations]))
    assert cli_main(["eval", str(openfield / "annotations.json"), str(res), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("AP", "AP50", "AP75", "AR", "PCK@0.05", "PCK@0.1", "PCK@0.2", "mean_px_error"):
        assert key in out
    assert out["AP"] == pytest.approx(1.0) and out["mean_px_error"] == 0.0
    assert set(out["per_keypoint"]) == {"snout", "leftear", "rightear", "tailbase"}
    assert cli_main(["eval", str(openfield / "annotations.json"), str(res)]) == 0
    table = capsys.readouterr().out
    assert "AP 100.0" in table and "tailbase" in table


def test_cli_eval_malformed_file_is_one_line_error(openfield, tmp_path, capsys):
    res = tmp_path / "res.json"
    res.write_text('[{"image_id": 1, "keypoints": [1, 2], "score": 1}]', encoding="utf-8")
    assert cli_main(["eval", str(openfield / "annotations.json"), str(res)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{res}: [0].keypoints: expected 12 values" in err
