"""`hglabel predict` end to end: own and pytorch-pose checkpoints, --coco, corrupt images, torchrun."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO

from model.annotations.skeleton import Skeleton
from model.cli import main
from model.device import Ranks, ranks_from_env
from model.infer.checkpoint import save_checkpoint
from model.infer.distributed import shard
from model.infer.normalization import Normalization
from model.infer.progress import ProgressBar
from model.nn.hourglass import HourglassConfig, build_hourglass
from tests.conftest import REPO_ROOT

# One OpenMP thread per child process: on a machine shared with other jobs, OpenMP's spin-waiting
# threads make a 2-thread forward pass up to 10x slower (measured here); results do not depend on it.
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}
SUBSET = ("img0000.png", "img0007.png", "img0021.png", "img0042.png")
BROKEN = "img0014.png"  # in the ground truth; sorts between img0007 and img0021: image id 3


def _weights(config: HourglassConfig) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_hourglass(config)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.fixture(scope="module")
def mouse_skeleton(openfield: Path) -> Skeleton:
    category = json.loads((openfield / "annotations.json").read_text())["categories"][0]
    return Skeleton.from_coco_category(category)


@pytest.fixture(scope="module")
def own_ckpt(tmp_path_factory, mouse_skeleton: Skeleton) -> Path:
    config = HourglassConfig(num_keypoints=4, stacks=2, blocks=1, features=8, input_size=(64, 64))
    path = tmp_path_factory.mktemp("ckpt") / "mouse.pt"
    return save_checkpoint(path, _weights(config), config, mouse_skeleton, Normalization(), {"note": "test"})


@pytest.fixture(scope="module")
def pytorch_pose_ckpt(tmp_path_factory) -> Path:
    """pytorch-pose layout: module. prefix, no num_batches_tracked, legacy serialisation, 16 keypoints."""
    config = HourglassConfig(num_keypoints=16, stacks=1, blocks=1, features=8, input_size=(256, 256))
    state = {f"module.{k}": v for k, v in _weights(config).state_dict().items()
             if not k.endswith("num_batches_tracked")}
    path = tmp_path_factory.mktemp("ckpt") / "hg_s1.pth.tar"
    torch.save({"epoch": 1, "arch": "hg", "state_dict": state, "best_acc": 0.0}, path,
               _use_new_zipfile_serialization=False)
    return path


@pytest.fixture()
def subset(tmp_path: Path, openfield: Path) -> Path:
    """4 openfield frames (one in a subfolder) and a truncated PNG."""
    root = tmp_path / "images"
    (root / "more").mkdir(parents=True)
    for i, name in enumerate(SUBSET):
        shutil.copy(openfield / "images" / name, root / ("more" if i == 3 else "") / name)
    data = (openfield / "images" / "img0028.png").read_bytes()
    (root / BROKEN).write_bytes(data[: len(data) // 3])
    return root


def _results(path: Path) -> list[dict]:
    return json.loads(path.read_text())


def _check_entries(results: list[dict], k: int, category_id: int = 1) -> None:
    for entry in results:
        assert entry["category_id"] == category_id
        kps = np.asarray(entry["keypoints"], float).reshape(k, 3)
        assert np.isfinite(kps).all() and (kps[:, 2] == 2).all()
        assert len(entry["keypoint_scores"]) == k
        assert np.isclose(entry["score"], np.mean(entry["keypoint_scores"]), atol=1e-5)


def test_pytorch_pose_checkpoint_needs_and_uses_skeleton(subset, pytorch_pose_ckpt, tmp_path, capsys, caplog):
    out = tmp_path / "out" / "pp.json"
    assert main(["predict", str(subset), "--checkpoint", str(pytorch_pose_ckpt), "--out", str(out)]) == 2
    assert "--skeleton" in capsys.readouterr().err and not out.exists()
    args = ["predict", str(subset), "--checkpoint", str(pytorch_pose_ckpt), "--out", str(out),
            "--skeleton", "mpii16", "--batch-size", "3"]
    assert main(args) == 0
    images = _results(tmp_path / "out" / "pp.images.json")
    names = ["img0000.png", "img0007.png", "img0021.png", "more/img0042.png"]
    assert [im["file_name"] for im in images] == names
    assert all((im["width"], im["height"]) == (640, 480) for im in images)
    results = _results(out)
    assert [r["image_id"] for r in results] == [im["id"] for im in images] == [1, 2, 4, 5]  # 3 = broken
    _check_entries(results, 16)
    assert any(BROKEN in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert BROKEN in capsys.readouterr().err


def test_own_checkpoint_on_the_full_folder_via_hglabel(openfield, own_ckpt, tmp_path):
    """The `hglabel` entry point (gui/__main__) on every frame of the folder with a tiny model."""
    out = tmp_path / "all.json"
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "gui", "predict", str(openfield / "images"), "--checkpoint", str(own_ckpt),
         "--out", str(out)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=ONE_THREAD,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    images = _results(tmp_path / "all.images.json")
    names = sorted(p.name for p in (openfield / "images").iterdir())
    n = len(names)
    assert n == 12
    assert [im["file_name"] for im in images] == names
    assert [im["id"] for im in images] == list(range(1, n + 1))
    results = _results(out)
    assert [r["image_id"] for r in results] == list(range(1, n + 1))
    _check_entries(results, 4)
    assert f"{n}/{n} images" in proc.stderr and f"predicted {n} instance(s) on {n} image(s)" in proc.stdout
    print(f"full folder ({n} images, tiny model): {elapsed:.1f} s")


def test_coco_ground_truth_boxes_and_pycocotools(subset, openfield, own_ckpt, tmp_path, caplog):
    gt_path = openfield / "annotations.json"
    out = tmp_path / "res.json"
    args = ["predict", str(subset), "--checkpoint", str(own_ckpt), "--out", str(out), "--coco", str(gt_path),
            "--flip"]
    assert main(args) == 0
    gt = json.loads(gt_path.read_text())
    ids = {im["file_name"]: im["id"] for im in gt["images"]}
    present = {ids[n] for n in SUBSET[:3]}  # more/img0042.png is not where the GT says
    results = _results(out)
    assert sorted(r["image_id"] for r in results) == sorted(present)
    assert len(results) == sum(a["image_id"] in present for a in gt["annotations"])
    _check_entries(results, 4, category_id=gt["categories"][0]["id"])
    assert all(len(r["flip_disagreement"]) == 4 and min(r["flip_disagreement"]) >= 0 for r in results)
    assert not (tmp_path / "res.images.json").exists()
    missing = [r.getMessage() for r in caplog.records if "missing" in r.getMessage()]
    assert missing and "8 annotated image(s)" in missing[0] and "img0028.png" in missing[0]
    assert any(BROKEN in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    coco = COCO(str(gt_path))
    loaded = coco.loadRes(str(out))
    assert len(loaded.getAnnIds()) == len(results)
    assert set(loaded.getImgIds()) <= set(coco.getImgIds())


def test_bad_invocations_exit_with_a_message(
    subset, own_ckpt, pytorch_pose_ckpt, openfield, tmp_path, capsys
):
    out = tmp_path / "r.json"
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        ([str(tmp_path / "nope"), "--checkpoint", str(own_ckpt)], "not a folder"),
        ([str(empty), "--checkpoint", str(own_ckpt)], "no images"),
        ([str(subset), "--checkpoint", str(tmp_path / "x.pt")], "x.pt: no such checkpoint file"),
        ([str(subset), "--checkpoint", str(pytorch_pose_ckpt), "--skeleton", "coco17"],
         "checkpoint has 16 keypoints, skeleton 'coco17' has 17"),
        ([str(subset), "--checkpoint", str(pytorch_pose_ckpt), "--skeleton", "mpii16", "--coco",
          str(openfield / "annotations.json")], "the ground truth has 4 keypoints, the checkpoint 16"),
    ]
    for args, message in cases:
        assert main(["predict", *args, "--out", str(out)]) == 2, message
        assert message in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    assert main(["predict", str(broken), "--checkpoint", str(own_ckpt), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "a.png" in err and "none of the 1 image(s) could be read" in err
    assert not out.exists()


def _cli(*args: str, torchrun: bool = False) -> subprocess.CompletedProcess:
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"] if torchrun else []
    return subprocess.run([sys.executable, *launcher, "-m", "model.cli", "predict", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300, env=ONE_THREAD)


def test_torchrun_two_processes_match_a_single_run(subset, own_ckpt, tmp_path):
    """Batch size 1 and one thread in both runs: every image is computed identically, so the merged
    output must equal the single-process one exactly."""
    single, merged = tmp_path / "single" / "r.json", tmp_path / "dist" / "r.json"
    common = [str(subset), "--checkpoint", str(own_ckpt), "--batch-size", "1", "--flip"]
    one = _cli(*common, "--out", str(single))
    assert one.returncode == 0, one.stderr[-3000:]
    two = _cli(*common, "--out", str(merged), torchrun=True)
    assert two.returncode == 0, two.stderr[-3000:]
    assert sorted(p.name for p in merged.parent.iterdir()) == ["r.images.json", "r.json"]  # partials gone
    assert _results(merged.with_name("r.images.json")) == _results(single.with_name("r.images.json"))
    assert len(_results(single)) == 4
    assert _results(merged) == _results(single)
    assert BROKEN in two.stderr  # the corrupt image is reported by whichever rank read it
    assert two.stdout.count("predicted 4 instance(s) on 4 image(s)") == 1  # only rank 0 writes


def test_ranks_from_the_torchrun_environment():
    assert ranks_from_env({}) == Ranks(0, 1, 0)
    ranks = ranks_from_env({"RANK": "1", "WORLD_SIZE": "3", "LOCAL_RANK": "1"})
    assert ranks == Ranks(1, 3, 1) and not ranks.is_main and ranks.distributed
    assert shard(list(range(8)), ranks) == [1, 4, 7]
    for env in ({"RANK": "3", "WORLD_SIZE": "3"}, {"RANK": "x", "WORLD_SIZE": "2"}):
        with pytest.raises(ValueError, match="RANK"):
            ranks_from_env(env)


def test_progress_bar_on_a_log_stream_writes_few_lines():
    stream = io.StringIO()
    bar = ProgressBar(100, stream=stream)
    for _ in range(100):
        bar.update()
    bar.close()
    lines = stream.getvalue().splitlines()
    assert 10 <= len(lines) <= 11 and lines[-1].startswith("[" + "#" * 30 + "] 100/100 images")
    quiet = io.StringIO()
    ProgressBar(5, stream=quiet, enabled=False).update(5)
    assert quiet.getvalue() == ""
