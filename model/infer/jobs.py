"""Batch prediction jobs: which images (a folder or a COCO file's), reading ahead, COCO results entries."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.annotations.types import Prediction
from model.infer.crops import Box
from model.io.coco_types import CocoDataset
from model.io.coco_write import result_entry as coco_result_entry
from model.io.frames import read_source
from model.io.images import ImageReadError
from model.project.scan import scan_folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageJob:
    """One image to predict: its global position, COCO id, path relative to the root, instance boxes.

    boxes holds one entry per instance (None = find it: whole-image pass, then a refining crop).
    """

    order: int
    image_id: int
    file_name: str
    boxes: tuple[Box | None, ...] = (None,)
    size: tuple[int, int] | None = None  # (w, h) the ground truth expects, if any


@dataclass
class JobOutput:
    """What a run over some jobs produced: results entries with their order keys, images, failures."""

    results: list[tuple[int, int, dict]] = field(default_factory=list)  # (order, instance, entry)
    images: list[tuple[int, dict]] = field(default_factory=list)  # (order, image entry)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (order, "file_name: reason")


def folder_jobs(root: Path) -> list[ImageJob]:
    """Every image under root (recursive, natural order), ids 1..N, one unknown instance each."""
    return [ImageJob(i, i + 1, name) for i, name in enumerate(scan_folder(root))]


def coco_jobs(dataset: CocoDataset, root: Path) -> tuple[list[ImageJob], list[str]]:
    """One job per ground-truth image that has annotations, boxes from its annotations (in file order).

    Returns (jobs, file names of annotated images missing on disk). Degenerate boxes (w or h = 0)
    become None (found by the whole-image pass).
    """
    boxes: dict[int, list[Box | None]] = {}
    for ann in dataset.annotations:
        x, y, w, h = (float(v) for v in ann.instance.box)
        boxes.setdefault(ann.image_id, []).append((x, y, w, h) if w > 0 and h > 0 else None)
    jobs, missing = [], []
    for image in dataset.images:
        if image.id not in boxes:
            continue
        if not (root / image.file_name).is_file():
            missing.append(image.file_name)
            continue
        jobs.append(ImageJob(len(jobs), image.id, image.file_name, tuple(boxes[image.id]),
                             (image.width, image.height)))
    return jobs, missing


def _load(root: Path, job: ImageJob) -> tuple[np.ndarray | None, str | None]:
    try:
        return read_source(root / job.file_name), None
    except ImageReadError as exc:
        return None, exc.reason
    except (OSError, ValueError, MemoryError) as exc:  # anything else a broken file can raise
        return None, f"{type(exc).__name__}: {exc}"


def read_ahead(
    root: Path, jobs: Sequence[ImageJob], lookahead: int = 8, workers: int = 1
) -> Iterator[tuple[ImageJob, np.ndarray | None, str | None]]:
    """(job, image (H, W, 3) uint8 RGB or None, error or None) in job order, decoding ahead in threads."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read-image") as pool:
        pending: deque = deque()
        it = iter(jobs)
        for job in it:
            pending.append((job, pool.submit(_load, root, job)))
            if len(pending) >= lookahead:
                break
        while pending:
            job, future = pending.popleft()
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(_load, root, nxt)))
            yield (job, *future.result())


def result_entry(image_id: int, pred: Prediction, category_id: int) -> dict:
    """The COCO results entry of a Prediction (model.io.coco_write.result_entry: [x, y, v] × K with
    v = 2, or 0 where the keypoint is probably absent (peak under the checkpoint's calibrated
    threshold), and keypoint_scores), score = mean confidence, and after a flip test
    flip_disagreement (K distances in image px)."""
    conf = np.nan_to_num(np.asarray(pred.confidence, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    entry = coco_result_entry(image_id, pred.keypoints, conf, float(conf.mean()) if conf.size else 0.0,
                              category_id, vis=pred.visibility)
    if pred.flip_disagreement is not None:
        entry["flip_disagreement"] = [float(v) for v in pred.flip_disagreement]
    return entry


def run_jobs(
    predict: Callable[[list], list[Prediction]], root: Path, jobs: Sequence[ImageJob], category_id: int,
    chunk: int = 8, on_progress: Callable[[int], None] | None = None,
    find: Callable[[np.ndarray], list[Prediction]] | None = None,
) -> JobOutput:
    """Predict every job, about `chunk` instances per predict call; `on_progress(n)` after n images.

    `find(image)` (an instance finder's pipeline) predicts the jobs with an unknown instance
    (boxes (None,)): one results entry per instance it finds. An unreadable image is logged by
    name, listed in failures and skipped, never fatal.
    """
    out = JobOutput()
    batch: list[tuple[ImageJob, np.ndarray]] = []
    progress = on_progress or (lambda n: None)

    def flush() -> None:
        preds = iter(predict([(image, box) for job, image in batch for box in job.boxes]))
        for job, _ in batch:
            for n in range(len(job.boxes)):
                out.results.append((job.order, n, result_entry(job.image_id, next(preds), category_id)))
        progress(len(batch))
        batch.clear()

    for job, image, error in read_ahead(root, jobs, lookahead=2 * chunk):
        if image is None:
            log.warning("skipped %s: %s", job.file_name, error)
            out.failures.append((job.order, f"{job.file_name}: {error}"))
            progress(1)
            continue
        h, w = image.shape[:2]
        if job.size is not None and job.size != (w, h):
            log.warning("%s: image is %dx%d but the ground truth says %dx%d", job.file_name, w, h, *job.size)
        out.images.append((job.order, {"id": job.image_id, "file_name": job.file_name, "width": w,
                                       "height": h}))
        if find is not None and job.boxes == (None,):
            for n, pred in enumerate(find(image)):
                out.results.append((job.order, n, result_entry(job.image_id, pred, category_id)))
            progress(1)
            continue
        batch.append((job, image))
        if sum(len(j.boxes) for j, _ in batch) >= chunk:
            flush()
    if batch:
        flush()
    return out
