"""`hglabel heatmaps`: a tiny own-format checkpoint → grid.png, per-stack PNGs, uncertainty.json."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from model.annotations.skeleton import Skeleton
from model.cli import main
from model.infer.checkpoint import save_checkpoint
from model.infer.normalization import Normalization
from model.nn.hourglass import HourglassConfig, build_hourglass

NAMES = ("snout", "leftear", "rightear", "tailbase")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    config = HourglassConfig(num_keypoints=4, stacks=2, features=8, input_size=(64, 64))
    skeleton = Skeleton("mouse", NAMES, edges=((0, 1), (0, 2), (0, 3)), flip_pairs=((1, 2),))
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    return save_checkpoint(path, build_hourglass(config), config, skeleton, Normalization.mpii())


@pytest.fixture()
def image_file(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), image)
    return path


def read_png(path):
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


def test_writes_grid_stack_pictures_and_scores(tiny_checkpoint, image_file, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["heatmaps", str(image_file), "--checkpoint", str(tiny_checkpoint), "--out", str(out),
            "--box", "40,30,60,50", "--flip", "--cell", "64", "--device", "cpu"]
    assert main(argv) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(p.rsplit("/", 1)[-1] for p in printed) == [
        "grid.png", "stack_01.png", "stack_02.png", "uncertainty.json"]
    grid = read_png(out / "grid.png")
    # 2 stack rows and 4 keypoint columns of 64 px cells (16×16 heatmaps × 4) plus labels and colour bar
    assert grid.shape[0] == 26 + 2 * (64 + 4) + 4
    assert grid.shape[1] > 72 + 4 * (64 + 4)
    assert read_png(out / "stack_02.png").shape[0] == 16 * 24  # 384 px: zoom 24 of a 16 px heatmap
    report = json.loads((out / "uncertainty.json").read_text())
    assert [row["keypoint"] for row in report["keypoints"]] == list(NAMES)
    assert report["box"] == [40.0, 30.0, 60.0, 50.0]
    assert all(row["flip_px"] is not None and row["score"] >= 0 for row in report["keypoints"])


def test_user_errors_are_one_line(tiny_checkpoint, image_file, tmp_path, capsys):
    base = ["heatmaps", str(image_file), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "o")]
    assert main([*base, "--box", "1,2,0,4"]) == 2
    assert "--box must be x,y,w,h" in capsys.readouterr().err
    missing = tmp_path / "nope.png"
    assert main(["heatmaps", str(missing), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path)]) == 2
    assert "nope.png" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["heatmaps", str(image_file), "--checkpoint", str(bad), "--out", str(tmp_path)]) == 2
    assert "bad.pt" in capsys.readouterr().err
