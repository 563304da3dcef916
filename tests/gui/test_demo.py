"""`hglabel --demo`: bundled frames open with the bundled model and come out predicted near the labels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

import gui.app as app_module
from tests.conftest import REPO_ROOT


def _copy_demo(tmp_path: Path) -> Path:
    demo = tmp_path / "demo"
    shutil.copytree(REPO_ROOT / "assets" / "demo", demo, ignore=shutil.ignore_patterns(".hglabel"))
    return demo


def _labels(demo_eval: Path) -> dict[str, np.ndarray]:
    coco = json.loads((demo_eval / "annotations.json").read_text())
    names = {im["id"]: im["file_name"] for im in coco["images"]}
    return {names[a["image_id"]]: np.reshape(a["keypoints"], (-1, 3))[:, :2] for a in coco["annotations"]}


def test_demo_opens_predicts_every_frame_close_to_the_labels(qtbot, window, tmp_path, monkeypatch, demo_eval):
    demo = _copy_demo(tmp_path)
    monkeypatch.setattr(app_module, "demo_dir", lambda: demo)
    args = app_module.build_parser().parse_args(["--demo"])
    app_module.apply_demo(args)
    assert args.predict and Path(args.checkpoint).name == "checkpoint.pt"

    app_module.predict_when_model_loads(window)
    window.open_folder(args.folder, app_module.resolve_skeleton_arg(args.skeleton), args.checkpoint)

    def all_predicted() -> bool:
        store = window.session.store
        return store is not None and all(r.status != "unlabelled" for r in store.images())

    qtbot.waitUntil(all_predicted, timeout=60000)
    store = window.session.store
    labels = _labels(demo_eval)
    errors = []
    for record in store.images():
        (instance,) = store.instances(record.id)
        errors.append(np.linalg.norm(instance.keypoints.xy - labels[Path(record.path).name], axis=1))
    assert len(errors) == 8
    assert float(np.mean(errors)) < 6.0  # the demo model reaches ~2.2 px on these frames
