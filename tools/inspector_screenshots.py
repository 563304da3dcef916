"""Maintainer tool: screenshots of the heatmap dock and the canvas overlay in the real window (docs/).

    xvfb-run -s "-screen 0 1600x1000x24" python -m tools.inspector_screenshots docs [--checkpoint CKPT]

With --checkpoint the network predicts the image. Without it, per-stack outputs are *constructed*
from the openfield ground truth (Gaussians that settle on the labels from stack 1 to S, the two
ears confused in the early stacks), written through the normal prediction edit and shown from the
inspector's cache, so the pictures do not depend on having a trained model.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF

from model.annotations.edits import SetStatus, apply_prediction
from model.annotations.skeleton import Skeleton
from model.annotations.types import Prediction, ReviewStatus
from model.codec.transforms import apply_affine, image_to_heatmap_affine, invert_affine
from model.inspect.heatmap_cache import CacheKey
from model.inspect.uncertainty import image_uncertainty

IMAGES = ("img0100.png", "img0020.png", "img0050.png", "img0075.png")


def constructed_prediction(gt_xy: np.ndarray, box, flip_pairs, stacks: int = 4, seed: int = 0) -> Prediction:
    """(S, K, 64, 64) Gaussians drifting onto gt_xy (K, 2) image px; paired keypoints swap early on."""
    rng = np.random.default_rng(seed)
    h2i = invert_affine(image_to_heatmap_affine(box, (256, 256), 4))
    target = apply_affine(invert_affine(h2i), gt_xy)
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    k_count = len(gt_xy)
    partner = np.arange(k_count)
    for a, b in flip_pairs:
        partner[a], partner[b] = b, a
    hm = np.zeros((stacks, k_count, 64, 64), np.float32)
    uv = np.zeros((stacks, k_count, 2))
    for s in range(stacks):
        spread = 4.0 * (stacks - 1 - s) / max(stacks - 1, 1)
        amp = 0.35 + 0.6 * (s + 1) / stacks
        for k in range(k_count):
            centre = target[k] + rng.normal(0.0, 1.0, 2) * spread
            uv[s, k] = centre
            hm[s, k] = amp * np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * 1.6**2))
            if partner[k] != k and s < stacks - 1:  # left/right doubt fading with depth
                other = target[partner[k]]
                hm[s, k] += 0.8 * amp * (1 - s / (stacks - 1)) * np.exp(
                    -((xx - other[0]) ** 2 + (yy - other[1]) ** 2) / (2 * 1.6**2))
    xy = apply_affine(h2i, uv)
    return Prediction(keypoints=xy[-1], confidence=hm[-1].reshape(k_count, -1).max(1), stack_heatmaps=hm,
                      stack_keypoints=xy, heatmap_to_image=h2i, box=tuple(float(v) for v in box))


def _wait(app, condition, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def _ground_truth(data_dir: Path) -> tuple[Skeleton, dict[str, tuple[np.ndarray, list[float]]]]:
    data = json.loads((data_dir / "annotations.json").read_text(encoding="utf-8"))
    skeleton = Skeleton.from_coco_category(data["categories"][0])
    names = {img["id"]: Path(img["file_name"]).name for img in data["images"]}
    gt = {}
    for ann in data["annotations"]:
        flat = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
        gt[names[ann["image_id"]]] = (flat[:, :2], list(ann["bbox"]))
    return skeleton, gt


def _inject(window, skeleton: Skeleton, gt) -> None:
    """Write constructed predictions into the open project and the inspector's cache."""
    s, insp = window.session, window.inspector
    for seed, record in enumerate(s.records):
        xy, box = gt[Path(record.path).name]
        pred = constructed_prediction(xy, box, skeleton.flip_pairs, seed=seed)
        edit = apply_prediction(record.id, None, pred.keypoints, pred.confidence, pred.box, pred.score)
        s.show_image(record.id)
        s.commit(edit, "constructed prediction", by_person=False)
        status = SetStatus(record.id, ReviewStatus.UNLABELLED, ReviewStatus.PREDICTED)
        s.commit(status, "status", by_person=False)
        inst = s.store.instances(record.id)[0]
        window.session.predictions.cache.put(CacheKey(record.id, inst.instance_id, insp.model_id()), pred)
        insp._set_score(record.id, image_uncertainty([pred]))
    s.show_image(s.records[0].id)


def _stage(app, window, out: Path) -> None:
    s, insp, dock = window.session, window.inspector, window.inspector.dock
    _wait(app, lambda: s.pixels is not None and s.instances)
    s.select(0, 1)  # leftear
    insp.refresh()
    _wait(app, lambda: insp.shown is not None)
    dock.cmap_combo.setCurrentText("inferno")
    dock.set_mode("stacks")
    dock.overlay_check.setChecked(True)
    dock.source_combo.setCurrentIndex(dock.source_combo.findData("max"))
    dock.opacity_slider.setValue(70)
    dock.sort_check.setChecked(True)
    box = s.instances[0].box
    cx, cy, side = box[0] + box[2] / 2, box[1] + box[3] / 2, 1.6 * max(box[2], box[3])
    window.canvas.view_box.setRange(QRectF(cx - side / 2, cy - side / 2, side, side), padding=0)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    out.mkdir(parents=True, exist_ok=True)
    dock.grab().save(str(out / "inspector_dock.png"))
    window.grab().save(str(out / "inspector_overlay.png"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for inspector_dock.png and inspector_overlay.png")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data"
                        / "openfield_mouse", help="openfield_mouse folder (images/ and annotations.json)")
    parser.add_argument("--checkpoint", help="predict with this checkpoint instead of constructed outputs")
    args = parser.parse_args(argv)
    from gui.app import application
    from gui.main_window import MainWindow
    from gui.settings import AppSettings

    skeleton, gt = _ground_truth(args.data)
    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "openfield"
        folder.mkdir()
        for name in IMAGES:
            shutil.copy(args.data / "images" / name, folder / name)
        window = MainWindow(AppSettings(str(Path(tmp) / "settings.ini")))
        window.resize(1500, 900)
        window.show()
        window.open_folder(folder, skeleton, args.checkpoint)
        _wait(app, lambda: window.session.pixels is not None)
        if args.checkpoint:
            _wait(app, lambda: window.session.predictions.model_info is not None)
            window.session.predictions.predict_current()
            _wait(app, lambda: window.session.instances)
        else:
            _inject(window, skeleton, gt)
        _stage(app, window, args.out)
        window.close()
    print(f"wrote {args.out / 'inspector_dock.png'} and {args.out / 'inspector_overlay.png'}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
