"""Benchmark: re-drawing the heatmap dock when the keypoint or stack changes (8 stacks × 16 keypoints).

Runs offscreen. Each redraw is the dock's reaction to a new keypoint (grid of the 8 stacks) or a new
stack (grid of the 16 keypoints) followed by a synchronous paint of the grid (QWidget.grab), so the
figure includes the rendering. Baseline measured in the same run: a full rebuild (new prediction →
levels, colour bar, layout) plus the same paint. Prints one JSON line with dock_redraw_median_ms.

    QT_QPA_PLATFORM=offscreen python -m bench.dock [--repeats 60]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.inspector.dock import MODE_KEYPOINTS, MODE_STACKS, HeatmapDock  # noqa: E402
from model.annotations.skeleton import Skeleton  # noqa: E402
from model.annotations.types import Prediction  # noqa: E402


def synthetic_prediction(stacks: int = 8, keypoints: int = 16, size: int = 64, seed: int = 0) -> Prediction:
    """Gaussian blobs that sharpen and settle from stack 1 to S, as a trained hourglass does."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    centres = rng.uniform(8, size - 8, (keypoints, 2))
    settle = (3.0 / np.arange(1, stacks + 1))[:, None, None]  # early stacks wander more
    uv = centres[None] + rng.normal(0, 1, (stacks, keypoints, 2)) * settle
    amp = (0.3 + 0.7 * np.arange(1, stacks + 1) / stacks)[:, None, None, None]
    d2 = (xx - uv[..., 0, None, None]) ** 2 + (yy - uv[..., 1, None, None]) ** 2
    hm = (amp * np.exp(-d2 / (2 * 1.5**2))).astype(np.float32)
    h2i = np.array([[4.0, 0.0, 101.5], [0.0, 4.0, 51.5]])
    img = uv @ h2i[:, :2].T + h2i[:, 2]
    return Prediction(keypoints=img[-1], confidence=hm[-1].reshape(keypoints, -1).max(1), stack_heatmaps=hm,
                      stack_keypoints=img, heatmap_to_image=h2i, box=(100.0, 50.0, 256.0, 256.0))


def timed(fn, repeats: int) -> tuple[list[float], list[float]]:
    """(wall ms, process CPU ms) of each of `repeats` calls fn(i)."""
    wall, cpu = [], []
    for i in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(i)
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--stacks", type=int, default=8)
    parser.add_argument("--keypoints", type=int, default=16)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    pred = synthetic_prediction(args.stacks, args.keypoints)
    skeleton = Skeleton("bench", tuple(f"kp{i + 1}" for i in range(args.keypoints)))
    dock = HeatmapDock()
    dock.resize(460, 720)
    dock.show()
    dock.set_prediction(pred, skeleton)
    app.processEvents()
    dock.grid.grab()

    def keypoint_change(i):
        dock.set_keypoint(i % args.keypoints)
        dock.grid.grab()

    def stack_change(i):
        dock.set_stack(i % args.stacks)
        dock.grid.grab()

    dock.set_mode(MODE_STACKS)
    by_keypoint, cpu_k = timed(keypoint_change, args.repeats)
    dock.set_mode(MODE_KEYPOINTS)
    by_stack, cpu_s = timed(stack_change, args.repeats)
    other = synthetic_prediction(args.stacks, args.keypoints, seed=1)
    baseline, _ = timed(lambda i: (dock.set_prediction(other if i % 2 else pred, skeleton), dock.grid.grab()),
                        max(10, args.repeats // 3))
    redraw = statistics.median(by_keypoint + by_stack)
    result = {
        "bench": "dock", "stacks": args.stacks, "keypoints": args.keypoints, "heatmap": "64x64",
        "repeats": args.repeats, "dock_redraw_median_ms": round(redraw, 2),
        "dock_redraw_median_cpu_ms": round(statistics.median(cpu_k + cpu_s), 2),
        "keypoint_change_median_ms": round(statistics.median(by_keypoint), 2),
        "stack_change_median_ms": round(statistics.median(by_stack), 2),
        "rebuild_baseline_median_ms": round(statistics.median(baseline), 2),
        "redraw_vs_rebuild": round(redraw / statistics.median(baseline), 3),
        "platform": app.platformName(),
    }
    print(json.dumps(result), flush=True)
    dock.close()
    dock.deleteLater()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
