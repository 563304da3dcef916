"""The inference child's protocol, run in a thread over a real pipe (the window spawns it as a process)."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
import torch

from gui.workers.inference_process import serve
from model.annotations.skeleton import Skeleton
from model.infer.predictor import load_predictor
from model.nn.hourglass import HourglassConfig, build_hourglass


def test_serve_loads_predicts_and_reports_bad_files(tiny_checkpoint, of_skeleton, openfield, tmp_path):
    parent, child = multiprocessing.Pipe()
    thread = threading.Thread(target=serve, args=(child,), daemon=True)
    thread.start()
    parent.send(("predict", [(1, "x.png", [])]))
    assert parent.recv() == ("predicted", [(1, "no model loaded")])
    parent.send(("load", str(tmp_path / "missing.pt"), of_skeleton, "cpu"))
    kind, text = parent.recv()
    assert kind == "load_failed" and "missing.pt" in text
    parent.send(("load", str(tiny_checkpoint), of_skeleton, "cpu"))
    kind, info = parent.recv()
    assert kind == "loaded" and info.skeleton.keypoints == of_skeleton.keypoints and info.stacks == 2
    image = str(sorted((openfield / "images").glob("*.png"))[0])
    parent.send(("predict", [(7, image, [(3, (100.0, 100.0, 200.0, 150.0)), (4, (10.0, 10.0, 50.0, 50.0))]),
                             (8, str(tmp_path / "gone.png"), [])]))
    kind, answers = parent.recv()
    by_id = dict(answers)
    assert kind == "predicted" and "gone.png" in by_id[8]
    assert [iid for iid, _ in by_id[7]] == [3, 4]
    assert by_id[7][0][1].stack_heatmaps.shape[:2] == (2, 4)  # per-stack heatmaps travel too
    parent.send(("quit",))
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_pytorch_pose_file_takes_the_project_skeleton(tmp_path, of_skeleton, tiny_checkpoint):
    config = HourglassConfig(num_keypoints=4, stacks=2, features=8, input_size=(64, 64))
    state = {f"module.{k}": v for k, v in build_hourglass(config).state_dict().items()
             if not k.endswith("num_batches_tracked")}
    path = tmp_path / "model_best.pth.tar"
    torch.save({"epoch": 3, "arch": "hg", "state_dict": state}, path)
    predictor = load_predictor(str(path), of_skeleton, "cpu")
    assert predictor.skeleton.keypoints == of_skeleton.keypoints and predictor.config.features == 8
    other = Skeleton("other", ("a", "b", "c", "d"))
    with pytest.raises(ValueError, match="differ from the project"):
        load_predictor(str(tiny_checkpoint), other, "cpu")
