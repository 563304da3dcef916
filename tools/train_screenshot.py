"""Maintainer tool: a screenshot of the Train dialog after a real (small) run, for docs/.

    xvfb-run -s "-screen 0 1600x1000x24" python -m tools.train_screenshot docs/train_dialog.png

Copies some openfield images to a temporary folder, imports most of their labels (done), opens the
real main window on it, starts Model → Train with a small fresh network and grabs the dialog when
the run has finished (the "load and re-predict" offer showing).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

from gui.training.options import TrainOptions

log = logging.getLogger(__name__)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "openfield_mouse"


def make_project(openfield: Path, folder: Path, labelled: int, unlabelled: int) -> None:
    """Copy labelled + unlabelled openfield images to folder; import the labels of the first ones."""
    from model.project.coco_bridge import import_coco

    folder.mkdir(parents=True)
    names = [f"img{i:04d}.png" for i in range(labelled + unlabelled)]
    for name in names:
        shutil.copy(openfield / "images" / name, folder / name)
    data = json.loads((openfield / "annotations.json").read_text())
    data["images"] = [im for im in data["images"] if im["file_name"] in names[:labelled]]
    ids = {im["id"] for im in data["images"]}
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] in ids]
    coco = folder.parent / "labels.json"
    coco.write_text(json.dumps(data))
    import_coco(coco, folder)


def wait(app, condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    return condition()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument("--openfield", type=Path, default=SHARED)
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from gui.app import application
    from gui.main_window import MainWindow
    from gui.settings import AppSettings

    app = application()
    with tempfile.TemporaryDirectory(prefix="hglabel-train-shot-") as tmp:
        folder = Path(tmp) / "openfield"
        make_project(args.openfield, folder, 24, 8)
        window = MainWindow(AppSettings(Path(tmp) / "settings.ini"))
        window.show()
        window.open_folder(folder)
        wait(app, lambda: window.session.store is not None, 30)
        dialog = window.train_dialog()
        dialog.form.hidden = TrainOptions(device="cpu", threads=1, workers=0)
        dialog.runner.env_overrides = {"OMP_NUM_THREADS": "1"}
        wait(app, lambda: "counting" not in dialog.form.summary_label.text(), 10)
        form = dialog.form
        form.fresh.setChecked(True)
        form.stacks.setValue(2)
        form.features.setValue(16)
        form.input_size.setValue(64)
        form.batch_size.setValue(4)
        form.epochs.setValue(args.epochs)
        form.val_share.setValue(20)
        dialog.start()
        if not wait(app, lambda: dialog.outcome is not None, 600):
            dialog.runner.shutdown()
            log.error("the run did not finish in time")
            return 1
        dialog.curves.redraw()
        wait(app, lambda: False, 0.5)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        dialog.grab().save(str(args.out))
        log.info("wrote %s (%s)", args.out, dialog.outcome.message)
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
