"""SIGKILL at random moments while edits are applied: acknowledged edits survive, the file stays sound."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from model.annotations import edits as E
from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints
from model.project.store import ProjectStore

CHILD = Path(__file__).with_name("crash_child.py")
K = 3


def _run_and_kill(db: Path, start: int, delay: float) -> list[int]:
    """Run the child from edit `start`, SIGKILL it `delay` s after it is ready; return acked numbers."""
    proc = subprocess.Popen([sys.executable, str(CHILD), str(db), str(start)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def reader() -> None:
        for line in proc.stdout:
            if line.strip() == "ready":
                ready.set()
            else:
                lines.append(line)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert ready.wait(30), proc.stderr.read() if proc.poll() is not None else "child never got ready"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    thread.join(10)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    # only complete lines count: a number is acknowledged once its newline was written
    return [int(line) for line in lines if line.endswith("\n")]


def test_sigkill_loses_no_acknowledged_edit(tmp_path):
    for i in range(4):
        (tmp_path / f"img{i}.png").write_bytes(b"")
    db = tmp_path / "project.db"
    with ProjectStore.create(db, tmp_path, Skeleton("s", tuple("abc"[:K]))) as store:
        for rec in store.images():  # the instance whose keypoints odd edits move
            store.apply(E.AddInstance(rec.id, Instance(Keypoints.empty(K), (0, 0, 1, 1), score=-1.0)))
    rng = random.Random(1234)
    acked: list[int] = []
    start = 0
    for _round in range(5):
        got = _run_and_kill(db, start, rng.uniform(0.05, 0.6))
        assert got, "child acknowledged nothing"
        acked += got
        start = got[-1] + 2  # skip the number that may have committed without its ack
    with ProjectStore.open(db) as store:
        assert store.integrity_check() == "ok"
        ids = [r.id for r in store.images()]
        insts = {i: store.instances(i) for i in ids}
    scores = {inst.score for lst in insts.values() for inst in lst}
    adds = [n for n in acked if n % 2 == 0]
    moves = [n for n in acked if n % 2 == 1]
    assert len(adds) > 20 and len(moves) > 20
    assert set(map(float, adds)) <= scores
    latest: dict[tuple[int, int], int] = {}
    for n in moves:
        slot = (ids[n % len(ids)], (n // 2) % K)
        latest[slot] = max(latest.get(slot, -1), n)
    for (image_id, k), n in latest.items():  # the file holds the last acknowledged move, or a later one
        x = insts[image_id][0].keypoints.xy[k, 0]
        assert x >= n, (image_id, k, x, n)
