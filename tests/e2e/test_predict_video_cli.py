"""`hglabel predict VIDEO`: frame ids, tracking, DeepLabCut CSV (read by pandas), errors, torchrun."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.cli import main
from model.infer.video_jobs import rank_block
from tests.conftest import DEMO_DIR, REPO_ROOT
from tests.e2e.test_predict_cli import ONE_THREAD
from tests.videogen import encode_frames

CKPT = DEMO_DIR / "checkpoint.pt"


def mouse_video(path: Path, frames: int = 12) -> Path:
    """A video of the demo's real mouse frames (each shown 3 times: the animal stays put)."""
    from model.io.images import read_image

    images = [read_image(p) for p in sorted((DEMO_DIR / "images").glob("*.png"))]
    return encode_frames(path, (images[(i // 3) % len(images)] for i in range(frames)), rate=30,
                         options={"crf": "10", "preset": "ultrafast"})


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here runs on one torch thread (tests/conftest.py)."""


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return mouse_video(tmp_path_factory.mktemp("video") / "mouse.mp4")


def test_predict_video_results_frames_and_dlc_csv(video, tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "res.json"
    assert main(["predict", str(video), "--checkpoint", str(CKPT), "--out", str(out), "--csv"]) == 0
    results = json.loads(out.read_text())
    frames = json.loads((tmp_path / "res.images.json").read_text())
    assert [r["image_id"] for r in results] == list(range(12))
    assert [f["file_name"] for f in frames][:2] == ["mouse_000000.png", "mouse_000001.png"]
    assert all(f["frame_index"] == f["id"] and f["video"] == "mouse.mp4" for f in frames)
    assert not results[0]["tracked"] and sum(r["tracked"] for r in results) >= 8  # found, then followed
    table = pd.read_csv(tmp_path / "res.csv", header=[0, 1, 2], index_col=0)
    assert table.shape == (12, 12)
    assert table.columns.names == [None, None, None] or table.columns.nlevels == 3
    scorer = table.columns.get_level_values(0)[0]
    assert scorer == "hglabel_checkpoint"
    parts = list(dict.fromkeys(table.columns.get_level_values(1)))
    assert parts == ["snout", "leftear", "rightear", "tailbase"]
    assert list(table.columns.get_level_values(2)[:3]) == ["x", "y", "likelihood"]
    row = table.loc[5]
    assert row[(scorer, "snout", "x")] == pytest.approx(results[5]["keypoints"][0], abs=1e-3)
    likelihood = row[(scorer, "tailbase", "likelihood")]
    assert likelihood == pytest.approx(results[5]["keypoint_scores"][3], abs=1e-5)
    assert "predicted 12 of 12 frame(s)" in capsys.readouterr().out


def test_tracked_results_match_the_search(video, tmp_path):
    a, b = tmp_path / "t.json", tmp_path / "s.json"
    assert main(["predict", str(video), "--checkpoint", str(CKPT), "--out", str(a)]) == 0
    assert main(["predict", str(video), "--checkpoint", str(CKPT), "--out", str(b), "--no-track"]) == 0
    tracked, search = json.loads(a.read_text()), json.loads(b.read_text())
    assert not any(r["tracked"] for r in search)
    diff = [np.abs(np.subtract(t["keypoints"], s["keypoints"])).max()
            for t, s in zip(tracked, search, strict=True)]
    assert max(diff) < 5.0


def test_video_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    for path, text in ((tmp_path / "gone.mp4", "gone.mp4: no such video file"),
                       (bad, "broken.mp4: cannot open the video")):
        assert main(["predict", str(path), "--checkpoint", str(CKPT), "--out", str(tmp_path / "r.json")]) == 2
        err = capsys.readouterr().err
        assert text in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_rank_blocks_cover_the_video_once():
    for count, world in ((12, 2), (2330, 3), (5, 4), (1, 2)):
        blocks = [rank_block(count, r, world) for r in range(world)]
        assert [k for b in blocks for k in b] == list(range(count))
        assert max(map(len, blocks)) - min(map(len, blocks)) <= 1


def test_torchrun_splits_frames(video, tmp_path):
    single, merged = tmp_path / "one" / "r.json", tmp_path / "two" / "r.json"

    def cli(out: Path, *launcher: str) -> subprocess.CompletedProcess:
        args = [sys.executable, *launcher, "-m", "model.cli", "predict", str(video),
                "--checkpoint", str(CKPT), "--no-track", "--out", str(out)]
        return subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                              env=ONE_THREAD)

    one = cli(single)
    assert one.returncode == 0, one.stderr[-2000:]
    two = cli(merged, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2")
    assert two.returncode == 0, two.stderr[-2000:]
    assert sorted(p.name for p in merged.parent.iterdir()) == ["r.images.json", "r.json"]
    a, b = json.loads(single.read_text()), json.loads(merged.read_text())
    assert [r["image_id"] for r in b] == list(range(12))
    for x, y in zip(a, b, strict=True):
        assert np.allclose(x["keypoints"], y["keypoints"], atol=1e-3)
    assert two.stdout.count("predicted 12 of 12 frame(s)") == 1
