"""Fine-tuning never makes the model worse: the starting model is scored on the validation frames first
and best.pt is only ever a model that beat it; fine-tuning uses a lower learning rate and a real
warm-up. On a clean clone: the demo model fine-tuned on 3 labelled openfield frames, then judged on
the demo's 8 evaluation frames (img0080–img0115) that no run trains on. With so few frames one
held-out frame cannot tell a better model from chance, so a starting model that already gets every
labelled keypoint right keeps its place untrained; one that does not (labels of another convention)
is fine-tuned and judged on the rotating held-out frame."""

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


def shifted_coco(coco: Path, dx: float) -> Path:
    """The same frames with every labelled keypoint moved dx px to the right (another labelling
    convention: the demo model is then wrong by dx everywhere)."""
    data = json.loads(coco.read_text())
    for ann in data["annotations"]:
        kp = ann["keypoints"]
        for i in range(0, len(kp), 3):
            if kp[i + 2] > 0:
                kp[i] += dx
    path = coco.with_name(f"{coco.stem}_shift{dx:g}.json")
    path.write_text(json.dumps(data))
    return path


def fine_tune(capsys, coco: Path, openfield: Path, demo_eval: Path, out: Path, *extra: str) -> dict:
    capsys.readouterr()
    code = main(["train", str(coco), "--images", str(openfield / "images"), "--out", str(out),
                 "--init", str(demo_eval / "checkpoint.pt"), "--epochs", "6", "--threads", "1",
                 "--workers", "0", "--device", "cpu", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    events = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    assert events[0]["fine_tune"] is True
    assert events[0]["lr"] == pytest.approx(2.5e-4) or "--lr" in extra
    assert any(e["event"] == "baseline" for e in events)  # the starting model was scored first
    done = events[-1]
    assert done["event"] == "done" and (not done["kept"] or done["message"] in captured.err)
    done["steps_run"] = sum(e["event"] == "step" for e in events)
    done["val_mode"] = events[0]["val_mode"]
    done["baseline_px"] = next(e for e in events if e["event"] == "baseline")["val"]["mean_px_error"]
    done["best_px"] = min((e["val"]["mean_px_error"] for e in events if e["event"] == "epoch" and e["best"]),
                          default=None)
    return done


@pytest.mark.parametrize("start", [0, 2, 5, 9])
def test_fine_tuning_on_3_frames_never_raises_the_error(capsys, openfield: Path, demo_eval: Path,
                                                        tmp_path: Path, start: int) -> None:
    before = eval_error(demo_eval / "checkpoint.pt", demo_eval)
    coco = subset_coco(openfield, tmp_path, 3, start=start)  # 3 of the 12 in-repo training frames
    done = fine_tune(capsys, coco, openfield, demo_eval, tmp_path / "run")
    used = Path(done["best"]) if done["best"] else demo_eval / "checkpoint.pt"  # what the tool would load
    after = eval_error(used, demo_eval)
    assert after <= before + 1e-6, (before, after, done["message"])
    assert done["kept"] and done["best"] is None and done["steps_run"] == 0
    assert done["message"].startswith("kept the current model: it already places every labelled keypoint "
                                      "of these 3 frames within 5 % of the instance size")
    assert not (tmp_path / "run" / "last.pt").exists()


def test_three_frames_the_model_gets_wrong_are_fine_tuned_on_a_rotating_held_out_frame(
        capsys, openfield: Path, demo_eval: Path, tmp_path: Path) -> None:
    coco = shifted_coco(subset_coco(openfield, tmp_path, 3, start=2), dx=12.0)
    done = fine_tune(capsys, coco, openfield, demo_eval, tmp_path / "run", "--lr", "1e-3")
    assert done["steps_run"] > 0 and done["val_mode"] == "rotating"
    assert done["val_images"] == 1 and "1 validation frame (the held-out frame rotates" in done["message"]
    assert done["baseline_px"] > 8.0  # the start is wrong by ~12 px on the held-out frame
    if done["best"]:  # a new model is only ever one that beat the start on the held-out frame
        assert done["message"].startswith("new model: ") and done["best_px"] < done["baseline_px"]
    else:
        assert done["message"].startswith("kept the current model: ") and done["best_px"] is None


def test_a_harmful_fine_tune_keeps_the_starting_model(capsys, openfield: Path, demo_eval: Path,
                                                      tmp_path: Path) -> None:
    demo_bytes = (demo_eval / "checkpoint.pt").read_bytes()
    coco = subset_coco(openfield, tmp_path, 6)
    done = fine_tune(capsys, coco, openfield, demo_eval, tmp_path / "run", "--lr", "0.05")
    assert done["val_mode"] == "held-out" and done["val_images"] == 2 and done["steps_run"] > 0
    assert done["kept"] is True and done["best"] is None and not (tmp_path / "run" / "best.pt").exists()
    assert done["message"].startswith("kept the current model: ")
    assert "px on 2 validation frames" in done["message"]
    assert (demo_eval / "checkpoint.pt").read_bytes() == demo_bytes
