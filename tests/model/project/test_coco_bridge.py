"""Project ↔ COCO: exact openfield round trip, pycocotools AP = 1.0, export choices, import merge."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from model.annotations import edits as E
from model.annotations.skeleton import Skeleton
from model.annotations.types import ReviewStatus
from model.io.coco import CocoImportError
from model.project.coco_bridge import ExportError, export_coco, export_results, import_coco
from model.project.store import ProjectStore

SK = Skeleton("s", ("a", "b", "c"), edges=((0, 1), (1, 2)), flip_pairs=())


def _by_name(coco: dict) -> dict[str, tuple[dict, list[dict]]]:
    names = {im["id"]: im for im in coco["images"]}
    out = {im["file_name"]: (im, []) for im in coco["images"]}
    for ann in coco["annotations"]:
        out[names[ann["image_id"]]["file_name"]][1].append(ann)
    return out


def test_openfield_round_trip_is_exact_and_scores_ap_one(openfield, tmp_path):
    src = json.loads((openfield / "annotations.json").read_text())
    import_coco(openfield / "annotations.json", openfield / "images", project=tmp_path / "p.db")
    with ProjectStore.open(tmp_path / "p.db") as store:
        assert store.progress() == (len(src["images"]), len(src["images"]))
        export_coco(store, tmp_path / "out.json")
    out = json.loads((tmp_path / "out.json").read_text())
    (cat_in,), (cat_out,) = src["categories"], out["categories"]
    assert cat_out["keypoints"] == cat_in["keypoints"] and cat_out["skeleton"] == cat_in["skeleton"]
    before, after = _by_name(src), _by_name(out)
    assert before.keys() == after.keys()
    for name, (im, anns) in before.items():
        im2, anns2 = after[name]
        assert (im2["width"], im2["height"]) == (im["width"], im["height"])
        key = [(a["keypoints"], a["bbox"]) for a in anns]
        assert key == [(a["keypoints"], a["bbox"]) for a in anns2], name
    _assert_self_ap_is_one(tmp_path / "out.json", out)


def _assert_self_ap_is_one(path: Path, coco: dict) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        results = [{"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"],
                    "score": 1.0} for a in coco["annotations"]]
        ev = COCOeval(gt, gt.loadRes(results), "keypoints")
        ev.params.kpt_oks_sigmas = np.array(coco["categories"][0]["sigmas"])
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def _coco_file(path: Path, names: list[str], keypoints: list[list[float]]) -> Path:
    images = [{"id": i + 1, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(names)]
    anns = [{"id": i + 1, "image_id": (i % len(names)) + 1, "category_id": 1, "keypoints": kp,
             "num_keypoints": sum(1 for v in kp[2::3] if v), "bbox": [1.25, 2.5, 30.0, 20.0 + i],
             "area": 1.0, "iscrowd": 0} for i, kp in enumerate(keypoints)]
    cat = {"id": 1, "name": "s", "keypoints": list(SK.keypoints), "skeleton": [[1, 2], [2, 3]]}
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [cat]}))
    return path


def _folder(tmp_path: Path, names: list[str]) -> Path:
    root = tmp_path / "imgs"
    for n in names:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_bytes(b"")
    return root


def test_all_three_visibility_states_and_full_precision_survive(tmp_path):
    names = ["a/x1.png", "a/x2.png"]
    kps = [[0.1 + 0.2, 1 / 3, 2, 5e-324 + 7.0, 100 / 7, 1, 0, 0, 0], [12.5, 13.25, 1, 0, 0, 0, 3.0, 4.0, 2]]
    coco = _coco_file(tmp_path / "in.json", names, kps)
    root = _folder(tmp_path, names)
    import_coco(coco, root)
    with ProjectStore.open_folder(root) as store:
        inst = store.instances(store.image_id("a/x1.png"))[0]
        assert inst.keypoints.vis.tolist() == [2, 1, 0]
        assert inst.keypoints.human.tolist() == [True, True, False]
        export_coco(store, tmp_path / "out.json")
    out = json.loads((tmp_path / "out.json").read_text())
    assert [a["keypoints"] for a in out["annotations"]] == kps
    assert [a["num_keypoints"] for a in out["annotations"]] == [2, 2]


def _project_with_states(tmp_path: Path):
    """Four images: done (human), in review (one human kp + one model kp), predicted (model only), skipped."""
    names = ["d.png", "r.png", "p.png", "s.png"]
    root = _folder(tmp_path, names)
    store = ProjectStore.create(tmp_path / "p.db", root, SK)
    ids = {n: store.image_id(n) for n in names}
    for name in names:
        store.set_image_size(ids[name], 64, 48)
        pred = E.apply_prediction(ids[name], None, [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], [0.9, 0.8, 0.7],
                                  (0, 0, 10, 10), 0.8)
        store.apply(pred)
    r_inst = store.instances(ids["r.png"])[0]
    store.apply(E.move_keypoint(ids["r.png"], r_inst, 1, 20.0, 21.0))
    d_inst = store.instances(ids["d.png"])[0]
    store.apply(E.Batch((E.accept_prediction(ids["d.png"], d_inst),
                         E.SetStatus(ids["d.png"], ReviewStatus.UNLABELLED, ReviewStatus.DONE))))
    for name, status in (("r.png", ReviewStatus.IN_REVIEW), ("p.png", ReviewStatus.PREDICTED),
                         ("s.png", ReviewStatus.SKIPPED)):
        store.apply(E.SetStatus(ids[name], ReviewStatus.UNLABELLED, status))
    return store


@pytest.mark.parametrize(("labelled", "preds", "expected"), [
    (False, False, {"d.png": [[1.0, 1.0, 2, 2.0, 2.0, 2, 3.0, 3.0, 2]]}),
    (True, False, {"d.png": [[1.0, 1.0, 2, 2.0, 2.0, 2, 3.0, 3.0, 2]],
                   "r.png": [[0, 0, 0, 20.0, 21.0, 2, 0, 0, 0]]}),
    (True, True, {"d.png": [[1.0, 1.0, 2, 2.0, 2.0, 2, 3.0, 3.0, 2]],
                  "r.png": [[1.0, 1.0, 2, 20.0, 21.0, 2, 3.0, 3.0, 2]],
                  "p.png": [[1.0, 1.0, 2, 2.0, 2.0, 2, 3.0, 3.0, 2]]}),
])
def test_export_selection(tmp_path, labelled, preds, expected):
    with _project_with_states(tmp_path) as store:
        export_coco(store, tmp_path / "out.json", labelled=labelled, include_predictions=preds)
    got = {name: [a["keypoints"] for a in anns] for name, (_, anns) in
           _by_name(json.loads((tmp_path / "out.json").read_text())).items()}
    assert got == expected


def test_results_export_lists_model_instances(tmp_path):
    with _project_with_states(tmp_path) as store:
        report = export_results(store, tmp_path / "res.json")
        ids = {store.image_id(n) for n in ("r.png", "p.png", "s.png")}
    res = json.loads((tmp_path / "res.json").read_text())
    assert report.annotations == 3 and {r["image_id"] for r in res} == ids  # d.png was accepted → human
    assert all(len(r["keypoints"]) == 9 and r["score"] == pytest.approx(0.8) for r in res)


def test_import_into_existing_project_matches_paths_skips_or_replaces(tmp_path):
    names = ["x1.png", "x2.png", "new/x3.png"]
    root = _folder(tmp_path, names[:2])
    store = ProjectStore.open_folder(root, SK)
    x1 = store.image_id("x1.png")
    store.apply(E.AddInstance(x1, E.Instance(E.Keypoints.empty(3), (0, 0, 1, 1))))
    store.close()
    coco = _coco_file(tmp_path / "in.json", names, [[1, 1, 2] * 3, [2, 2, 2] * 3, [3, 3, 1] * 3])
    report = import_coco(coco, root)
    counts = (report.images_added, report.images_matched, report.images_skipped, report.annotations)
    assert counts == (1, 2, 1, 2)
    with ProjectStore.open_folder(root) as store:
        assert store.image_id("x1.png") == x1 and store.instances(x1)[0].keypoints.num_labelled == 0
        assert store.image(x1).status == ReviewStatus.UNLABELLED
        assert store.image(store.image_id("new/x3.png")).missing  # listed in COCO, absent on disk
    report = import_coco(coco, root, replace=True)
    with ProjectStore.open_folder(root) as store:
        (inst,) = store.instances(x1)
        assert inst.keypoints.xy.tolist() == [[1.0, 1.0]] * 3 and store.image(x1).status == ReviewStatus.DONE


def test_import_refuses_other_skeletons_and_escaping_names(tmp_path):
    root = _folder(tmp_path, ["x1.png"])
    ProjectStore.open_folder(root, Skeleton("o", ("p", "q", "r"))).close()
    coco = _coco_file(tmp_path / "in.json", ["x1.png"], [[1, 1, 2] * 3])
    with pytest.raises(CocoImportError, match="in.json.*categories"):
        import_coco(coco, root)
    bad = _coco_file(tmp_path / "bad.json", ["../up.png"], [[1, 1, 2] * 3])
    with pytest.raises(CocoImportError, match=r"bad.json: images\[0\].file_name"):
        import_coco(bad, root, project=tmp_path / "q.db")
    assert not (tmp_path / "q.db").exists()


def test_export_reads_unknown_sizes_and_names_unreadable_images(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    cv2.imwrite(str(root / "real.png"), np.zeros((30, 40, 3), np.uint8))
    (root / "broken.png").write_bytes(b"not a png")
    with ProjectStore.create(tmp_path / "p.db", root, SK) as store:
        real = store.image_id("real.png")
        store.apply(E.SetStatus(real, ReviewStatus.UNLABELLED, ReviewStatus.DONE))
        export_coco(store, tmp_path / "out.json")
        assert json.loads((tmp_path / "out.json").read_text())["images"][0]["width"] == 40
        assert (store.image(real).width, store.image(real).height) == (40, 30)
        broken = store.image_id("broken.png")
        store.apply(E.SetStatus(broken, ReviewStatus.UNLABELLED, ReviewStatus.DONE))
        with pytest.raises(ExportError, match="broken.png"):
            export_coco(store, tmp_path / "out.json")
    kept = json.loads((tmp_path / "out.json").read_text())  # the failed export left the old file
    assert [im["file_name"] for im in kept["images"]] == ["real.png"]


def test_cli_import_export_info(openfield, tmp_path, capsys):
    from model.cli import main

    db = tmp_path / "p.db"
    assert main(["import", str(openfield / "annotations.json"), "--images", str(openfield / "images"),
                 "--project", str(db)]) == 0
    assert main(["info", str(db), "--json"]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["images"]["done"] == 12 and info["instances"]["human"] == 12
    assert main(["export", str(db), "--out", str(tmp_path / "o.json"), "--all"]) == 0
    assert len(json.loads((tmp_path / "o.json").read_text())["annotations"]) == 12
    capsys.readouterr()
    for argv in (["info", str(tmp_path / "nothing")], ["export", str(tmp_path), "--out", "x.json"],
                 ["import", str(tmp_path / "none.json"), "--images", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith(f"hglabel {argv[0]}: error:"), err
