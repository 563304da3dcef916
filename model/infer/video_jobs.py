"""Whole-video prediction for `hglabel predict VIDEO`: contiguous rank shares, tracked crops, results.

Frames split across torchrun ranks in contiguous blocks (rank r of W gets frames
[r·N/W, (r+1)·N/W)), so tracking works inside each block; the JobOutput uses the frame index as
both the order key and the COCO image id. Images entries name each frame as
"<video stem>_<index:06d>.png" (what `hglabel frames --out` writes) with `frame_index` and `video`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from model.infer.jobs import JobOutput, result_entry
from model.infer.tracking import TrackingRule, predict_sequence
from model.io.frames import frame_file_name


def rank_block(count: int, rank: int, world: int) -> range:
    """Frames of one rank: a contiguous block, sizes differing by at most one."""
    return range(count * rank // world, count * (rank + 1) // world)


def predict_video(
    predictor, frames, indices: range | list[int], category_id: int = 1, track: bool = True,
    on_progress: Callable[[int], None] | None = None, rule: TrackingRule | None = None,
) -> JobOutput:
    """Predict `frames` (a VideoFrames) at indices into a JobOutput (one instance per frame);
    undecodable frames are listed in failures, never fatal."""
    out = JobOutput()
    name = Path(frames.path).name
    width, height = frames.reader.info.width, frames.reader.info.height
    seen: set[int] = set()
    for result in predict_sequence(predictor, frames, list(indices), track=track, rule=rule or TrackingRule(),
                                   on_progress=(lambda done, total: on_progress(1)) if on_progress else None):
        k = result.index
        seen.add(k)
        entry = result_entry(k, result.prediction, category_id)
        entry["tracked"] = result.tracked
        if result.uncertainty is not None:
            entry["uncertainty"] = round(float(result.uncertainty), 4)
        out.results.append((k, 0, entry))
        out.images.append((k, {"id": k, "file_name": frame_file_name(frames.stem, k), "width": width,
                               "height": height, "frame_index": k, "video": name}))
    for k in indices:
        if k not in seen:
            out.failures.append((k, f"{frames.path}: frame {k} cannot be decoded"))
    return out
