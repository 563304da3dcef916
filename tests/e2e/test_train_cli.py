"""`hglabel train` as a user (or the GUI's QProcess) runs it: JSON lines, checkpoints the predictor loads,
flip-pair refusal, no silent overwrite, SIGTERM stops cleanly after writing last.pt, --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from model.cli import main
from model.infer.checkpoint import load_checkpoint
from model.infer.predictor import Predictor
from model.io.images import read_image
from tests.conftest import REPO_ROOT
from tests.helpers import subset_coco

TINY = ["--stacks", "1", "--features", "8", "--input-size", "64", "--batch-size", "4", "--threads", "1",
        "--workers", "0", "--device", "cpu"]


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1")
    env.pop("HGLABEL_TRAIN_DIGEST_DIR", None)
    return env


@pytest.fixture(autouse=True)
def keep_threads():
    """--threads changes the process-wide torch setting; put it back after in-process runs."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def train(capsys, *args: str) -> subprocess.CompletedProcess:
    """Run `hglabel train …` in this process (starting a Python with torch costs seconds)."""
    capsys.readouterr()
    code = main(["train", *args])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(["train", *args], code, captured.out, captured.err)


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_train_writes_json_lines_and_loadable_checkpoints(openfield: Path, tmp_path: Path, capsys) -> None:
    coco = subset_coco(openfield, tmp_path, 10)
    out = tmp_path / "run"
    proc = train(capsys, str(coco), "--images", str(openfield / "images"), "--out", str(out), "--epochs", "1",
                 "--val-fraction", "0.2", "--seed", "3", *TINY)
    assert proc.returncode == 0, proc.stderr
    evs = events(proc.stdout)  # every stdout line is one JSON object
    kinds = [e["event"] for e in evs]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch") == 1
    assert kinds.count("step") == evs[0]["steps_per_epoch"] == 2  # 8 training images, batch 4
    assert evs[0]["train_instances"] == 8 and evs[0]["val_instances"] == 2
    step = next(e for e in evs if e["event"] == "step")
    assert {"loss", "lr", "epoch", "step"} <= set(step)
    epoch = next(e for e in evs if e["event"] == "epoch")
    assert {"PCK@0.05", "PCK@0.1", "mean_px_error", "oks_ap"} <= set(epoch["val"])
    assert "\r[" not in proc.stderr  # no progress bar when stderr is not a terminal
    assert torch.get_num_threads() == 1  # --threads
    bundle = load_checkpoint(out / "best.pt")
    assert bundle.skeleton.flip_pairs == ((1, 2),) and bundle.config.input_size == (64, 64)
    assert bundle.heatmap.sigma == 1.0 and bundle.meta["train"]["seed"] == 3
    image = read_image(openfield / "images/img0000.png")
    pred = Predictor(out / "last.pt", device="cpu").predict([(image, None)])
    assert pred[0].keypoints.shape == (4, 2) and np.isfinite(pred[0].keypoints).all()


def test_sided_names_without_flip_pairs_are_refused_unless_no_flip(openfield: Path, tmp_path: Path,
                                                                   capsys) -> None:
    coco = subset_coco(openfield, tmp_path, 8)
    data = json.loads(coco.read_text())
    data["categories"][0]["keypoints"] = ["snout", "left_ear", "rightear", "tailbase"]  # no pair guessed
    coco.write_text(json.dumps(data))
    args = [str(coco), "--images", str(openfield / "images"), "--epochs", "1", "--val-fraction", "0", *TINY]
    refused = train(capsys, *args, "--out", str(tmp_path / "a"))
    assert refused.returncode == 2 and refused.stdout == ""
    assert "left_ear" in refused.stderr and "--no-flip" in refused.stderr
    assert not (tmp_path / "a" / "last.pt").exists()
    ok = train(capsys, *args, "--out", str(tmp_path / "b"), "--no-flip")
    assert ok.returncode == 0, ok.stderr
    assert events(ok.stdout)[0]["train"]["augment"]["flip"] is False


def test_earlier_run_is_not_overwritten_and_bad_data_is_named(openfield: Path, tmp_path: Path,
                                                              capsys) -> None:
    coco = subset_coco(openfield, tmp_path, 4)
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.pt").write_bytes(b"earlier run")
    proc = train(capsys, str(coco), "--images", str(openfield / "images"), "--out", str(out), *TINY)
    assert proc.returncode == 2 and "--resume" in proc.stderr
    assert (out / "last.pt").read_bytes() == b"earlier run"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = train(capsys, str(bad), "--images", str(openfield / "images"), "--out", str(tmp_path / "x"), *TINY)
    assert proc.returncode == 2 and "bad.json" in proc.stderr


def test_sigterm_stops_after_writing_last_and_resume_finishes(openfield: Path, tmp_path: Path,
                                                              capsys) -> None:
    coco = subset_coco(openfield, tmp_path, 8)
    out = tmp_path / "run"
    args = [str(coco), "--images", str(openfield / "images"), "--out", str(out), "--val-fraction", "0", *TINY]
    cmd = [sys.executable, "-m", "model.cli", "train", *args, "--epochs", "50"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                            env=_env())
    try:
        lines = []
        for line in proc.stdout:  # wait for the first optimiser step, then cancel like the GUI does
            lines.append(line)
            if json.loads(line)["event"] == "step":
                proc.send_signal(signal.SIGTERM)
                break
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = events("".join(lines) + rest)[-1]
    assert proc.returncode == 130, err
    assert done["event"] == "done" and done["stopped"] is True and "SIGTERM" in err
    meta = load_checkpoint(out / "last.pt").meta
    assert meta["step"] == done["step"] and meta["epoch"] == 0
    resumed = train(capsys, *args, "--epochs", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    evs = events(resumed.stdout)
    assert evs[0]["step"] == done["step"]
    assert [e["step"] for e in evs if e["event"] == "step"] == list(range(done["step"] + 1, 3))
    assert evs[-1]["stopped"] is False and load_checkpoint(out / "last.pt").meta["epoch"] == 1


def test_trains_on_the_confirmed_labels_of_a_project_folder(openfield: Path, tmp_path: Path, capsys) -> None:
    import shutil

    from model.annotations.types import ReviewStatus
    from model.io.coco import load_coco
    from model.project.store import ProjectStore

    coco = load_coco(subset_coco(openfield, tmp_path, 6))
    folder = tmp_path / "frames"
    folder.mkdir()
    for im in coco.images:
        shutil.copy(openfield / "images" / im.file_name, folder / im.file_name)
    with ProjectStore.open_folder(folder, skeleton=coco.skeleton) as store:
        ids = {Path(r.path).name: r.id for r in store.images()}
        names = {im.id: im.file_name for im in coco.images}
        pairs = [(ids[names[a.image_id]], a.instance) for a in coco.annotations[:5]]  # 6th: unlabelled
        store.insert_instances(pairs, statuses={i: ReviewStatus.DONE for i, _ in pairs})
    out = tmp_path / "run"
    proc = train(capsys, str(folder), "--out", str(out), "--epochs", "1", "--val-fraction", "0.2", *TINY)
    assert proc.returncode == 0, proc.stderr
    start = events(proc.stdout)[0]
    # 5 confirmed images: one is held out, chosen by the seed (it rotates from run to run)
    assert start["train_instances"] == 4 and start["val_mode"] == "rotating" and start["val_images"] == 1
    assert load_checkpoint(out / "last.pt").skeleton.keypoints == coco.skeleton.keypoints
    proc = train(capsys, str(folder), "--images", str(folder), "--out", str(tmp_path / "x"), *TINY)
    assert proc.returncode == 2 and "--images is for COCO input" in proc.stderr
