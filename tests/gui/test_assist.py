"""Assist end to end with a small model (the demo's backbone, heads zeroed): newly done images → a
background fine-tune (low priority, the window keeps running) → the better model is loaded → the
not-done images no person touched are re-predicted; an image a person touched keeps its whole
instance list (the person's keypoint and the model's instance beside it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gui.training.assist import Assist
from gui.training.options import TrainOptions
from model.annotations import edits as E
from model.annotations.types import Instance, Keypoints, ReviewStatus, Source
from tests.gui.helpers import open_folder
from tests.helpers import labelled_folder

CHILD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture
def assist_folder(tmp_path: Path, openfield: Path) -> Path:
    """9 openfield images: 6 done (COCO import), 3 without labels."""
    return labelled_folder(tmp_path, openfield, 6, 3)


@pytest.fixture
def headless_demo(demo_eval: Path, tmp_path: Path) -> Path:
    """The demo model with its keypoint heads zeroed: a good backbone that predicts nothing yet, so a
    few fine-tuning steps make a clearly better model."""
    import torch

    from model.infer.checkpoint import load_checkpoint, save_checkpoint

    b = load_checkpoint(demo_eval / "checkpoint.pt")
    state = {k: (torch.zeros_like(v) if k.startswith("score.") else v) for k, v in b.state_dict.items()}
    return save_checkpoint(tmp_path / "current.pt", state, b.config, b.skeleton, b.normalization)


def test_assist_loop_loads_a_better_model_and_keeps_person_keypoints(
        qtbot, window, assist_folder: Path, of_skeleton, headless_demo: Path) -> None:
    s = window.session
    open_folder(qtbot, window, assist_folder, of_skeleton)
    queue = s.predictions
    queue.load_checkpoint(str(headless_demo))
    qtbot.waitUntil(lambda: queue.model_info is not None, timeout=60_000)
    todo = [r for r in s.records if r.status != ReviewStatus.DONE]
    touched, untouched = todo[1], todo[2]
    # a person set one keypoint (snout) on an image that is not done
    xy = np.array([[321.0, 222.0], [0, 0], [0, 0], [0, 0]])
    kps = Keypoints(xy, np.array([2, 0, 0, 0], np.int8), np.full(4, np.nan, np.float32),
                    np.array([True, False, False, False]))
    s.store.apply(E.AddInstance(touched.id, Instance(kps, (300.0, 200.0, 60.0, 50.0), 1.0, Source.HUMAN)))
    # ... and the old model's instance beside it, which that person left as it was
    guess = Keypoints(np.array([[120.0, 90.0], [130, 80], [140, 80], [150, 120]]), np.full(4, 2, np.int8),
                      np.full(4, 0.3, np.float32), np.zeros(4, bool))
    s.store.apply(E.AddInstance(touched.id, Instance(guess, (100.0, 70.0, 70.0, 70.0), 0.3, Source.MODEL)))
    before = [_instance_state(i) for i in s.store.instances(touched.id)]

    assist = Assist(s, every=1, minutes=None, parent=window,
                    hidden=TrainOptions(device="cpu", threads=1, workers=0, epochs=4, batch_size=4,
                                        extra=("--lr", "5e-3")))
    assist.runner.env_overrides = dict(CHILD_ENV)
    lines: list[str] = []
    assist.status.connect(lines.append)
    outcomes = []
    assist.run_finished.connect(outcomes.append)
    assist.set_enabled(True)
    s.show_row(s.records.index(todo[0]))
    qtbot.waitUntil(lambda: s.current.id == todo[0].id, timeout=10_000)
    fresh = Keypoints(np.array([[300.0, 200.0], [310, 190], [320, 190], [340, 240]]), np.full(4, 2, np.int8),
                      np.full(4, np.nan, np.float32), np.ones(4, bool))
    s.commit(E.AddInstance(todo[0].id, Instance(fresh, (290.0, 180.0, 60.0, 70.0), 1.0, Source.HUMAN)), "Add")
    assert s.editor.mark_done()  # the 7th done image: Assist starts a run in the background
    assert assist.busy() and "fine-tuning current.pt on 7 done images" in lines[-1]
    assert assist.runner.plan.train_command[assist.runner.plan.train_command.index("--nice") + 1] == "10"

    qtbot.waitUntil(lambda: bool(outcomes), timeout=240_000)
    outcome = outcomes[0]
    assert outcome.checkpoint is not None, (outcome.message, lines)  # a random model is easy to beat
    qtbot.waitUntil(lambda: Path(queue.model_info.path) == outcome.checkpoint, timeout=60_000)
    qtbot.waitUntil(lambda: queue.batch_request is None and not assist.busy(), timeout=60_000)
    assert "re-predicting 1 images no person touched, left 1 touched images" in lines[-1], lines
    assert "px of the current model" in lines[-1]
    (pred,) = s.store.instances(untouched.id)  # re-predicted by the new model
    assert pred.source == Source.MODEL and (pred.keypoints.vis > 0).any()
    after = s.store.instances(touched.id)
    assert [_instance_state(i) for i in after] == before  # not re-predicted: every instance as it was
    kept = next(i for i in after if i.source == Source.HUMAN)
    assert kept.keypoints.xy[0].tolist() == [321.0, 222.0] and kept.keypoints.human[0]
    assert not kept.keypoints.human[1:].any() and not kept.keypoints.vis[1:].any()  # nothing filled in


def _instance_state(inst: Instance) -> tuple:
    """What a re-prediction would change in an instance: id, source, box, every keypoint."""
    k = inst.keypoints
    return (inst.instance_id, str(inst.source), tuple(inst.box), k.xy.tolist(), k.vis.tolist(),
            k.human.tolist())
