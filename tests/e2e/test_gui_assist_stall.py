"""The event-loop stall limit of test_gui_stall holds while an Assist fine-tune trains in the
background (export and train children at low priority; the window only reads their progress lines).

Default run: a tiny untrained model on the in-repo openfield frames (tests.gui.test_assist's folder)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from gui.training.assist import Assist
from gui.training.options import TrainOptions
from tests.e2e.stall import MAX_STALL_S, GapMeter
from tests.gui.conftest import of_skeleton, tiny_checkpoint, window  # noqa: F401 (fixtures)
from tests.gui.helpers import open_folder
from tests.gui.test_assist import CHILD_ENV, assist_folder  # noqa: F401 (fixture)


def test_assist_training_never_stalls_the_event_loop(qtbot, window, assist_folder: Path,  # noqa: F811
                                                     of_skeleton, tiny_checkpoint: Path) -> None:  # noqa: F811
    s = window.session
    open_folder(qtbot, window, assist_folder, of_skeleton)
    s.predictions.load_checkpoint(str(tiny_checkpoint))
    qtbot.waitUntil(lambda: s.predictions.model_info is not None, timeout=60_000)
    assist = Assist(s, every=1, minutes=None, parent=window,
                    hidden=TrainOptions(device="cpu", threads=1, workers=0, epochs=8, batch_size=2))
    assist.runner.env_overrides = dict(CHILD_ENV)
    steps: list[dict] = []
    assist.runner.event.connect(lambda e: steps.append(e) if e.get("event") == "step" else None)
    outcomes = []
    assist.run_finished.connect(outcomes.append)

    meter = GapMeter()
    meter.start(qtbot)
    ticks = meter.ticks  # (wall gap, GUI-thread CPU time in that gap)
    start = time.perf_counter()
    assist.set_enabled(True)
    assert assist.start() and assist.busy()  # the fine-tune of the 6 done images runs in the background
    qtbot.waitUntil(lambda: bool(outcomes), timeout=300_000)
    elapsed = time.perf_counter() - start
    meter.stop()
    assist.set_enabled(False)

    assert steps, (outcomes[0].message, "the fine-tune made no training step")
    assert outcomes[0].done is not None, outcomes[0].message  # the run finished, not failed
    worst_wall, worst_cpu = max(ticks)
    print(f"\nassist fine-tune: {len(steps)} steps in {elapsed:.1f} s, {len(ticks)} ticks, longest "
          f"event-loop gap {worst_wall * 1000:.1f} ms (GUI thread busy {worst_cpu * 1000:.1f} ms of it), "
          f"load average {os.getloadavg()[0]:.1f}")
    assert worst_wall < MAX_STALL_S, f"event loop stalled for {worst_wall * 1000:.0f} ms"
