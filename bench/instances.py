"""Several instances per image: finder recall/precision on held-out two-mouse scenes, time per image of
finder + pose beside the single-instance pass, identity switches on a synthetic crossing sequence.

Run from the repo root: `python -m bench.instances --finder FINDER.pt` (train one with
`python -m bench._instances_data --out FINDER.pt`: scenes from img0000–img0079 only). The scenes here
are built from img0080–img0115 (never trained on): each frame as base with another frame's mouse
pasted where it stood (boxes apart). A mouse counts as found when a predicted instance's box has
IoU ≥ 0.5 with its box (both the padded keypoint extent); a predicted instance matching no mouse is
an extra. Pose network: the demo model (assets/demo, trained on img0000–img0079). Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from bench._common import machine_info
from bench._instances_data import TEST_NAMES, frames
from bench._instances_track import render_sequence, switches
from model.annotations.boxes import iou_matrix
from model.finder.scenes import two_animal_scenes
from model.infer.predictor import Predictor
from model.tracks.assign import Detection

REPO = Path(__file__).resolve().parents[1]


def score_scene(scene, found) -> tuple[int, int]:
    """(mice found, extra instances) of one scene's predictions."""
    truth = np.stack([a.box for a in scene.animals])
    pred = np.array([p.box for _, p in found], np.float64).reshape(-1, 4)
    if len(pred) == 0:
        return 0, 0
    overlap = iou_matrix(truth, pred)
    rows, cols = linear_sum_assignment(-overlap)
    hits = int((overlap[rows, cols] >= 0.5).sum())
    return hits, len(pred) - hits


def recall_precision(predictor: Predictor, scenes) -> dict:
    found_total, extras, clean = 0, 0, 0
    for scene in scenes:
        hits, extra = score_scene(scene, predictor.predict_image(scene.image))
        found_total, extras, clean = found_total + hits, extras + extra, clean + (extra == 0)
    mice = sum(len(s.animals) for s in scenes)
    return {"finder_recall": found_total / mice, "finder_scenes_without_extra": clean / len(scenes),
            "finder_extra_instances": extras, "scenes": len(scenes), "mice": mice}


def timing(with_finder: Predictor, single: Predictor, images, repeats: int) -> dict:
    """Median ms per image of finder + pose and of the single-instance pass, interleaved."""
    times = {"finder": [], "single": []}
    for _ in range(repeats):
        for image in images:
            for name, pred in (("finder", with_finder), ("single", single)):
                t = time.perf_counter()
                pred.predict_image(image)
                times[name].append(time.perf_counter() - t)
    ms = {k: 1000.0 * float(np.median(v)) for k, v in times.items()}
    return {"ms_per_image_finder_pose": ms["finder"], "ms_per_image_single": ms["single"],
            "finder_pose_over_single": ms["finder"] / ms["single"]}


def tracking(predictor: Predictor, test_frames, n: int) -> dict:
    images, truth = render_sequence(test_frames, n)
    detections = []
    for image in images:
        found = predictor.predict_image(image)
        vis = lambda p: np.where(p.confidence >= 0.1, 2, 0).astype(np.int8)  # noqa: E731
        detections.append([Detection(p.keypoints, vis(p), np.asarray(p.box, np.float64)) for _, p in found])
    result = switches(truth, detections, predictor.skeleton.sigmas)
    return {"id_switches": result["ours"], "id_switches_baseline": result["baseline"], "track_frames": n,
            "id_switches_per_1000": 1000.0 * result["ours"] / n,
            "id_switches_baseline_per_1000": 1000.0 * result["baseline"] / n,
            "track_matched_fraction": result["matched_fraction"],
            "track_right_identity": result["ours_right_identity"],
            "track_right_identity_baseline": result["baseline_right_identity"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--finder", type=Path, required=True, help="finder checkpoint (bench._instances_data)")
    p.add_argument("--pose", type=Path, default=REPO / "assets" / "demo" / "checkpoint.pt")
    p.add_argument("--scenes", type=int, default=72)
    p.add_argument("--track-frames", type=int, default=300)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    test_frames = frames(TEST_NAMES)
    scenes = two_animal_scenes(test_frames, args.scenes, seed=2)
    single = Predictor(args.pose, device="cpu")
    both = Predictor(args.pose, device="cpu", finder=args.finder)
    figures = {"machine": machine_info(), "finder_config": both.finder.config.to_dict(),
               "finder_meta": {k: v for k, v in both.finder.bundle.meta.items() if k != "train"}}
    figures.update(recall_precision(both, scenes))
    print(f"finder recall {figures['finder_recall']:.3f} on {figures['mice']} mice, scenes without an extra "
          f"instance {figures['finder_scenes_without_extra']:.3f} of {figures['scenes']}", flush=True)
    figures.update(timing(both, single, [s.image for s in scenes[:8]], args.repeats))
    print(f"ms/image: finder + pose {figures['ms_per_image_finder_pose']:.0f}, single-instance pass "
          f"{figures['ms_per_image_single']:.0f}", flush=True)
    figures.update(tracking(both, test_frames, args.track_frames))
    print(f"identity switches per 1000 frames: ours {figures['id_switches_per_1000']:.1f}, nearest box "
          f"{figures['id_switches_baseline_per_1000']:.1f}; instances with their first track: ours "
          f"{figures['track_right_identity']:.3f}, nearest box "
          f"{figures['track_right_identity_baseline']:.3f}", flush=True)
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
