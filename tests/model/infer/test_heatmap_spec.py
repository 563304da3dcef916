"""The heatmap spec travels with the checkpoint: saved, loaded, used by the Predictor and by training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from model.annotations.skeleton import Skeleton
from model.codec.spec import HeatmapSpec
from model.infer.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from model.infer.normalization import Normalization
from model.infer.predictor import Predictor
from model.nn.hourglass import HourglassConfig, build_hourglass
from model.train.config import TrainConfig
from model.train.state import heatmap_spec_for

SKELETON = Skeleton("t", ("a", "b"))
CONFIG = HourglassConfig(num_keypoints=2, stacks=1, features=8, input_size=(64, 64))


def _save(path: Path, spec: HeatmapSpec | None) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(path, build_hourglass(CONFIG), CONFIG, SKELETON, Normalization(), heatmap=spec)


def test_spec_is_saved_loaded_and_drives_the_predictor(tmp_path):
    spec = HeatmapSpec((64, 64), 4, sigma=2.0, padding=1.5, decoder="argmax")
    bundle = load_checkpoint(_save(tmp_path / "m.pt", spec))
    assert bundle.heatmap == spec
    predictor = Predictor(bundle, device="cpu", engine="torch")
    assert predictor.decode == "argmax" and predictor.padding == 1.5 and predictor.spec.sigma == 2.0
    assert Predictor(bundle, device="cpu", engine="torch", decode="dark").decode == "dark"


def test_a_file_without_a_spec_gets_the_defaults_and_a_misfit_is_refused(tmp_path):
    path = _save(tmp_path / "old.pt", None)
    raw = torch.load(path, weights_only=True)
    del raw["heatmap"]  # as the files written before the spec existed (the demo model among them)
    torch.save(raw, path)
    assert load_checkpoint(path).heatmap == HeatmapSpec((64, 64), 4, 1.0, 1.25, "dark")
    raw["heatmap"] = HeatmapSpec((128, 128), 4).to_dict()
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(path)
    raw["heatmap"] = {"input_size": [64, 64], "sigma": -1.0}
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match="sigma"):
        load_checkpoint(path)


def test_training_from_a_checkpoint_keeps_its_spec_at_the_run_input_size(tmp_path):
    init = _save(tmp_path / "init.pt", HeatmapSpec((64, 64), 4, sigma=2.0, decoder="argmax"))
    run = HourglassConfig(num_keypoints=2, stacks=1, features=8, input_size=(128, 128))
    spec = heatmap_spec_for(TrainConfig(out_dir=tmp_path / "run", init=init), run)
    assert (spec.input_size, spec.sigma, spec.decoder) == ((128, 128), 2.0, "argmax")
    fresh = heatmap_spec_for(TrainConfig(out_dir=tmp_path / "run2", init=None), run)
    assert (fresh.input_size, fresh.sigma, fresh.decoder) == ((128, 128), 1.0, "dark")
    assert np.isfinite(fresh.padding)
