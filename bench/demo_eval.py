"""Accuracy of the shipped demo model on the openfield evaluation frames img0080–img0115 (never trained on).

Top-down protocol: each frame's labelled box is given to the Predictor (crop = box × 1.25), keypoints
are decoded as in the app (DARK), and model.evaluation scores them: mean pixel error, PCK at 0.05 and
0.1 of the box diagonal, OKS AP (pycocotools, the skeleton's sigmas). Also reported: the no-box
protocol (whole-image pass → box from its keypoints → crop pass), as the app runs on an unlabelled
frame, and per-keypoint errors. Prints a table, then ONE JSON line. Run from the repository root:

    python bench/demo_eval.py [--checkpoint assets/demo/checkpoint.pt] [--flip-test] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from model.annotations.types import Keypoints  # noqa: E402
from model.evaluation.evaluate import evaluate  # noqa: E402
from model.infer.predictor import Predictor  # noqa: E402
from model.io.coco import build_results, read_json  # noqa: E402
from model.io.images import read_image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OPENFIELD = REPO.parent / "shared" / "data" / "openfield_mouse"
EVAL_FRAMES = re.compile(r"^img0(08\d|09\d|10\d|11[0-5])\.png$")  # img0080 … img0115


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, default=REPO / "assets" / "demo" / "checkpoint.pt")
    p.add_argument("--data", type=Path, default=OPENFIELD, help="openfield_mouse folder")
    p.add_argument("--device", default="cpu")
    p.add_argument("--flip-test", action="store_true", help="average with the mirrored crop")
    return p.parse_args(argv)


def eval_split(data: Path) -> dict:
    """The ground-truth COCO dict restricted to the evaluation frames."""
    gt = read_json(data / "annotations.json")
    gt["images"] = [im for im in gt["images"] if EVAL_FRAMES.match(im["file_name"])]
    ids = {im["id"] for im in gt["images"]}
    gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in ids]
    if len(gt["images"]) != 36:
        found = len(gt["images"])
        raise SystemExit(f"{data}: expected the 36 evaluation frames img0080–img0115, found {found}")
    return gt


def predict(predictor: Predictor, gt: dict, data: Path, use_boxes: bool) -> tuple[list[dict], float]:
    """COCO results for every GT annotation (its box, or none) and the seconds per frame."""
    files = {im["id"]: im["file_name"] for im in gt["images"]}
    anns = gt["annotations"]
    images = {i: read_image(data / "images" / name) for i, name in files.items()}
    items = [(images[a["image_id"]], a["bbox"] if use_boxes else None) for a in anns]
    start = time.perf_counter()
    preds = predictor.predict(items, batch_size=8)
    seconds = (time.perf_counter() - start) / len(items)
    entries = [(a["image_id"], Keypoints(p.keypoints, np.full(len(p.keypoints), 2), p.confidence), p.score)
               for a, p in zip(anns, preds, strict=True)]
    return build_results(entries), seconds


def summary(stats: dict) -> dict:
    keep = ("AP", "AP50", "AP75", "PCK@0.05", "PCK@0.1", "PCK@0.2", "mean_px_error", "median_px_error")
    out = {k: stats.get(k) for k in keep}
    out["per_keypoint_px_error"] = {k: v["mean_px_error"] for k, v in stats["per_keypoint"].items()}
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    gt = eval_split(args.data)
    predictor = Predictor(args.checkpoint, device=args.device, flip_test=args.flip_test)
    report = {"bench": "demo_eval", "checkpoint": str(args.checkpoint), "frames": len(gt["images"]),
              "flip_test": args.flip_test, "config": predictor.config.to_dict(),
              "precision": predictor.precision}
    for name, boxes in (("gt_boxes", True), ("no_boxes", False)):
        results, seconds = predict(predictor, gt, args.data, boxes)
        report[name] = summary(evaluate(gt, results))
        report[name]["seconds_per_frame"] = seconds
    print(f"{'protocol':<10}{'mean px':>9}{'median':>8}{'PCK@.05':>9}{'PCK@.1':>8}{'AP':>7}")
    for name in ("gt_boxes", "no_boxes"):
        r = report[name]
        print(f"{name:<10}{r['mean_px_error']:>9.2f}{r['median_px_error']:>8.2f}{r['PCK@0.05']:>9.3f}"
              f"{r['PCK@0.1']:>8.3f}{r['AP']:>7.3f}")
    per_keypoint = report["gt_boxes"]["per_keypoint_px_error"]
    print("per keypoint (gt boxes):", {k: round(v, 2) for k, v in per_keypoint.items()})
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
