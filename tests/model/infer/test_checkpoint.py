"""Checkpoint loading/saving: own format round trip, pytorch-pose layout, refusal of unsafe or wrong files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from model.annotations.presets import load_preset
from model.annotations.skeleton import Skeleton
from model.infer.checkpoint import CheckpointError, build_model, load_checkpoint, save_checkpoint
from model.infer.normalization import MPII_MEAN, Normalization
from model.infer.predictor import Predictor
from model.nn.hourglass import HourglassConfig, build_hourglass

TINY = HourglassConfig(num_keypoints=4, stacks=2, blocks=1, features=8, input_size=(64, 64))
MOUSE = Skeleton("mouse", ("snout", "leftear", "rightear", "tailbase"), edges=((0, 1), (0, 2)),
                 flip_pairs=((1, 2),))


def _randomised(config: HourglassConfig, seed: int = 0) -> torch.nn.Module:
    """A network with random weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    model = build_hourglass(config)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.num_batches_tracked.fill_(7)
    return model.eval()


def _pytorch_pose_file(path: Path, model: torch.nn.Module, legacy: bool = True) -> Path:
    """Write `model` the way pytorch-pose did: module. prefix, no num_batches_tracked, extra keys."""
    state = {f"module.{k}": v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    payload = {"epoch": 30, "arch": "hg", "state_dict": state, "best_acc": 0.87,
               "optimizer": {"state": {}, "param_groups": [{"lr": 2.5e-4, "params": [0, 1]}]}}
    torch.save(payload, path, _use_new_zipfile_serialization=not legacy)
    return path


def _outputs(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        return model.eval()(x)


# ---- own format ---------------------------------------------------------------------------------
def test_round_trip_keeps_header_and_predicts_identically(tmp_path: Path) -> None:
    model = _randomised(TINY)
    norm = Normalization((0.5, 0.4, 0.3), (0.2, 0.25, 0.3))
    meta = {"epoch": 3, "note": "tiny", "losses": [0.5, 0.25], "nested": {"ok": True, "none": None}}
    path = save_checkpoint(tmp_path / "m.pt", model, TINY, MOUSE, norm, meta)
    bundle = load_checkpoint(path)
    assert bundle.config == TINY and bundle.skeleton == MOUSE and bundle.normalization == norm
    assert bundle.meta == meta and bundle.source == str(path)
    x = torch.rand(2, 3, 64, 64)
    for a, b in zip(_outputs(model, x), _outputs(build_model(bundle), x), strict=True):
        assert torch.equal(a, b)
    rng = np.random.default_rng(0)
    items = [(rng.integers(0, 255, (48, 80, 3), dtype=np.uint8), None),
             (rng.integers(0, 255, (60, 40, 3), dtype=np.uint8), [5.0, 6.0, 20.0, 30.0])]
    from_file = Predictor(path, device="cpu").predict(items)
    in_memory = Predictor(bundle, device="cpu", network=model).predict(items)
    for a, b in zip(from_file, in_memory, strict=True):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)
        np.testing.assert_array_equal(a.stack_heatmaps, b.stack_heatmaps)


def test_file_holds_only_plain_data(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "m.pt", _randomised(TINY).state_dict(), TINY, MOUSE, Normalization())
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "hglabel-checkpoint" and raw["version"] == 1
    assert raw["config"] == TINY.to_dict() and raw["skeleton"] == MOUSE.to_dict()
    assert raw["normalization"] == {"mean": list(MPII_MEAN), "std": [1.0, 1.0, 1.0]}
    assert all(not k.startswith("module.") for k in raw["state_dict"])


def test_save_rejects_objects_in_meta_and_wrong_skeleton(tmp_path: Path) -> None:
    model = _randomised(TINY)
    with pytest.raises(ValueError, match=r"meta\.where.*PosixPath"):
        save_checkpoint(tmp_path / "m.pt", model, TINY, MOUSE, Normalization(), {"where": tmp_path})
    with pytest.raises(ValueError, match="skeleton 'mpii16' has 16"):
        save_checkpoint(tmp_path / "m.pt", model, TINY, load_preset("mpii16"), Normalization())
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_newer_version_is_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "m.pt", _randomised(TINY), TINY, MOUSE, Normalization())
    raw = torch.load(path, weights_only=True)
    raw["version"] = 99
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match=r"m\.pt: written by a newer hglabel \(version 99\)"):
        load_checkpoint(path)


# ---- pytorch-pose layout ------------------------------------------------------------------------
@pytest.mark.parametrize("legacy", [True, False])
def test_pytorch_pose_layout_loads_with_skeleton(tmp_path: Path, legacy: bool) -> None:
    config = HourglassConfig(num_keypoints=16, stacks=2, blocks=2, features=8, input_size=(256, 256))
    model = _randomised(config, seed=1)
    path = _pytorch_pose_file(tmp_path / "hg.pth.tar", model, legacy=legacy)
    bundle = load_checkpoint(path, "mpii16")
    assert bundle.config == config
    assert bundle.skeleton.name == "mpii16"
    assert bundle.normalization == Normalization(MPII_MEAN, (1.0, 1.0, 1.0))
    assert bundle.meta == {"source_format": "pytorch-pose", "epoch": 30, "arch": "hg", "best_acc": 0.87}
    filled = [k for k in bundle.state_dict if k.endswith("num_batches_tracked")]
    assert filled and all(int(bundle.state_dict[k]) == 0 for k in filled)
    x = torch.rand(1, 3, 64, 64)
    for a, b in zip(_outputs(model, x), _outputs(build_model(bundle), x), strict=True):
        assert torch.equal(a, b)


def test_published_pytorch_pose_key_list_loads(tmp_path: Path, shared: Path) -> None:
    """A file with exactly the keys and shapes of the published 2-stack MPII model."""
    lines = (shared / "reference" / "pytorch_pose_hg_s2_b1_k16.keys.txt").read_text().splitlines()
    state = {}
    for line in lines:
        name, shape = line.split(" ", 1)
        if not name.endswith("num_batches_tracked"):
            dims = [int(v) for v in shape.strip("[]").split(",") if v.strip()]
            state[f"module.{name}"] = torch.zeros(dims)
    path = tmp_path / "s2.pth.tar"
    torch.save({"state_dict": state, "arch": "hg"}, path, _use_new_zipfile_serialization=False)
    bundle = load_checkpoint(tmp_path / "s2.pth.tar", "mpii16", expect={"stacks": 2, "blocks": 1})
    assert bundle.config == HourglassConfig(num_keypoints=16, stacks=2, blocks=1, features=128)
    assert sum(v.numel() for k, v in bundle.state_dict.items() if "running" not in k and "num_b" not in k) \
        == 6_730_912


def test_pytorch_pose_without_skeleton_says_to_supply_one(tmp_path: Path) -> None:
    path = _pytorch_pose_file(tmp_path / "hg.pth.tar", _randomised(TINY))
    with pytest.raises(CheckpointError, match=r"hg\.pth\.tar: .*carries no skeleton.*--skeleton"):
        load_checkpoint(path)


def test_keypoint_count_mismatch_is_named(tmp_path: Path) -> None:
    config = HourglassConfig(num_keypoints=16, stacks=1, features=8, input_size=(64, 64))
    path = _pytorch_pose_file(tmp_path / "hg.pth.tar", _randomised(config))
    message = r"hg\.pth\.tar: checkpoint has 16 keypoints, skeleton 'coco17' has 17"
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path, "coco17")
    own = save_checkpoint(tmp_path / "own.pt", _randomised(TINY), TINY, MOUSE, Normalization())
    with pytest.raises(CheckpointError, match="checkpoint has 4 keypoints, skeleton 'mpii16' has 16"):
        load_checkpoint(own, "mpii16")


@pytest.mark.parametrize(
    ("expect", "message"),
    [({"stacks": 8}, "stack count differs: checkpoint has 2, expected 8"),
     ({"blocks": 2}, "block count differs: checkpoint has 1, expected 2"),
     ({"num_keypoints": 17}, "keypoint count differs: checkpoint has 4, expected 17"),
     (HourglassConfig(num_keypoints=4, stacks=2, blocks=1, features=16, input_size=(64, 64)),
      "feature width differs: checkpoint has 8, expected 16")],
)
def test_expected_config_differences_are_named(tmp_path: Path, expect: object, message: str) -> None:
    path = save_checkpoint(tmp_path / "m.pt", _randomised(TINY), TINY, MOUSE, Normalization())
    with pytest.raises(CheckpointError, match=rf"m\.pt: {message}"):
        load_checkpoint(path, expect=expect)
    assert load_checkpoint(path, expect={"stacks": 2, "blocks": 1, "num_keypoints": 4}).config == TINY


def test_shape_mismatch_and_missing_keys_are_named(tmp_path: Path) -> None:
    state = dict(_randomised(TINY).state_dict())
    state["fc.0.0.weight"] = torch.zeros(3, 3, 1, 1)
    torch.save({"state_dict": state}, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"shape\.pt: 'fc\.0\.0\.weight' has shape \[3, 3, 1, 1\]"):
        load_checkpoint(tmp_path / "shape.pt", MOUSE)
    del state["fc.0.0.weight"]
    torch.save({"state_dict": state}, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match=r"missing\.pt: .*1 missing keys \(e\.g\. fc\.0\.0\.weight\)"):
        load_checkpoint(tmp_path / "missing.pt", MOUSE)


# ---- unreadable and unsafe files ----------------------------------------------------------------
def test_unreadable_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "text.pt").write_text("not a checkpoint at all")
    good = save_checkpoint(tmp_path / "good.pt", _randomised(TINY), TINY, MOUSE, Normalization())
    data = good.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    torch.save([1, 2, 3], tmp_path / "list.pt")
    torch.save({"epoch": 3}, tmp_path / "nostate.pt")
    for name, pattern in [("text.pt", "not a readable checkpoint"), ("cut.pt", "not a readable checkpoint"),
                          ("list.pt", "not a checkpoint .*list"), ("nostate.pt", "not a checkpoint"),
                          ("absent.pt", "no such checkpoint file")]:
        with pytest.raises(CheckpointError, match=rf"{name}: {pattern}"):
            load_checkpoint(tmp_path / name, MOUSE)


class _Payload:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Custom:
    def __init__(self) -> None:
        self.created = True


@pytest.mark.parametrize("legacy", [True, False])
def test_pickle_with_code_is_refused_and_not_run(tmp_path: Path, legacy: bool) -> None:
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {"x": torch.zeros(1)}, "payload": _Payload(marker)}, tmp_path / "evil.pt",
               _use_new_zipfile_serialization=not legacy)
    assert b"system" in (tmp_path / "evil.pt").read_bytes() or not legacy  # the payload is really in there
    with pytest.raises(CheckpointError, match=r"evil\.pt: refused: .*system"):
        load_checkpoint(tmp_path / "evil.pt", MOUSE)
    assert not marker.exists()
    # the same payload does run under plain pickle: the marker test is meaningful
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


def test_pickle_with_custom_class_is_refused(tmp_path: Path) -> None:
    torch.save({"state_dict": {}, "extra": _Custom()}, tmp_path / "custom.pt")
    with pytest.raises(CheckpointError, match=r"custom\.pt: refused: .*_Custom"):
        load_checkpoint(tmp_path / "custom.pt", MOUSE)
