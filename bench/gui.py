"""Benchmark: the window on a 10 000-image folder of 1920×1080 JPEGs — first image, then "next image".

- first_image_s: from File → Open (a folder with no project: create, scan 10 000 files, insert) to
  the first image painted on the canvas; also for reopening the same folder.
- next image: press D, wait until the new image is painted; at a labelling pace (one press every
  `--pace` seconds, so prefetch can work), over `--steps` presses: median and p95.
- Baseline in the same run: "next image" the naive way — decode the file in the key handler on the
  GUI thread and hand the array to pyqtgraph's ImageItem (no prefetch, no off-thread decode).
The folder holds 24 distinct JPEGs (openfield frames upscaled to 1920×1080, quality 90) hard-linked
10 000 times, so decoding is real but the disk use is small. The last line is one JSON object with
first_image_s, next_image_median_ms, next_image_p95_ms.

    QT_QPA_PLATFORM=offscreen python -m bench.gui [--images 10000] [--steps 60] [--pace 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gui.app import application  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.settings import AppSettings  # noqa: E402
from model.annotations.presets import load_preset  # noqa: E402
from model.io.images import read_image  # noqa: E402

DISTINCT = 24


def make_folder(root: Path, count: int, source: Path) -> Path:
    """count hard links named img00000.jpg … to DISTINCT 1920×1080 JPEGs made from real frames."""
    folder = root / "images"
    folder.mkdir()
    frames = sorted(source.glob("*.png"))[:DISTINCT]
    masters = []
    for i, frame in enumerate(frames):
        big = cv2.resize(cv2.imread(str(frame)), (1920, 1080), interpolation=cv2.INTER_CUBIC)
        path = root / f"master{i:02d}.jpg"
        cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
        masters.append(path)
    for i in range(count):
        os.link(masters[i % len(masters)], folder / f"img{i:05d}.jpg")
    return folder


def spin(app: QApplication, condition, timeout: float = 60.0) -> None:
    """Run the event loop until condition() holds (checked every millisecond, no busy loop)."""
    if condition():
        return
    loop, poll = QEventLoop(), QTimer()
    end = time.perf_counter() + timeout

    def check() -> None:
        if condition() or time.perf_counter() > end:
            loop.quit()

    poll.timeout.connect(check)
    poll.start(1)
    loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError("benchmark: condition not met in time")


def first_image(app: QApplication, window: MainWindow, folder: Path, skeleton) -> float:
    start = time.perf_counter()
    window.open_folder(folder, skeleton)
    spin(app, lambda: window.session.pixels is not None and window.session.store is not None)
    window.canvas.viewport().repaint()
    return time.perf_counter() - start


def next_images(app: QApplication, window: MainWindow, steps: int, pace: float) -> list[float]:
    s, out = window.session, []
    for _ in range(steps):
        wait_until = time.perf_counter() + pace
        spin(app, lambda t=wait_until: time.perf_counter() >= t)
        target = s.records[s.row + 1].id
        start = time.perf_counter()
        QTest.keyClick(window, Qt.Key.Key_D)
        spin(app, lambda t=target: s.pixels is not None and s.pixels.image_id == t)
        window.canvas.viewport().repaint()
        out.append(time.perf_counter() - start)
    return out


def naive_next_images(app: QApplication, window: MainWindow, steps: int) -> list[float]:
    """Baseline: synchronous decode in the handler, array into a pyqtgraph ImageItem, then paint."""
    import pyqtgraph as pg

    s = window.session
    item = pg.ImageItem(axisOrder="row-major")
    window.canvas.view_box.addItem(item)
    out = []
    for step in range(steps):
        rec = s.records[(s.row + 1 + step) % len(s.records)]
        start = time.perf_counter()
        rgb = read_image(s.image_path(rec))
        item.setImage(rgb, autoLevels=False, levels=(0, 255))
        window.canvas.viewport().repaint()
        out.append(time.perf_counter() - start)
        app.processEvents()
    window.canvas.view_box.removeItem(item)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--pace", type=float, default=0.3, help="seconds between presses of D")
    parser.add_argument("--source", type=Path,
                        default=REPO.parent / "shared" / "data" / "openfield_mouse" / "images")
    args = parser.parse_args(argv)
    app = application()
    root = Path(tempfile.mkdtemp(prefix="hglabel-bench-gui-"))
    try:
        folder = make_folder(root, args.images, args.source)
        window = MainWindow(AppSettings(root / "settings.ini"))
        window.resize(1600, 1000)
        window.show()
        window.windowHandle().requestActivate()
        spin(app, lambda: QApplication.activeWindow() is window)
        cpu0 = time.process_time()
        first = first_image(app, window, folder, load_preset("coco17"))
        first_cpu = time.process_time() - cpu0
        steps = next_images(app, window, args.steps, args.pace)
        naive = naive_next_images(app, window, min(args.steps, 30))
        window.close()
        window2 = MainWindow(AppSettings(root / "settings.ini"))
        window2.resize(1600, 1000)
        window2.show()
        reopen = first_image(app, window2, folder, None)
        window2.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    med, naive_med = statistics.median(steps) * 1000, statistics.median(naive) * 1000
    print(f"images: {args.images} × 1920×1080 JPEG, load average {os.getloadavg()[0]:.1f}")
    print(f"first image (create + scan + show): {first:.3f} s (process CPU {first_cpu:.3f} s); "
          f"reopen: {reopen:.3f} s")
    print(f"next image at a {args.pace:.2f} s pace: median {med:.1f} ms, p95 {p95(steps) * 1000:.1f} ms, "
          f"max {max(steps) * 1000:.1f} ms over {len(steps)}")
    print(f"baseline (decode on the GUI thread + pg.ImageItem): median {naive_med:.1f} ms "
          f"→ {naive_med / med:.1f}× slower")
    print(json.dumps({
        "first_image_s": round(first, 4), "first_image_cpu_s": round(first_cpu, 4),
        "reopen_first_image_s": round(reopen, 4), "next_image_median_ms": round(med, 2),
        "next_image_p95_ms": round(p95(steps) * 1000, 2), "next_image_max_ms": round(max(steps) * 1000, 2),
        "baseline_next_image_median_ms": round(naive_med, 2), "images": args.images,
        "load_average": round(os.getloadavg()[0], 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
