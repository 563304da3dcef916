"""Edit objects: exact inverses, and the prediction rules (never overwrite a person's keypoint)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.annotations import edits as E
from model.annotations.types import Instance, Keypoints, ReviewStatus, Source


def _inst(human=(False, False, False), iid=7, source=Source.MODEL, box_set=False) -> Instance:
    kps = Keypoints([[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]], [2, 1, 0], [0.9, 0.8, np.nan], list(human))
    return Instance(kps, (0.0, 0.0, 10.0, 10.0), 0.7, source, iid, box_set=box_set)


def test_inverse_of_inverse_is_identity_for_every_edit():
    inst = _inst()
    edits = [
        E.move_keypoint(1, inst, 0, 5.0, 6.0),
        E.set_visibility(1, inst, 1, 0),
        E.set_box(1, inst, (1, 1, 2, 2)),
        E.set_track(1, inst, 3),
        E.SetStatus(1, ReviewStatus.UNLABELLED, ReviewStatus.DONE),
        E.remove_instance(1, inst),
        E.accept_prediction(1, inst),
        E.apply_prediction(1, inst, np.ones((3, 2)), np.ones(3), (0, 0, 1, 1), 0.5),
    ]
    batch = E.Batch(tuple(edits), "all")
    for edit in [*edits, batch]:
        assert edit.inverse().inverse() == edit
    assert [type(e) for e in batch.inverse().edits] == [type(e.inverse()) for e in reversed(edits)]


def test_move_keypoint_marks_human_and_keeps_occluded():
    inst = _inst()
    edit = E.move_keypoint(3, inst, 1, 9.5, 8.25)
    assert edit.old == E.KeypointValue(3.0, 4.0, 1, pytest.approx(0.8), False)
    assert (edit.new.x, edit.new.y, edit.new.v, edit.new.human) == (9.5, 8.25, 1, True)
    assert E.move_keypoint(3, inst, 2, 1.0, 1.0).new.v == 2  # unlabelled → visible


def test_set_visibility_zero_clears_position_and_rejects_bad_v():
    edit = E.set_visibility(1, _inst(), 0, 0)
    assert (edit.new.x, edit.new.y, edit.new.v, edit.new.human) == (0.0, 0.0, 0, True)
    with pytest.raises(ValueError):
        E.set_visibility(1, _inst(), 0, 3)


def test_apply_prediction_keeps_human_keypoints():
    inst = _inst(human=(True, False, False))
    xy = np.array([[50.0, 50.0], [60.0, 60.0], [70.0, 70.0]])
    edit = E.apply_prediction(1, inst, xy, np.array([0.1, 0.2, 0.3], np.float32), (5, 5, 5, 5), 0.4)
    assert isinstance(edit, E.ApplyPrediction)
    new = edit.new.keypoints
    np.testing.assert_array_equal(new.xy, [[1.0, 2.0], [60.0, 60.0], [70.0, 70.0]])
    np.testing.assert_array_equal(new.vis, [2, 2, 2])
    np.testing.assert_array_equal(new.human, [True, False, False])
    assert math.isclose(float(new.confidence[0]), 0.9, rel_tol=1e-6)
    # a box no person set follows the merged keypoints: their extent padded by max(10 px, 15 %)
    assert edit.new.box == pytest.approx((1.0 - 10.35, 2.0 - 10.2, 69.0 + 20.7, 68.0 + 20.4))
    assert edit.inverse().new == inst


def test_apply_prediction_keeps_a_human_box_and_adds_new_instances():
    inst = _inst(source=Source.HUMAN, box_set=True)
    edit = E.apply_prediction(1, inst, np.zeros((3, 2)), np.zeros(3), (5, 5, 5, 5), 0.4)
    assert edit.new.box == inst.box
    add = E.apply_prediction(1, None, np.zeros((3, 2)), np.zeros(3), (5, 5, 5, 5), 0.4)
    assert isinstance(add, E.AddInstance) and add.instance.source == Source.MODEL
    assert not add.instance.keypoints.human.any()
    with pytest.raises(ValueError, match="instance_id"):
        add.inverse()
    with pytest.raises(ValueError, match="keypoints"):
        E.apply_prediction(1, inst, np.zeros((4, 2)), np.zeros(4), (0, 0, 1, 1), 0.4)


def test_accept_prediction_confirms_labelled_model_keypoints_only():
    edit = E.accept_prediction(1, _inst())
    np.testing.assert_array_equal(edit.new.keypoints.human, [True, True, False])
    assert edit.new.source == Source.HUMAN


def test_update_instance_requires_matching_ids():
    with pytest.raises(ValueError):
        E.UpdateInstance(1, _inst(iid=1), _inst(iid=2))
    with pytest.raises(ValueError):
        E.move_keypoint(1, _inst(iid=None), 0, 1, 1)


def test_batch_image_ids_are_unique_in_order():
    inst = _inst()
    batch = E.Batch((
        E.set_box(3, inst, (0, 0, 1, 1)), E.SetStatus(2, "done", "skipped"), E.set_box(3, inst, (1, 1, 1, 1))
    ))
    assert batch.image_ids == (3, 2)


def test_box_follows_keypoints_until_a_person_sets_it():
    inst = _inst()  # box (0, 0, 10, 10), not set by a person; keypoints (1, 2) and (3, 4) labelled
    edit = E.move_keypoint(1, inst, 2, 40.0, 30.0, image_size=(45, 100))
    # extent x 1..40, y 2..30, padded by 10 (15 % is less), clipped to the image: x, y ≥ -0.5, x ≤ 44.5
    assert edit.old_box == (0.0, 0.0, 10.0, 10.0)
    assert edit.new_box == pytest.approx((-0.5, -0.5, 45.0, 40.5))
    assert edit.inverse().new_box == edit.old_box and edit.inverse().inverse() == edit
    cleared = E.set_visibility(1, inst, 0, 0)  # only (3, 4) remains: a 20 × 20 box around it
    assert cleared.new_box == pytest.approx((-7.0, -6.0, 20.0, 20.0))
    drawn = _inst(box_set=True)
    assert E.move_keypoint(1, drawn, 2, 40.0, 30.0).new_box is None  # a person's box stays
    resized = E.set_box(1, inst, (0, 0, 50, 50))
    assert (resized.old_set, resized.new_set) == (False, True)
    assert (resized.inverse().old_set, resized.inverse().new_set) == (True, False)
