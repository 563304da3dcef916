"""Predicting into a project: the jobs the window's inference process runs, and the headless writer.

`predict_jobs` is what the window's inference child runs (gui.workers.inference_process) and what
`hglabel predict --project` runs: one prediction per stored instance (its box), or a whole-image
pass for an image without instances. With an instance finder loaded, every image also gets the
instances the finder sees that are not stored yet (answered with instance id None).
`write_predictions` merges the answers into the project with the window's rule
(model.project.merge.edits_for_result against the instances stored *now*, so a keypoint a person
set is never overwritten) and review policy, one transaction per chunk.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.annotations.edits import Batch
from model.annotations.review import ReviewPolicy
from model.annotations.types import Prediction, ReviewStatus
from model.infer.tracking import FrameMemory, Hint, predict_frame
from model.io.frames import parse_frame_ref, read_source
from model.io.images import ImageReadError
from model.project.merge import edits_for_result
from model.project.store import ProjectStore

log = logging.getLogger(__name__)

Job = tuple[int, str, list]  # (image id, path, [(instance id | None, box | None), …])
Answer = tuple[int, tuple | str]  # (image id, ((instance id | None, Prediction), …) or an error message)
CHUNK_IMAGES = 64


def project_jobs(store: ProjectStore, statuses: Sequence[ReviewStatus]) -> list[Job]:
    """Jobs for the project's present images whose status is in `statuses`, in the project's order."""
    jobs = []
    for rec in store.images():
        if rec.status in statuses and not rec.missing:
            boxes = [(inst.instance_id, inst.box) for inst in store.instances(rec.id)]
            jobs.append((rec.id, str(store.image_root / rec.path), boxes))
    return jobs


def predict_jobs(predictor, jobs: Sequence[Job], batch_size: int = 4,
                 memory: FrameMemory | None = None) -> list[Answer]:
    """[(image_id, path, [(iid, box | None), …])] → [(image_id, ((iid, Prediction), …) or message)].

    With `memory`, a video frame without stored instances whose previous frame was predicted just
    before gets its crop from that result (model.infer.tracking) instead of a whole-image search;
    a job may carry a 4th element, a neighbouring frame's (xy (K, 2), confidence (K,)), used when
    the memory has nothing (a single frame predicted next to already predicted ones)."""
    out, items, owners = [], [], []
    finder = getattr(predictor, "finder", None) is not None
    for job in jobs:
        image_id, path, boxes = job[:3]
        hint = Hint(*map(np.asarray, job[3])) if len(job) > 3 and job[3] is not None else None
        try:
            image = read_source(path)
        except (ImageReadError, OSError) as exc:
            out.append((image_id, str(exc)))
            continue
        if finder:  # every instance: the stored boxes and the ones the finder sees
            out.append(_every_instance(predictor, image_id, image, boxes))
            continue
        ref = parse_frame_ref(path) if memory is not None and not boxes else None
        if ref is not None:
            out.append((image_id, _tracked(predictor, image, str(ref[0]), ref[1], memory, hint)))
            continue
        for iid, box in boxes or [(None, None)]:
            items.append((image, box))
            owners.append((image_id, iid))
    if not items:
        return out
    try:
        preds = predictor.predict(items, batch_size=batch_size)
    except Exception as exc:  # a torch error must not end the caller; report it per image
        log.exception("prediction failed")
        failed = dict.fromkeys(image_id for image_id, _ in owners)
        return out + [(image_id, f"prediction failed: {exc}") for image_id in failed]
    grouped: dict[int, list] = {}
    for (image_id, iid), pred in zip(owners, preds, strict=True):
        grouped.setdefault(image_id, []).append((iid, pred))
    return out + [(image_id, tuple(pairs)) for image_id, pairs in grouped.items()]


def _every_instance(predictor, image_id: int, image, boxes: list) -> Answer:
    """The finder path for one image: its stored boxes predicted, plus the instances not stored yet."""
    known = [(iid, box) for iid, box in boxes if box is not None]
    try:
        found = predictor.predict_image(image, [box for _, box in known])
    except Exception as exc:  # a torch error must not end the caller; report it for the image
        log.exception("prediction failed")
        return (image_id, f"prediction failed: {exc}")
    return (image_id, tuple((None if i is None else known[i][0], pred) for i, pred in found))


def _tracked(predictor, image, video: str, index: int, memory: FrameMemory, hint: Hint | None) -> tuple | str:
    try:
        pred, _ = predict_frame(predictor, image, memory.prior(video, index) or hint)
    except Exception as exc:  # a torch error must not end the caller; report it for this frame
        log.exception("prediction failed")
        return f"prediction failed: {exc}"
    memory.remember(video, index, pred)
    return ((None, pred),)


def without_heatmaps(answers: Sequence[Answer]) -> list[Answer]:
    """The answers with each Prediction's heatmaps dropped (S = 0), to send between processes."""
    def light(pred: Prediction) -> Prediction:
        return dataclasses.replace(pred, stack_heatmaps=pred.stack_heatmaps[:0],
                                   stack_keypoints=pred.stack_keypoints[:0])

    return [(image_id, payload if isinstance(payload, str) else tuple((iid, light(p)) for iid, p in payload))
            for image_id, payload in answers]


@dataclass
class WriteReport:
    """What write_predictions did: images changed, their new statuses, images left as they were."""

    changed: int = 0
    unchanged: int = 0
    statuses: dict[str, int] = dataclasses.field(default_factory=dict)
    failures: list[str] = dataclasses.field(default_factory=list)  # "path: reason" of unreadable images


def write_predictions(store: ProjectStore, answers: Sequence[Answer], policy: ReviewPolicy) -> WriteReport:
    """Merge answers into the project as it is now (a person's keypoints kept); one transaction per
    CHUNK_IMAGES changed images."""
    report = WriteReport()
    edits: list = []
    pending = 0
    for image_id, payload in answers:
        if isinstance(payload, str):
            report.failures.append(payload)
            continue
        built = edits_for_result(image_id, store.image(image_id).status, store.instances(image_id),
                                 list(payload), policy)
        if not built:
            report.unchanged += 1
            continue
        report.changed += 1
        edits.extend(built)
        pending += 1
        if pending >= CHUNK_IMAGES:
            store.apply(Batch(tuple(edits), "predictions"))
            edits, pending = [], 0
    if edits:
        store.apply(Batch(tuple(edits), "predictions"))
    for image_id, payload in answers:
        if not isinstance(payload, str):
            status = store.image(image_id).status.value
            report.statuses[status] = report.statuses.get(status, 0) + 1
    return report

