"""Prediction results in the session: touched keypoints survive, stale ones drop, batches undo as one."""

from __future__ import annotations

import numpy as np
import pytest

from gui.session import Session
from gui.workers.inference import ImageResult
from model.annotations.edits import move_keypoint
from model.annotations.types import Prediction, ReviewStatus
from model.project.store import ProjectStore


def fake_prediction(xy, conf, box=(10.0, 10.0, 200.0, 150.0)) -> Prediction:
    xy = np.asarray(xy, float)
    k = len(xy)
    return Prediction(keypoints=xy, confidence=np.asarray(conf, np.float32),
                      stack_heatmaps=np.zeros((2, k, 4, 4), np.float32), stack_keypoints=np.stack([xy, xy]),
                      heatmap_to_image=np.eye(2, 3), box=box)


@pytest.fixture
def session(qtbot, image_folder, of_skeleton):
    s = Session()
    s.open_project(ProjectStore.open_folder(image_folder, of_skeleton))
    qtbot.waitUntil(lambda: s.pixels is not None, timeout=10000)
    yield s
    s.close_project()
    s.loader.shutdown()


XY = [[100.0, 100.0], [120.0, 90.0], [130.0, 110.0], [200.0, 140.0]]


def test_result_never_overwrites_a_touched_keypoint(qtbot, session):
    s = session
    image_id = s.current.id
    rid = 7
    s.predictions.expect_single(rid, image_id)  # as predict_current would have registered it
    s.predictions.receive(ImageResult(rid, image_id, ((None, fake_prediction(XY, [0.9, 0.8, 0.2, 0.9])),)))
    (inst,) = s.instances
    assert inst.keypoints.xy.tolist() == XY and not inst.keypoints.human.any()
    assert s.current.status == ReviewStatus.IN_REVIEW  # 0.2 < threshold 0.3: flagged, not dropped
    assert inst.keypoints.vis[2] == 2
    # the user drags keypoint 1; a second result (requested before the drag) arrives afterwards
    assert s.editor.move_keypoint(0, 1, 55.0, 66.0)
    newer = [[x + 5, y + 5] for x, y in XY]
    s.predictions.expect_single(8, image_id)
    s.predictions.receive(ImageResult(8, image_id, ((inst.instance_id, fake_prediction(newer, [0.9] * 4)),)))
    kp = s.store.instances(image_id)[0].keypoints
    assert kp.xy[1].tolist() == [55.0, 66.0] and kp.human[1]
    assert kp.xy[0].tolist() == newer[0] and not kp.human[0]
    shown = s.predictions.current_prediction()
    assert shown is not None and shown.keypoints.tolist() == newer


def test_older_result_is_dropped_when_a_newer_request_is_pending(qtbot, session):
    s = session
    image_id = s.current.id
    s.predictions.expect_single(3, image_id)
    s.predictions.expect_single(4, image_id)
    s.predictions.receive(ImageResult(3, image_id, ((None, fake_prediction(XY, [0.9] * 4)),)))
    assert s.store.instances(image_id) == []
    s.predictions.receive(ImageResult(4, image_id, ((None, fake_prediction(XY, [0.9] * 4)),)))
    assert len(s.store.instances(image_id)) == 1
    assert s.current.status == ReviewStatus.PREDICTED


def _batch(s, rid, ids):
    for i, image_id in enumerate(ids):
        pred = fake_prediction(np.add(XY, i), [0.9] * 4)
        s.predictions.receive(ImageResult(rid, image_id, ((None, pred),)))


def test_batch_results_are_one_undo_step_split_by_user_edits(qtbot, session):
    s = session
    ids = [r.id for r in s.records]
    _batch(s, 1, ids[:3])
    qtbot.waitUntil(lambda: s.predictions.sink.pending() == 0)
    qtbot.wait(10)
    assert s.undo_stack.count() == 1 and s.undo_stack.text(0) == "Predict 3 images"
    # a user edit in the middle of the batch closes the step; later chunks start a new one
    inst = s.store.instances(ids[0])[0]
    s.commit(move_keypoint(ids[0], inst, 0, 1.0, 2.0), "Move snout")
    _batch(s, 1, ids[3:])
    qtbot.waitUntil(lambda: s.predictions.sink.pending() == 0)
    qtbot.wait(10)
    assert [s.undo_stack.text(i) for i in range(s.undo_stack.count())] == [
        "Predict 3 images", "Move snout", "Predict 2 images"]
    assert s.counts()[ReviewStatus.UNLABELLED] == 0
    s.undo_stack.undo()
    assert all(s.store.instances(i) == [] for i in ids[3:])
    assert s.store.image(ids[3]).status == ReviewStatus.UNLABELLED
    s.undo_stack.undo()
    s.undo_stack.undo()
    assert all(s.store.instances(i) == [] for i in ids)
    assert s.counts()[ReviewStatus.UNLABELLED] == len(ids)
    for _ in range(3):
        s.undo_stack.redo()
    assert all(len(s.store.instances(i)) == 1 for i in ids)
    assert s.store.instances(ids[0])[0].keypoints.xy[0].tolist() == [1.0, 2.0]


def test_cancelled_batch_results_are_ignored(qtbot, session):
    s = session
    s.predictions.batch_request = 5
    s.predictions.cancel_batch()
    _batch(s, 5, [r.id for r in s.records])
    qtbot.wait(20)
    assert s.undo_stack.count() == 0 and s.predictions.sink.pending() == 0
