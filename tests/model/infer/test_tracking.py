"""Tracking along a video: the previous frame's result places the crop; a lost animal falls back to
the search; the window's predict_jobs tracks frames predicted in order."""

from __future__ import annotations

import pytest
import torch

from model.infer.predictor import Predictor
from model.infer.project_predict import predict_jobs
from model.infer.tracking import FrameMemory, predict_sequence
from model.io.frames import VideoFrames, frame_ref
from tests.conftest import DEMO_DIR
from tests.e2e.test_predict_video_cli import mouse_video


class Spy:
    """A Predictor that records whether each item came with a box."""

    def __init__(self, predictor):
        self.inner, self.calls = predictor, []

    def predict(self, items, batch_size=8):
        self.calls.append([box is not None for _, box in items])
        return self.inner.predict(items, batch_size=batch_size)


@pytest.fixture(scope="module")
def predictor():
    torch.set_num_threads(1)
    return Predictor(DEMO_DIR / "checkpoint.pt", device="cpu")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return mouse_video(tmp_path_factory.mktemp("v") / "mouse.mp4", frames=9)  # 3 demo frames × 3


def test_tracked_frames_and_fallback(predictor, video):
    with VideoFrames(video) as frames:
        results = list(predict_sequence(predictor, frames))
        gap = list(predict_sequence(predictor, frames, indices=[0, 1, 4, 5]))
    assert [r.tracked for r in results] == [False, True, True] * 3  # each jump to a new frame is lost
    assert all(r.uncertainty is not None for r in results)
    assert [r.tracked for r in gap] == [False, True, False, True]  # a gap searches again


def test_predict_jobs_tracks_frames_in_order(predictor, video):
    spy, memory = Spy(predictor), FrameMemory()
    jobs = [(k + 1, frame_ref(video, k), []) for k in range(3)]
    answers = predict_jobs(spy, jobs[:1], memory=memory) + predict_jobs(spy, jobs[1:], memory=memory)
    assert [image_id for image_id, _ in answers] == [1, 2, 3]
    assert spy.calls == [[False], [True], [True]]  # frame 0 searched; 1 and 2 one crop each
    plain = Spy(predictor)
    predict_jobs(plain, jobs)
    assert plain.calls == [[False, False, False]]  # no memory: every frame gets the whole-image search


def test_a_neighbouring_frames_result_places_the_crop(predictor, video):
    """One frame predicted alone (the window's P) next to a stored result: one crop pass from it."""
    memory = FrameMemory()
    with VideoFrames(video) as frames:
        first = predictor.predict([(frames.read(1), None)])[0]
    hint = (first.keypoints.tolist(), first.confidence.tolist())
    spy = Spy(predictor)
    (answer,) = predict_jobs(spy, [(3, frame_ref(video, 2), [], hint)], memory=memory)
    assert spy.calls == [[True]]
    (_, pred), = answer[1]
    assert abs(pred.keypoints - first.keypoints).max() < 5.0  # the same still frame
