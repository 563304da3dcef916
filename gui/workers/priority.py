"""Lower the scheduling priority of the calling background thread, so the GUI thread wins the CPU."""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)


def lower_current_thread_priority(nice: int) -> bool:
    """Raise the calling thread's nice value by `nice` (Linux: per thread); True when it worked.

    The GUI thread competes for the CPU with inference, decode and thumbnail threads (and, on a
    2-core machine, with everything else); a nicer worker keeps the event loop's latency low.
    """
    if not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    if tid == os.getpid():
        return False  # the main thread: never renice the whole process
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError as exc:
        log.debug("cannot lower thread priority: %s", exc)
        return False
    return True
