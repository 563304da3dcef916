"""`hglabel demo --check`: the bundled model on the bundled frames, against the bundled labels."""

from __future__ import annotations

import json
import shutil

import model.assets as assets
from model.cli import main


def test_demo_check_passes_and_fails_on_its_limit(capsys):
    assert main(["demo", "--check", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images"] == 8 and out["ok"] and out["mean_px_error"] < 6.0 and out["PCK@0.1"] > 0.9
    assert main(["demo", "--check", "--max-error", "0.5"]) == 1  # ~2 px is over a 0.5 px limit
    assert "FAILED" in capsys.readouterr().out


def test_a_demo_without_its_model_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    demo = tmp_path / "demo"
    shutil.copytree(assets.demo_dir(), demo, ignore=shutil.ignore_patterns("checkpoint.pt", ".hglabel"))
    monkeypatch.setattr(assets.resources, "files", lambda _package: tmp_path)
    assert main(["demo", "--check"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lacks checkpoint.pt" in err


def test_every_error_of_the_tool_has_one_base():
    from gui.workers.inference import ChildGoneError
    from model.annotations.skeleton import SkeletonError
    from model.commands import CommandError
    from model.errors import HglabelError
    from model.infer.checkpoint import CheckpointError
    from model.io.coco_validate import CocoImportError
    from model.io.images import ImageReadError
    from model.project.applier import StaleEditError
    from model.project.store import ProjectError
    from model.train.data import TrainDataError

    for cls in (ChildGoneError, SkeletonError, CommandError, CheckpointError, CocoImportError, ImageReadError,
                StaleEditError, ProjectError, TrainDataError, assets.DemoMissingError):
        assert issubclass(cls, HglabelError), cls
    assert issubclass(SkeletonError, ValueError) and issubclass(assets.DemoMissingError, FileNotFoundError)
