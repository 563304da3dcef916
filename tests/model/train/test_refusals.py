"""`hglabel train` refuses a run that cannot be useful in one line (exit 2, no traceback): too few
labelled frames for a planned run, an --init whose keypoints have the data's count but other names."""

from __future__ import annotations

from pathlib import Path

from model.annotations.skeleton import Skeleton
from model.cli import main
from model.infer.checkpoint import load_checkpoint, save_checkpoint
from tests.helpers import subset_coco


def _train(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["train", *args, "--threads", "1", "--workers", "0", "--device", "cpu"])
    return code, capsys.readouterr().err


def test_too_few_frames_for_random_weights(capsys, openfield: Path, tmp_path: Path) -> None:
    coco = subset_coco(openfield, tmp_path, 3)
    code, err = _train(capsys, str(coco), "--images", str(openfield / "images"), "--out", str(tmp_path / "r"),
                       "--minutes", "5", "--init", "none")
    assert code == 2 and "only 3 labelled frames" in err and "at least 5" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r" / "last.pt").exists()


def test_init_with_other_keypoint_names_is_refused(capsys, openfield: Path, demo_eval: Path,
                                                   tmp_path: Path) -> None:
    demo = load_checkpoint(demo_eval / "checkpoint.pt")
    renamed = Skeleton("other", ("a", "b", "c", "d"), ())
    ckpt = save_checkpoint(tmp_path / "other.pt", demo.state_dict, demo.config, renamed, demo.normalization)
    coco = subset_coco(openfield, tmp_path, 6)
    code, err = _train(capsys, str(coco), "--images", str(openfield / "images"), "--out", str(tmp_path / "r"),
                       "--minutes", "5", "--init", str(ckpt))
    assert code == 2 and "do not match the data's" in err and "Traceback" not in err
