"""Merging a prediction into an image's instances (model.project.merge): never over a person's
keypoint, whole-image results into the instance they overlap, the status the review policy gives."""

from __future__ import annotations

import numpy as np

from model.annotations.edits import AddInstance, SetStatus, UpdateInstance
from model.annotations.review import ReviewPolicy
from model.annotations.types import Instance, Keypoints, Prediction, ReviewStatus, Source
from model.project.merge import best_overlap, edits_for_result

XY = [[50.0, 40.0], [60.0, 35.0], [62.0, 48.0], [95.0, 70.0]]
BOX = (40.0, 25.0, 65.0, 55.0)
POLICY = ReviewPolicy(0.3)


def prediction(conf, xy=XY, box=BOX) -> Prediction:
    xy = np.asarray(xy, float)
    return Prediction(keypoints=xy, confidence=np.asarray(conf, np.float32),
                      stack_heatmaps=np.zeros((1, 4, 4, 4), np.float32), stack_keypoints=xy[None],
                      heatmap_to_image=np.eye(2, 3), box=box)


def person_instance(iid: int, box=BOX) -> Instance:
    kp = Keypoints(np.array([[1.0, 2.0], [0, 0], [0, 0], [0, 0]]), np.array([2, 0, 0, 0]),
                   human=np.array([True, False, False, False]))
    return Instance(kp, box, 1.0, Source.HUMAN, instance_id=iid)


def test_new_instance_and_status_from_the_policy() -> None:
    edits = edits_for_result(3, ReviewStatus.UNLABELLED, [], [(None, prediction([0.9] * 4))], POLICY)
    assert isinstance(edits[0], AddInstance) and edits[-1] == SetStatus(3, ReviewStatus.UNLABELLED,
                                                                         ReviewStatus.PREDICTED)
    low = edits_for_result(3, ReviewStatus.UNLABELLED, [], [(None, prediction([0.9, 0.2, 0.9, 0.9]))], POLICY)
    assert low[-1].new == ReviewStatus.IN_REVIEW
    lenient = edits_for_result(3, ReviewStatus.UNLABELLED, [], [(None, prediction([0.9, 0.2, 0.9, 0.9]))],
                               ReviewPolicy(0.1))
    assert lenient[-1].new == ReviewStatus.PREDICTED
    done = edits_for_result(3, ReviewStatus.DONE, [], [(None, prediction([0.1] * 4))], POLICY)
    assert not any(isinstance(e, SetStatus) for e in done)  # a finished image keeps its status


def test_a_persons_keypoint_is_never_overwritten() -> None:
    inst = person_instance(7)
    (edit,) = edits_for_result(1, ReviewStatus.IN_REVIEW, [inst], [(7, prediction([0.9] * 4))], POLICY)
    assert isinstance(edit, UpdateInstance)
    new = edit.new.keypoints
    assert new.xy[0].tolist() == [1.0, 2.0] and new.human[0]
    assert new.xy[1:].tolist() == XY[1:] and not new.human[1:].any()


def test_whole_image_result_goes_into_the_overlapping_instance_or_a_gone_one_is_skipped() -> None:
    near, far = person_instance(1), person_instance(2, box=(400.0, 300.0, 50.0, 50.0))
    assert best_overlap([far, near], BOX, set()) is near
    assert best_overlap([far, near], BOX, {1}) is None
    whole = [(None, prediction([0.9] * 4))]
    (edit,) = edits_for_result(1, ReviewStatus.IN_REVIEW, [far, near], whole, POLICY)
    assert isinstance(edit, UpdateInstance) and edit.new.instance_id == 1
    assert edits_for_result(1, ReviewStatus.IN_REVIEW, [near], [(99, prediction([0.9] * 4))], POLICY) == []


def test_review_policy_flags_only_model_keypoints_under_the_threshold() -> None:
    conf = np.array([0.1, 0.9, 0.1, np.nan], np.float32)
    kp = Keypoints(np.zeros((4, 2)), np.array([2, 2, 0, 2]), conf, human=np.zeros(4, bool))
    assert POLICY.flags(kp).tolist() == [True, False, False, False] and POLICY.needs_review(kp)
    by_person = Keypoints(np.zeros((4, 2)), np.array([2, 2, 0, 2]), conf, human=np.array([1, 0, 0, 0], bool))
    assert not POLICY.needs_review(by_person)
    assert POLICY.flagged(0.2, human=False) and not POLICY.flagged(0.2, human=True)
    assert not POLICY.flagged(float("nan"), human=False) and not POLICY.flagged(0.5, human=False)
