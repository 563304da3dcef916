"""Merging a prediction into an image's instances as they are *now*: the rule the window and
`hglabel predict --project` share.

Edits are built against the store's state when the result is applied, not when it was asked for,
through model.annotations.edits.apply_prediction, which keeps every keypoint a person touched. A
whole-image result (instance id None) goes into the free instance it overlaps most (IoU > 0.1),
else becomes a new instance. An unlabelled or predicted image then becomes *predicted*, or *in
review* when the review policy flags a keypoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from model.annotations.boxes import iou
from model.annotations.edits import AddInstance, Edit, SetStatus, apply_prediction
from model.annotations.review import ReviewPolicy
from model.annotations.types import Instance, Prediction, ReviewStatus
from model.project.rows import same_instance

OPEN_STATUSES = (ReviewStatus.UNLABELLED, ReviewStatus.PREDICTED)
MIN_OVERLAP = 0.1


def edits_for_result(image_id: int, status: ReviewStatus, instances: list[Instance],
                     predictions: Sequence[tuple[int | None, Prediction]],
                     policy: ReviewPolicy) -> list[Edit]:
    """Edits writing predictions into `instances` (human keypoints kept) plus a status change.

    predictions pair an instance id (None: whole-image pass) with its Prediction. Returns [] when
    nothing would change (e.g. every keypoint is a person's, or the instance has gone).
    """
    by_id = {inst.instance_id: inst for inst in instances}
    edits: list[Edit] = []
    used: set[int] = set()
    for iid, pred in predictions:
        target = by_id.get(iid) if iid is not None else best_overlap(instances, pred.box, used)
        if iid is not None and target is None:
            continue  # the user removed that instance meanwhile
        if target is not None:
            used.add(int(target.instance_id))
        edit = apply_prediction(image_id, target, pred.keypoints, pred.confidence, pred.box, pred.score,
                                pred.visibility)  # v = 0 where the model says 'probably absent'
        if isinstance(edit, AddInstance) or not same_instance(edit.old, edit.new):
            edits.append(edit)
    if not edits:
        return []
    after = [e.instance.keypoints if isinstance(e, AddInstance) else e.new.keypoints for e in edits]
    if status in OPEN_STATUSES:
        new = ReviewStatus.IN_REVIEW if any(map(policy.needs_review, after)) else ReviewStatus.PREDICTED
        if new != status:
            edits.append(SetStatus(image_id, status, new))
    return edits


def best_overlap(instances: list[Instance], box: Sequence[float], used: set[int]) -> Instance | None:
    """The instance not in `used` whose box overlaps `box` most (IoU above MIN_OVERLAP), or None."""
    best, best_iou = None, MIN_OVERLAP
    for inst in instances:
        if inst.instance_id in used:
            continue
        score = iou(inst.box, box)
        if score > best_iou:
            best, best_iou = inst, score
    return best
