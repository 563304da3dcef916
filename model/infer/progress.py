"""A plain text progress bar for long batch jobs (stderr, no dependencies, quiet when not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """`[#####.....] 37/116 images  12.3/s  eta 6s` redrawn in place on a terminal.

    On a non-terminal stream (a log file, CI) a line is written only every `log_every` fraction of
    the work, so logs stay short. `enabled=False` draws nothing (e.g. on non-zero ranks).
    """

    def __init__(self, total: int, label: str = "images", stream: TextIO | None = None,
                 enabled: bool = True, width: int = 30, log_every: float = 0.1) -> None:
        self.total, self.label, self.width = max(0, int(total)), label, width
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and self.total > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._log_step = max(1, int(self.total * log_every))
        self._next_log = self._log_step

    def line(self) -> str:
        """The current bar as text (no line ending)."""
        frac = self.done / self.total if self.total else 1.0
        filled = int(round(frac * self.width))
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta_text = f"eta {eta:.0f}s" if eta == eta else "eta ?"
        bar = "#" * filled + "." * (self.width - filled)
        return f"[{bar}] {self.done}/{self.total} {self.label}  {rate:.1f}/s  {eta_text}"

    def update(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if now - self._last_draw >= 0.1 or self.done == self.total:
                self.stream.write("\r" + self.line())
                self.stream.flush()
                self._last_draw = now
        elif self.done >= self._next_log or self.done == self.total:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._next_log = self.done + self._log_step

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
