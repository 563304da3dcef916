"""Undo of Load & Re-predict: one undo step puts back the model loaded before, the predictions of the
images it re-predicted, and (from the cache) that model's uncertainty and heatmaps; redo swaps again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gui.training.repredict import ModelSwap
from model.infer.checkpoint import save_checkpoint
from model.infer.normalization import Normalization
from model.nn.hourglass import HourglassConfig, build_hourglass
from tests.gui.helpers import open_folder


def other_checkpoint(path: Path, skeleton) -> Path:
    torch.manual_seed(1)
    config = HourglassConfig(num_keypoints=skeleton.num_keypoints, stacks=2, features=8, input_size=(64, 64))
    return save_checkpoint(path, build_hourglass(config), config, skeleton, Normalization())


def test_undo_of_load_and_repredict_restores_model_predictions_and_heatmaps(
        qtbot, window, image_folder, of_skeleton, tiny_checkpoint, tmp_path: Path) -> None:
    s = window.session
    open_folder(qtbot, window, image_folder, of_skeleton)
    queue = s.predictions
    queue.load_checkpoint(str(tiny_checkpoint))
    qtbot.waitUntil(lambda: queue.model_info is not None, timeout=60_000)
    assert queue.predict_batch(list(s.records)) is not None
    qtbot.waitUntil(lambda: queue.batch_request is None, timeout=60_000)
    image_id = s.current.id
    before = {r.id: s.store.instances(r.id) for r in s.records}
    (inst,) = s.store.instances(image_id)
    old_pred = queue.prediction_for(image_id, inst)
    assert old_pred is not None
    steps = s.undo_stack.count()

    swap = ModelSwap(s, other_checkpoint(tmp_path / "new.pt", of_skeleton))
    swap.start()
    qtbot.waitUntil(lambda: swap.request_id is not None and queue.batch_request is None, timeout=60_000)
    assert Path(queue.model_info.path) == tmp_path / "new.pt"
    assert s.store.instances(image_id)[0].keypoints.xy.tolist() != inst.keypoints.xy.tolist()
    assert s.undo_stack.count() == steps + 1 and "Load & Re-predict" in s.undo_stack.text(steps)

    s.undo_stack.undo()  # one step: predictions, then the model before
    assert {r.id: s.store.instances(r.id) for r in s.records} == before
    qtbot.waitUntil(lambda: Path(queue.model_info.path) == tiny_checkpoint, timeout=60_000)
    (restored,) = s.store.instances(image_id)
    again = queue.prediction_for(image_id, restored)
    assert again is not None and np.array_equal(again.stack_heatmaps, old_pred.stack_heatmaps)
    assert np.array_equal(again.confidence, old_pred.confidence)

    s.undo_stack.redo()
    qtbot.waitUntil(lambda: Path(queue.model_info.path) == tmp_path / "new.pt", timeout=60_000)
    assert s.store.instances(image_id)[0].keypoints.xy.tolist() != inst.keypoints.xy.tolist()
