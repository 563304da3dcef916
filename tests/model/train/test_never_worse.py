"""Fine-tuning never makes the model worse: the starting model is scored on the validation frames first
and best.pt is only ever a model that beat it; fine-tuning uses a lower learning rate and a real
warm-up. On a clean clone: the demo model fine-tuned on 3 labelled openfield frames, then judged on
the demo's 8 evaluation frames (img0080–img0115) that no run trains on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.cli import main
from model.infer.checkpoint import build_model, load_checkpoint
from model.train.data import items_from_coco
from model.train.validate import validate
from tests.helpers import subset_coco


def eval_error(checkpoint: Path, demo_eval: Path) -> float:
    bundle = load_checkpoint(checkpoint)
    _, items = items_from_coco(demo_eval / "annotations.json", demo_eval / "images")
    net = build_model(bundle)
    return validate(net, items, bundle.config, bundle.skeleton, bundle.normalization, "cpu")["mean_px_error"]


def fine_tune(capsys, openfield: Path, demo_eval: Path, out: Path, *extra: str) -> dict:
    coco = subset_coco(openfield, out.parent, 3, start=2)  # 3 of the 12 in-repo training frames
    capsys.readouterr()
    code = main(["train", str(coco), "--images", str(openfield / "images"), "--out", str(out),
                 "--init", str(demo_eval / "checkpoint.pt"), "--epochs", "6", "--threads", "1",
                 "--workers", "0", "--device", "cpu", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    events = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    assert events[0]["fine_tune"] is True and events[0]["val_mode"] == "rotating"
    assert events[0]["lr"] == pytest.approx(2.5e-4) or "--lr" in extra
    assert any(e["event"] == "baseline" for e in events)  # the starting model was scored first
    return events[-1]


def test_fine_tuning_on_3_frames_never_raises_the_error(capsys, openfield: Path, demo_eval: Path,
                                                        tmp_path: Path) -> None:
    before = eval_error(demo_eval / "checkpoint.pt", demo_eval)
    done = fine_tune(capsys, openfield, demo_eval, tmp_path / "run")
    used = Path(done["best"]) if done["best"] else demo_eval / "checkpoint.pt"  # what the tool would load
    after = eval_error(used, demo_eval)
    assert after <= before + 1e-6, (before, after, done["message"])
    assert done["val_images"] == 1 and "1 validation frame (the held-out frame rotates" in done["message"]


def test_a_harmful_fine_tune_keeps_the_starting_model(capsys, openfield: Path, demo_eval: Path,
                                                      tmp_path: Path) -> None:
    demo_bytes = (demo_eval / "checkpoint.pt").read_bytes()
    done = fine_tune(capsys, openfield, demo_eval, tmp_path / "run", "--lr", "0.05")
    assert done["kept"] is True and done["best"] is None and not (tmp_path / "run" / "best.pt").exists()
    assert done["message"].startswith("kept the current model")
    assert (demo_eval / "checkpoint.pt").read_bytes() == demo_bytes
