"""Event-loop stall meter for the GUI stall tests: a 5 ms QTimer records every gap between its ticks."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

MAX_STALL_S = 0.100  # the longest the event loop may go without running a queued timer


class GapMeter:
    """`ticks`: (wall gap s, GUI-thread CPU s in that gap) per timer tick while running."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.ticks: list[tuple[float, float]] = []
        self._last = (time.perf_counter(), time.thread_time())
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.ticks.append((now - self._last[0], cpu - self._last[1]))
        self._last = (now, cpu)

    def start(self, qtbot) -> None:
        """Start ticking, let the timer settle for 50 ms, then count from zero."""
        self._timer.start()
        qtbot.wait(50)
        self.ticks.clear()
        self.resume()

    def pause(self) -> None:
        self._timer.stop()

    def resume(self) -> None:
        """Go on counting; the time while paused is no gap."""
        self._last = (time.perf_counter(), time.thread_time())
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
