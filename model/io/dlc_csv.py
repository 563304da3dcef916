"""DeepLabCut's prediction CSV layout: three header rows (scorer / bodyparts / coords), then one row
per frame index with x, y, likelihood for each body part (empty where a frame was not predicted).

    scorer,hglabel_demo,hglabel_demo,hglabel_demo,...
    bodyparts,snout,snout,snout,...
    coords,x,y,likelihood,...
    0,123.4,56.7,0.93,...

pandas reads it as DeepLabCut writes it: `pd.read_csv(path, header=[0, 1, 2], index_col=0)`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from model.io.atomic import write_text_atomic


def dlc_csv_text(scorer: str, bodyparts: Sequence[str], rows: Mapping[int, Sequence[float]],
                 frame_count: int) -> str:
    """rows[frame] = 3·K values (x, y, likelihood per body part); frames 0..frame_count-1 listed."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["scorer"] + [scorer] * (3 * len(bodyparts)))
    writer.writerow(["bodyparts"] + [name for name in bodyparts for _ in range(3)])
    writer.writerow(["coords"] + ["x", "y", "likelihood"] * len(bodyparts))
    for frame in range(frame_count):
        values = rows.get(frame)
        if values is None:
            writer.writerow([frame] + [""] * (3 * len(bodyparts)))
        else:
            writer.writerow([frame] + [f"{float(v):.3f}" if i % 3 < 2 else f"{float(v):.5f}"
                                       for i, v in enumerate(values)])
    return buf.getvalue()


def results_to_rows(results: Sequence[Mapping]) -> dict[int, list[float]]:
    """COCO results entries (image_id = frame, keypoints [x, y, v]·K, keypoint_scores) → CSV rows."""
    rows: dict[int, list[float]] = {}
    for entry in results:
        kp = entry["keypoints"]
        scores = entry.get("keypoint_scores") or [entry.get("score", 0.0)] * (len(kp) // 3)
        rows[int(entry["image_id"])] = [v for j in range(len(kp) // 3)
                                        for v in (kp[3 * j], kp[3 * j + 1], scores[j])]
    return rows


def write_dlc_csv(path: Path, scorer: str, bodyparts: Sequence[str], results: Sequence[Mapping],
                  frame_count: int) -> None:
    """Write the CSV atomically (model.io.atomic: a crash leaves the old file or the new one)."""
    write_text_atomic(path, dlc_csv_text(scorer, bodyparts, results_to_rows(results), frame_count))
