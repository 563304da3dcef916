"""The event loop keeps ticking while "predict all" runs over the 116 openfield images, real small model.

Needs ../shared's full set (HGLABEL_SHARED): 12 frames finish before a stall could show."""

from __future__ import annotations

import os
import shutil
import time

from model.annotations.types import ReviewStatus
from tests.e2e.stall import MAX_STALL_S, GapMeter
from tests.gui.conftest import of_skeleton, tiny_checkpoint, window  # noqa: F401 (fixtures)
from tests.gui.helpers import open_folder


def test_predict_all_never_stalls_the_event_loop(qtbot, window, openfield_full, of_skeleton,  # noqa: F811
                                                 tiny_checkpoint, tmp_path):  # noqa: F811
    folder = tmp_path / "openfield"
    folder.mkdir()
    sources = sorted((openfield_full / "images").glob("*.png"))
    assert len(sources) == 116
    for src in sources:
        shutil.copy(src, folder / src.name)  # symlinks leading outside the folder are refused
    s = window.session
    open_folder(qtbot, window, folder, of_skeleton)
    s.predictions.load_checkpoint(str(tiny_checkpoint))
    qtbot.waitUntil(lambda: s.predictions.model_info is not None, timeout=60000)

    meter = GapMeter()
    meter.start(qtbot)
    ticks = meter.ticks  # (wall gap, GUI-thread CPU time in that gap)
    start = time.perf_counter()
    assert s.predictions.predict_unlabelled() is not None
    q = s.predictions
    qtbot.waitUntil(lambda: q.batch_request is None and q.sink.pending() == 0, timeout=180000)
    elapsed = time.perf_counter() - start
    meter.stop()

    assert s.counts()[ReviewStatus.UNLABELLED] == 0
    assert all(len(s.store.instances(r.id)) == 1 for r in s.records)
    assert s.undo_stack.count() >= 1 and s.undo_stack.text(0).startswith("Predict")
    assert len(s.instances) == 1 and window.canvas.layer.point_item(0, 0) is not None  # drawn as it landed
    worst_wall, worst_cpu = max(ticks)
    print(f"\npredict all: 116 images in {elapsed:.1f} s, {len(ticks)} ticks, longest event-loop gap "
          f"{worst_wall * 1000:.1f} ms (GUI thread busy {worst_cpu * 1000:.1f} ms of it), "
          f"load average {os.getloadavg()[0]:.1f}")
    assert worst_wall < MAX_STALL_S, f"event loop stalled for {worst_wall * 1000:.0f} ms"
