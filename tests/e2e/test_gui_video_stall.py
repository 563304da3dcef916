"""The window on the real recording (../shared/data/openfield_video/m3v1mp4.mp4, 2 330 frames):
"predict all" with the demo model runs over every frame, tracked, without stalling the event loop
(the limit of test_gui_stall). Long (minutes on 2 cores): needs HGLABEL_SHARED.

Under a display (`xvfb-run -a env QT_QPA_PLATFORM=xcb pytest …`) with HGLABEL_SCREENSHOTS=DIR set,
it also saves screenshots of the real window (start, during, end)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from model.annotations.types import ReviewStatus
from tests.conftest import DEMO_DIR
from tests.e2e.stall import MAX_STALL_S, GapMeter
from tests.gui.conftest import window  # noqa: F401 (fixture)


def _shot(win, name: str) -> None:
    folder = os.environ.get("HGLABEL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        win.grab().save(str(Path(folder) / name))


def test_predict_the_whole_real_video_without_stalling(qtbot, window, shared, tmp_path):  # noqa: F811
    from gui.app import resolve_skeleton_arg

    folder = tmp_path / "video"
    folder.mkdir()
    shutil.copy(shared / "data" / "openfield_video" / "m3v1mp4.mp4", folder)
    s = window.session
    skeleton = resolve_skeleton_arg(str(DEMO_DIR / "skeleton.json"))
    assert window.video.open_video(folder / "m3v1mp4.mp4", skeleton, str(DEMO_DIR / "checkpoint.pt"))
    qtbot.waitUntil(lambda: s.predictions.model_info is not None and window.video.current_index == 0
                    and s.pixels is not None, timeout=120000)
    assert len(s.records) == 2330
    _shot(window, "video_open.png")

    meter = GapMeter()
    meter.start(qtbot)
    ticks = meter.ticks  # (wall gap, GUI-thread CPU time in that gap)
    start = time.perf_counter()
    assert s.predictions.predict_unlabelled() is not None
    q = s.predictions
    qtbot.waitUntil(lambda: s.counts()[ReviewStatus.UNLABELLED] < 1200, timeout=1800000)
    window.video.show_frame(1000)  # a 1000-frame timeline jump while predicting: measured too
    qtbot.wait(300)
    meter.pause()  # the screenshot (grab + PNG) is the test's own work, not counted
    _shot(window, "video_predicting.png")
    meter.resume()
    qtbot.waitUntil(lambda: q.batch_request is None and q.sink.pending() == 0, timeout=1800000)
    elapsed = time.perf_counter() - start
    meter.stop()
    assert s.counts()[ReviewStatus.UNLABELLED] == 0
    assert all(len(s.store.instances(r.id)) == 1 for r in s.records)
    window.video.show_frame(1500)
    qtbot.waitUntil(lambda: window.video.current_index == 1500 and s.pixels is not None
                    and s.pixels.image_id == s.current.id, timeout=10000)
    qtbot.wait(300)
    _shot(window, "video_done.png")
    worst, worst_cpu = max(ticks)
    busiest = max(cpu for _, cpu in ticks)
    print("longest gaps (wall ms, GUI-thread CPU ms):",
          [(round(g * 1000), round(c * 1000)) for g, c in sorted(ticks)[-5:]])
    print(f"\npredict all: 2330 frames in {elapsed:.0f} s ({2330 / elapsed:.1f} frames/s), "
          f"{len(ticks)} ticks, longest event-loop gap {worst * 1000:.1f} ms, "
          f"load average {os.getloadavg()[0]:.1f}; most GUI-thread CPU in one gap {busiest * 1000:.1f} ms")
    # The window's own work between two timer ticks stays under the stall limit. The wall gap is
    # checked too, except when the GUI thread was idle for most of it (the OS ran other processes:
    # on the shared 2-core machine the load average reached 21 while this was measured).
    assert busiest < MAX_STALL_S, f"the GUI thread worked {busiest * 1000:.0f} ms without returning"
    assert worst < MAX_STALL_S or worst_cpu < worst / 2, f"event loop stalled for {worst * 1000:.0f} ms"
