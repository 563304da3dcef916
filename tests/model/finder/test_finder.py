"""The instance finder: centre targets ↔ peaks, two-mouse scenes from openfield frames, a tiny training
run through `hglabel train --finder`, and one checkpoint file holding pose network + finder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.cli import main
from model.finder.centres import (
    FINDER_KIND,
    centre_targets,
    centres_from_heatmap,
    heatmap_to_image_affine,
    instance_centre,
    whole_image_affine,
)
from model.finder.scenes import apart, load_coco_frames, two_animal_scenes, write_coco


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here runs on one torch thread (tests/conftest.py)."""


@pytest.fixture(scope="module")
def frames(openfield: Path):
    return load_coco_frames(openfield / "annotations.json", openfield / "images")


def test_centre_targets_decode_back_to_the_centres():
    m = whole_image_affine((640, 480), (256, 192))
    centres = np.array([[100.0, 120.0], [420.5, 300.25], [600.0, 60.0]])
    target = centre_targets(centres, m, (256, 192), 4)
    assert target.shape == (1, 48, 64) and target.max() == pytest.approx(1.0, abs=0.05)
    found, scores = centres_from_heatmap(target[0], heatmap_to_image_affine(m, 4), 0.3, 40.0)
    assert len(found) == 3 and (scores > 0.9).all()
    order = np.argsort(found[:, 0])
    np.testing.assert_allclose(found[order], centres, atol=1.5)
    close = centres_from_heatmap(target[0], heatmap_to_image_affine(m, 4), 0.3, 400.0)[0]
    assert len(close) == 1  # suppression of peaks nearer than min_distance


def test_two_mouse_scenes_carry_the_pasted_mouse_and_its_keypoints(frames):
    scenes = two_animal_scenes(frames, 6, seed=3)
    assert len(scenes) == 6
    by_name = {f.name: f for f in frames}
    for scene in scenes:
        base, donor = (by_name[n + ".png"] for n in scene.name[:-4].split("+"))
        assert len(scene.animals) == 2 and apart(scene.animals[1], [scene.animals[0]])
        np.testing.assert_array_equal(scene.animals[1].xy, donor.animals[0].xy)
        # the donor's mouse is dark where the base frame has floor: the scene shows the mouse there
        x, y = donor.animals[0].xy[donor.animals[0].vis > 0].mean(axis=0).astype(int)
        if base.image[y, x].mean() - donor.image[y, x].mean() > 40:
            assert abs(int(scene.image[y, x].mean()) - int(donor.image[y, x].mean())) < 12
        # far from the pasted box the base frame is untouched
        bx, by, bw, bh = donor.animals[0].box
        mask = np.ones(scene.image.shape[:2], bool)
        mask[max(0, int(by) - 8):int(by + bh) + 8, max(0, int(bx) - 8):int(bx + bw) + 8] = False
        assert np.array_equal(scene.image[mask], base.image[mask])


def test_instance_centre_is_the_keypoint_extent_centre_or_the_box_centre():
    xy = np.array([[10.0, 10.0], [30.0, 50.0], [0.0, 0.0]])
    np.testing.assert_allclose(instance_centre(xy, [2, 2, 0], (0, 0, 5, 5)), [20.0, 30.0])
    np.testing.assert_allclose(instance_centre(xy, [0, 0, 0], (0, 0, 10, 20)), [5.0, 10.0])


def test_train_finder_cli_writes_a_finder_and_one_file_with_both_networks(frames, demo_eval, tmp_path):
    coco = write_coco(two_animal_scenes(frames, 4), tmp_path / "scenes", ["snout", "leftear", "rightear",
                                                                          "tailbase"])
    out = tmp_path / "run"
    args = ["train", str(coco), "--out", str(out), "--finder", "--epochs", "2", "--batch-size", "2",
            "--finder-features", "8", "--finder-input", "128x128", "--threads", "1",
            "--pose", str(demo_eval / "checkpoint.pt")]
    assert main(args) == 0
    from model.infer.checkpoint import load_checkpoint
    from model.infer.predictor import Predictor

    finder = load_checkpoint(out / "finder.pt")
    assert finder.meta["kind"] == FINDER_KIND and finder.config.num_keypoints == 1
    assert finder.meta["steps"] == 4 and len(finder.meta["crop_size"]) == 2
    both = load_checkpoint(out / "model.pt")
    assert both.skeleton.num_keypoints == 4 and both.finder is not None
    assert both.finder.meta["kind"] == FINDER_KIND
    predictor = Predictor(out / "model.pt", device="cpu")
    assert predictor.finder is not None and predictor.finder.config.input_size == (128, 128)
    assert Predictor(demo_eval / "checkpoint.pt", device="cpu").finder is None
    assert main(args) == 2  # an earlier finder is not overwritten without --overwrite


def test_train_finder_cli_refuses_a_bad_input_size(openfield, tmp_path, capsys):
    code = main(["train", str(openfield / "annotations.json"), "--out", str(tmp_path / "r"), "--finder",
                 "--finder-input", "100x64"])
    assert code == 2 and "multiples of 64" in capsys.readouterr().err
