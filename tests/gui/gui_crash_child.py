"""Child of the GUI crash test: the real window, edited with mouse and key events until it is killed.

Usage: python -m tests.gui.gui_crash_child FOLDER SKELETON_JSON SETTINGS_INI
Prints "READY" once the first image is shown, then one JSON line per committed edit, read back from
the project file after the commit: {"i", "image", "k", "xy"} for a placed keypoint, {"i", "image",
"status"} for "mark done". Edit i goes to image i % n, keypoint (i // n) % K, at a position unique
to i, so no two edits touch the same value until every image has all its keypoints.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.app import application, resolve_skeleton_arg  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.settings import AppSettings  # noqa: E402

DIGIT_KEYS = (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5, Qt.Key.Key_6)


def spin_until(app: QApplication, condition, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("child: condition not met")
        app.processEvents()
        time.sleep(0.002)


def say(data) -> None:
    sys.stdout.write((data if isinstance(data, str) else json.dumps(data)) + "\n")
    sys.stdout.flush()


def main(folder: str, skeleton_json: str, settings: str) -> None:
    app = application()
    win = MainWindow(AppSettings(settings))
    win.resize(1100, 750)
    win.show()
    win.windowHandle().requestActivate()
    spin_until(app, lambda: QApplication.activeWindow() is win)
    s = win.session
    win.open_folder(folder, resolve_skeleton_arg(skeleton_json))
    spin_until(app, lambda: s.pixels is not None)
    say("READY")
    n, k_count = len(s.records), s.skeleton.num_keypoints
    i = 0
    while True:
        row, k = i % n, (i // n) % k_count
        s.show_row(row)
        spin_until(app, lambda: s.pixels is not None)
        image_id = s.current.id
        if i % 7 == 6:
            QTest.keyClick(win, Qt.Key.Key_Space)  # mark done
            say({"i": i, "image": image_id, "status": s.store.image(image_id).status.value})
        else:
            QTest.keyClick(win, DIGIT_KEYS[k])
            x, y = 40 + (i * 13) % 560, 30 + (i * 17) % 420
            QTest.mouseClick(win.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                             win.canvas.map_image_to_widget(x, y).toPoint())
            inst = s.store.instances(image_id)[0]
            say({"i": i, "image": image_id, "k": k, "xy": inst.keypoints.xy[k].tolist(),
                 "v": int(inst.keypoints.vis[k])})
        i += 1


if __name__ == "__main__":
    main(*sys.argv[1:4])
