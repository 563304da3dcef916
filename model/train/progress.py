"""Training progress: one JSON object per line on stdout (the GUI reads these), a bar on a terminal.

Events: "start" (once), "step" (every optimiser step), "epoch" (after each epoch with its validation
metrics), "done" (once, also after a stop). Every event carries "event"; numbers are plain JSON
(NaN and infinities are written as null). Only the main process reports.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import TextIO


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class Progress:
    """Writes events as JSON lines to `out`; a one-line bar to `err` when that is a terminal."""

    def __init__(self, enabled: bool = True, out: TextIO | None = None, err: TextIO | None = None,
                 bar: bool | None = None) -> None:
        self.enabled = enabled
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.bar = (self.err.isatty() if bar is None else bar) and enabled
        self._start = time.monotonic()
        self._total_steps = 0

    def emit(self, event: str, **fields) -> None:
        if not self.enabled:
            return
        record = {"event": event, **_plain(fields)}
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()
        if self.bar:
            self._draw(event, fields)

    def set_total_steps(self, total: int) -> None:
        self._total_steps = int(total)

    def _draw(self, event: str, fields: dict) -> None:
        if event == "step":
            done, total = fields.get("step", 0), max(1, self._total_steps)
            width = 30
            filled = min(width, int(width * done / total))
            elapsed = time.monotonic() - self._start
            eta = elapsed / max(done, 1) * max(total - done, 0)
            self.err.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] step {done}/{total} "
                f"epoch {fields.get('epoch')} loss {fields.get('loss', float('nan')):.5f} "
                f"eta {eta / 60:.1f} min "
            )
        elif event in ("epoch", "done"):
            val = fields.get("val") or {}
            text = " ".join(f"{k} {v:.4g}" for k, v in val.items() if isinstance(v, float))
            self.err.write(f"\n{event} {fields.get('epoch', '')} {text}\n")
        self.err.flush()
