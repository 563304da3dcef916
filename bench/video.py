"""Benchmark: video random access and whole-video prediction on the real recording, with baselines.

- Random access: `--requests` uniformly random frame indices (fixed seed), each read as RGB by
  model.io.video.VideoReader with its cache off (so every request decodes), median/p95; baseline in
  the same run: OpenCV seeking with `cv2.CAP_PROP_POS_FRAMES` then `read()` per request.
  Both are checked against a sequential decode (frames that differ are counted).
- Stepping as the timeline does (+1 frame, +10 frames from the shown one): median/p95.
- Whole-video prediction with the demo model over the first `--frames` frames (default all): ours
  (model.infer.tracking: the previous frame's box places one crop pass) vs the same Predictor on
  every frame with a whole-image search (search + refining crop); frames/s including decoding, and
  the fraction of frames whose tracked keypoints differ from the search's by > 5 px (any keypoint).

    python -m bench.video [--video ../shared/data/openfield_video/m3v1mp4.mp4] [--frames 2330] [--threads 1]

The last line is one JSON object with random_access_median_ms, random_access_p95_ms,
random_access_baseline_median_ms, random_access_baseline_p95_ms, video_predict_fps,
video_predict_search_fps, tracked_differs_gt5px_fraction, tracked_fraction and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._common import machine_info  # noqa: E402
from model.infer.predictor import Predictor  # noqa: E402
from model.infer.tracking import predict_sequence  # noqa: E402
from model.io.frames import VideoFrames  # noqa: E402
from model.io.video import VideoReader  # noqa: E402

SHARED = Path(os.environ.get("HGLABEL_SHARED", REPO.parent / "shared"))
DEFAULT_VIDEO = SHARED / "data" / "openfield_video" / "m3v1mp4.mp4"


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def reference_frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    with av.open(str(path)) as container:
        decoded = enumerate(container.decode(video=0))
        return {k: f.to_ndarray(format="rgb24") for k, f in decoded if k in wanted}


def random_access(path: Path, requests: int) -> dict:
    with VideoReader(path) as probe:
        count = probe.frame_count
    order = np.random.default_rng(0).integers(0, count, requests).tolist()
    ref = reference_frames(path, set(order))
    ours, base, wrong_ours, wrong_base = [], [], 0, 0
    reader = VideoReader(path, cache_frames=0)
    cap = cv2.VideoCapture(str(path))
    for k in order:  # interleaved, so load changes hit both alike
        t = time.perf_counter()
        image = reader.read(k)
        ours.append(time.perf_counter() - t)
        wrong_ours += not np.array_equal(image, ref[k])
        t = time.perf_counter()
        cap.set(cv2.CAP_PROP_POS_FRAMES, k)
        ok, bgr = cap.read()
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if ok else None
        base.append(time.perf_counter() - t)
        wrong_base += rgb is None or not np.array_equal(rgb, ref[k])
    reader.close()
    cap.release()
    return {"random_access_median_ms": 1000 * statistics.median(ours),
            "random_access_p95_ms": 1000 * p95(ours),
            "random_access_baseline_median_ms": 1000 * statistics.median(base),
            "random_access_baseline_p95_ms": 1000 * p95(base), "random_access_wrong_frames": wrong_ours,
            "random_access_baseline_wrong_frames": wrong_base, "random_access_requests": requests}


def stepping(path: Path, steps: int = 200) -> dict:
    """The timeline's access pattern: +1 frame (play, `.`) and +10 frames (Shift+→) from where the
    reader is, cache off; median/p95 per shown frame (RGB conversion included)."""
    out = {}
    for name, delta in (("step1", 1), ("step10", 10)):
        reader = VideoReader(path, cache_frames=0)
        k, times = 500, []
        reader.read(k)
        for _ in range(steps):
            k = (k + delta) % reader.frame_count
            t = time.perf_counter()
            reader.read(k)
            times.append(time.perf_counter() - t)
        reader.close()
        out[f"{name}_median_ms"] = 1000 * statistics.median(times)
        out[f"{name}_p95_ms"] = 1000 * p95(times)
    return out


def whole_video(path: Path, checkpoint: Path, frames: int) -> dict:
    predictor = Predictor(checkpoint, device="cpu")
    seq = VideoFrames(path, cache_frames=0)
    indices = list(range(min(frames, len(seq))))
    predictor.predict([(seq.read(0), None)])  # warm-up (weight prepacking)
    t = time.perf_counter()
    tracked = list(predict_sequence(predictor, seq, indices, track=True))
    tracked_s = time.perf_counter() - t
    t = time.perf_counter()
    search = list(predict_sequence(predictor, seq, indices, track=False))
    search_s = time.perf_counter() - t
    by_index = {r.index: r for r in search}
    dist = [float(np.linalg.norm(r.prediction.keypoints - by_index[r.index].prediction.keypoints,
                                 axis=1).max()) for r in tracked if r.index in by_index]
    seq.close()
    return {"video_predict_fps": len(tracked) / tracked_s, "video_predict_search_fps": len(search) / search_s,
            "tracked_differs_gt5px_fraction": float(np.mean(np.array(dist) > 5.0)),
            "tracked_median_px": float(np.median(dist)),
            "tracked_fraction": float(np.mean([r.tracked for r in tracked])),
            "frames_predicted": len(tracked), "precision": predictor.precision}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--checkpoint", type=Path, default=REPO / "assets" / "demo" / "checkpoint.pt")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--frames", type=int, default=10**9)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a loaded 2-core machine two spin-wait)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    figures = random_access(args.video, args.requests) | stepping(args.video)
    print({k: round(v, 2) for k, v in figures.items()}, flush=True)
    figures |= whole_video(args.video, args.checkpoint, args.frames)
    figures["video"] = args.video.name
    figures["machine"] = machine_info()
    figures["load_average_1min"] = os.getloadavg()[0]
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
