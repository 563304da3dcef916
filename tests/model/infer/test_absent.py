"""Probably-absent keypoints: per-keypoint peak thresholds calibrated on labelled frames (constructed
peaks and real frames), carried in the checkpoint, applied by the predictor (v = 0), written as v = 0
by `hglabel predict` and exported as v = 0 from a project."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from model.annotations.review import ReviewPolicy
from model.annotations.types import Prediction, ReviewStatus
from model.infer.absent import absent_mask, calibrate_thresholds, thresholds_from_meta
from model.infer.checkpoint import build_model, load_checkpoint, save_checkpoint
from model.infer.jobs import result_entry
from model.infer.predictor import Predictor
from model.io.images import read_image
from model.project.merge import edits_for_result
from model.train.data import items_from_coco
from model.train.validate import predict_items


def test_threshold_separates_constructed_peaks() -> None:
    # keypoint 0 always present; keypoint 1 absent in most frames (peaks ≤ 0.27) and present (≥ 0.50)
    # in the others, as in the dataset of issue 14; keypoint 2 overlaps: the cut with fewest mistakes
    conf = np.array([[0.9, 0.10, 0.30], [0.8, 0.27, 0.60], [0.95, 0.20, 0.40], [0.85, 0.50, 0.70],
                     [0.9, 0.66, 0.65], [0.7, 0.05, 0.20]])
    vis = np.array([[2, 0, 0], [2, 0, 2], [2, 0, 0], [2, 2, 2], [2, 2, 0], [2, 0, 0]])
    thr = calibrate_thresholds(conf, vis)
    assert thr[0] == 0.0  # no absent example: never absent
    assert thr[1] == pytest.approx((0.27 + 0.50) / 2)
    mask = absent_mask(conf, thr)
    assert (mask[:, 1] == (vis[:, 1] == 0)).all()
    assert np.sum(mask[:, 2] != (vis[:, 2] == 0)) == 1  # 0.65 absent vs 0.60 present: one mistake at best
    assert thresholds_from_meta({"absent_threshold": [0.1, 0.2]}, 3) is None  # does not fit: ignored
    assert thresholds_from_meta({"absent_threshold": list(thr)}, 3).tolist() == thr.tolist()


RADIUS = 45  # px painted over around the tailbase (the mouse is ~150 px long)


@pytest.fixture(scope="module")
def masked_frames(demo_eval: Path, tmp_path_factory):
    """The demo's 8 labelled frames; in 4 the tailbase is painted over and labelled absent (v = 0)."""
    folder = tmp_path_factory.mktemp("masked")
    data = json.loads((demo_eval / "annotations.json").read_text())
    k = data["categories"][0]["keypoints"].index("tailbase")
    import cv2

    for i, ann in enumerate(sorted(data["annotations"], key=lambda a: a["image_id"])):
        image = next(im for im in data["images"] if im["id"] == ann["image_id"])
        pixels = read_image(demo_eval / "images" / image["file_name"])
        if i % 2 == 0:
            x, y = ann["keypoints"][3 * k:3 * k + 2]
            fill = tuple(int(c) for c in np.median(pixels.reshape(-1, 3), axis=0))
            cv2.circle(pixels, (int(x), int(y)), RADIUS, fill, -1)
            ann["keypoints"][3 * k:3 * k + 3] = [0, 0, 0]
        cv2.imwrite(str(folder / image["file_name"]), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    (folder / "annotations.json").write_text(json.dumps(data))
    return folder, k


def test_calibration_on_real_frames_marks_the_hidden_keypoint_absent(demo_eval: Path, masked_frames,
                                                                     tmp_path: Path) -> None:
    folder, k = masked_frames
    bundle = load_checkpoint(demo_eval / "checkpoint.pt")
    skeleton, items = items_from_coco(folder / "annotations.json", folder)
    _, conf, _, _ = predict_items(build_model(bundle), items, bundle.config, skeleton, bundle.normalization,
                                  "cpu")
    vis = np.stack([it.vis for it in items])
    thr = calibrate_thresholds(conf, vis)
    hidden, shown = conf[vis[:, k] == 0, k], conf[vis[:, k] > 0, k]
    assert thr[k] > 0 and (hidden < thr[k]).all() and (shown >= thr[k]).all(), (hidden, shown)
    ckpt = save_checkpoint(tmp_path / "calibrated.pt", bundle.state_dict, bundle.config, bundle.skeleton,
                           bundle.normalization, {"absent_threshold": [float(t) for t in thr]})
    predictor = Predictor(ckpt, device="cpu")
    preds = predictor.predict([(read_image(it.image_path), tuple(it.box)) for it in items])
    for it, pred in zip(items, preds, strict=True):
        expected = 0 if it.vis[k] == 0 else 2
        assert pred.visibility[k] == expected
        assert (pred.visibility[np.arange(len(pred.visibility)) != k] == 2).all()
        entry = result_entry(1, pred, 1)  # `hglabel predict` writes this entry
        assert entry["keypoints"][3 * k + 2] == expected


def _prediction(absent: np.ndarray) -> Prediction:
    xy = np.array([[10.0, 12.0], [20.0, 14.0], [30.0, 40.0], [50.0, 60.0]])
    return Prediction(xy, np.array([0.9, 0.8, 0.9, 0.1], np.float32), np.zeros((1, 4, 4, 4), np.float32),
                      xy[None], np.eye(2, 3), (0.0, 0.0, 64.0, 64.0), absent=absent)


def test_absent_suggestion_is_stored_and_exported_as_v0(tmp_path: Path, openfield: Path) -> None:
    from model.project.coco_writer import project_coco_dict
    from model.project.store import ProjectStore
    from model.train.data import items_from_coco as _items  # the skeleton of the openfield set

    skeleton, _ = _items(openfield / "annotations.json", openfield / "images")
    folder = tmp_path / "frames"
    folder.mkdir()
    import shutil

    shutil.copy(next((openfield / "images").glob("*.png")), folder / "a.png")
    with ProjectStore.open_folder(folder, skeleton=skeleton) as store:
        (record,) = store.images()
        pred = _prediction(np.array([False, False, False, True]))
        for edit in edits_for_result(record.id, record.status, [], [(None, pred)], ReviewPolicy()):
            store.apply(edit)
        (inst,) = store.instances(record.id)
        assert inst.keypoints.vis.tolist() == [2, 2, 2, 0]
        from model.annotations.edits import SetStatus

        store.apply(SetStatus(record.id, store.image(record.id).status, ReviewStatus.DONE))
        (ann,) = project_coco_dict(store, False, False)["annotations"]
    assert ann["keypoints"][2::3] == [2, 2, 2, 0]
