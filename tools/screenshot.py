"""Screenshot of the real window with predictions: `python -m tools.screenshot FOLDER --checkpoint C`.

Run it under a display (e.g. `xvfb-run -s "-screen 0 1600x1000x24" python -m tools.screenshot …`). It
opens FOLDER (creating the project with --skeleton if needed), loads the checkpoint, predicts every
unlabelled image, confirms the keypoints of the first `--done` images and marks them done, shows
image `--show`, waits `--settle` seconds and saves QWidget.grab() of the window.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QRectF, QTimer
from PySide6.QtWidgets import QApplication

from gui.app import application, resolve_skeleton_arg
from gui.main_window import MainWindow
from gui.settings import AppSettings

log = logging.getLogger(__name__)


def wait(condition, timeout: float) -> None:
    """Run the event loop until condition() holds; TimeoutError after timeout seconds."""
    loop, poll, end = QEventLoop(), QTimer(), time.monotonic() + timeout
    poll.timeout.connect(lambda: (condition() or time.monotonic() > end) and loop.quit())
    poll.start(10)
    if not condition():
        loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError("screenshot: the window did not get there in time")


def stage(window: MainWindow, args: argparse.Namespace) -> None:
    s = window.session
    skeleton = resolve_skeleton_arg(args.skeleton) if args.skeleton else None
    window.open_folder(args.folder, skeleton, args.checkpoint)
    wait(lambda: s.pixels is not None and s.predictions.model_info is not None, 120)
    s.predictions.predict_unlabelled()
    wait(lambda: s.predictions.batch_request is None and s.predictions.sink.pending() == 0, 600)
    for row in range(min(args.done, len(s.records))):
        s.show_row(row)
        s.select(None)
        s.editor.accept_prediction()
        s.editor.mark_done()
    s.show_row(min(args.show, len(s.records) - 1))
    wait(lambda: s.pixels is not None, 30)
    s.select(0, 0) if s.instances else None
    window.canvas.fit()
    if s.instances and args.zoom > 0:
        x, y, w, h = s.instances[0].box
        side = max(w, h) * args.zoom
        area = QRectF(x + w / 2 - side / 2, y + h / 2 - side / 2, side, side)
        window.canvas.view_box.setRange(area, padding=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", default="docs/screenshot.png")
    parser.add_argument("--skeleton", help="for a new project: preset, skeleton JSON or COCO file")
    parser.add_argument("--settings", help="settings ini (default: a fresh one beside --out)")
    parser.add_argument("--size", default="1600x1000")
    parser.add_argument("--done", type=int, default=2, help="images to confirm and mark done")
    parser.add_argument("--show", type=int, default=3, help="row of the image to show")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to wait before grabbing")
    parser.add_argument("--zoom", type=float, default=0.0,
                        help="show a square of this many instance-box sides around it (0: whole image)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    application()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    window = MainWindow(AppSettings(args.settings or out.with_suffix(".ini")))
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    stage(window, args)
    deadline = time.monotonic() + args.settle
    wait(lambda: time.monotonic() > deadline, args.settle + 5)
    if not window.grab().save(str(out)):
        log.error("cannot write %s", out)
        return 1
    log.info("wrote %s (%s, %s)", out, window.windowTitle(), QApplication.platformName())
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
