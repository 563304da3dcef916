"""Frame picking: uniform, k-means on thumbnails (generated scenes and the real recording), uncertain;
`hglabel frames` writes <stem>_<index:06d>.png files equal to the decoded frames."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from model.cli import main
from model.io.frames import VideoFrames
from model.video.pick import pick_kmeans, pick_uncertain, pick_uniform, thumbnail
from tests.conftest import DEMO_DIR
from tests.videogen import encode_frames

SCENES = ((0, 30, 40), (30, 35, 200), (35, 50, 120))  # (first, stop, grey level): a 5-frame scene


def scene_image(i: int, level: int) -> np.ndarray:
    image = np.full((48, 64, 3), level, np.uint8)
    cv2.circle(image, (10 + (i % 7) * 6, 24), 4, (255 - level,) * 3, -1)  # a little motion
    return image


def scene_video(path: Path) -> Path:
    return encode_frames(path, (scene_image(i, level) for first, stop, level in SCENES
                                for i in range(first, stop)), rate=25)


def scene_of(k: int) -> int:
    return next(s for s, (first, stop, _) in enumerate(SCENES) if first <= k < stop)


def test_uniform_is_evenly_spaced():
    assert pick_uniform(101, 5) == [0, 25, 50, 75, 100]
    assert pick_uniform(3, 10) == [0, 1, 2]
    assert pick_uniform(0, 4) == [] and pick_uniform(10, 0) == []


def test_kmeans_finds_the_short_scene_uniform_misses(tmp_path):
    with VideoFrames(scene_video(tmp_path / "scenes.mp4")) as frames:
        picked = pick_kmeans(frames, 3)
        again = pick_kmeans(frames, 3)
    assert picked == again  # fixed seed: the same picks every time
    assert sorted(scene_of(k) for k in picked) == [0, 1, 2]
    assert sorted({scene_of(k) for k in pick_uniform(50, 3)}) == [0, 2]  # uniform misses scene 1


def coverage(thumbs: np.ndarray, picks: list[int]) -> float:
    """Mean distance of every thumbnail to its nearest picked one."""
    chosen = thumbs[picks]
    return float(np.sqrt(((thumbs[:, None] - chosen[None]) ** 2).sum(-1)).min(1).mean())


def test_kmeans_on_the_real_video_covers_its_looks_better_than_uniform():
    with VideoFrames(DEMO_DIR / "video" / "m3v1mp4.mp4") as frames:
        picked = pick_kmeans(frames, 12, step=5)
        thumbs = np.stack([thumbnail(image) for k, image in frames.reader.iter_frames() if k % 5 == 0])
    assert len(picked) == 12 and all(k % 5 == 0 for k in picked) and len(set(picked)) == 12
    uniform = [int(round(v)) for v in np.linspace(0, len(thumbs) - 1, 12)]
    assert coverage(thumbs, [k // 5 for k in picked]) < coverage(thumbs, uniform)


def test_uncertain_takes_the_worst_frames_spread_out():
    scores = {k: 0.1 for k in range(100)} | {40: 3.0, 41: 2.9, 42: 2.8, 10: 2.0, 90: 1.5, 7: None}
    assert pick_uncertain(scores, 3, min_gap=5) == [10, 40, 90]
    assert pick_uncertain(scores, 3, min_gap=1) == [40, 41, 42]
    assert pick_uncertain({1: None, 2: float("nan")}, 3) == []


def test_frames_cli_writes_dlc_named_pngs_equal_to_decoded_frames(tmp_path, capsys):
    video = scene_video(tmp_path / "rec.mp4")
    out = tmp_path / "picked"
    assert main(["frames", str(video), "--pick", "4", "--method", "uniform", "--out", str(out)]) == 0
    printed = [int(v) for v in capsys.readouterr().out.split()]
    assert printed == [0, 16, 33, 49]
    assert sorted(p.name for p in out.iterdir()) == [f"rec_{k:06d}.png" for k in printed]
    with VideoFrames(video) as frames:
        for k in printed:
            written = cv2.cvtColor(cv2.imread(str(out / f"rec_{k:06d}.png")), cv2.COLOR_BGR2RGB)
            assert np.array_equal(written, frames.read(k))


def test_frames_cli_uncertain_from_results_and_errors(tmp_path, capsys):
    video = scene_video(tmp_path / "rec.mp4")
    results = tmp_path / "r.json"
    scores = {31: 5.0, 8: 4.0, 33: 3.0}
    results.write_text(json.dumps([{"image_id": k, "uncertainty": scores.get(k, 0.2)} for k in range(50)]))
    args = ["frames", str(video), "--method", "uncertain", "--results", str(results)]
    assert main([*args, "--pick", "2"]) == 0
    assert capsys.readouterr().out.split() == ["8", "31"]  # 33 is within 5 frames of 31
    assert main(["frames", str(video), "--method", "uncertain"]) == 2
    assert "needs --checkpoint" in capsys.readouterr().err
    assert main(["frames", str(tmp_path / "none.mp4")]) == 2
    assert "none.mp4: no such video file" in capsys.readouterr().err


@pytest.mark.timeout(300)
def test_frames_cli_uncertain_with_the_demo_model(tmp_path, capsys):
    import torch

    from tests.e2e.test_predict_video_cli import mouse_video

    video = mouse_video(tmp_path / "mouse.mp4", frames=6)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code = main(["frames", str(video), "--pick", "2", "--method", "uncertain", "--min-gap", "1",
                     "--checkpoint", str(DEMO_DIR / "checkpoint.pt")])
    finally:
        torch.set_num_threads(before)
    assert code == 0
    picked = [int(v) for v in capsys.readouterr().out.split()]
    assert len(picked) == 2 and all(0 <= k < 6 for k in picked)
