"""Kill -9 the running window in the middle of editing; reopening shows every edit it had completed."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from model.annotations.types import ReviewStatus
from model.project.store import ProjectStore
from tests.conftest import REPO_ROOT
from tests.gui.conftest import of_skeleton, window  # noqa: F401 (fixtures)
from tests.gui.helpers import open_folder

EDITS_BEFORE_KILL = 15


def _lines(proc: subprocess.Popen) -> queue.Queue:
    q: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            q.put(line.rstrip("\n"))
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def test_sigkill_loses_no_completed_edit(qtbot, window, tmp_path, openfield, of_skeleton):  # noqa: F811
    folder = tmp_path / "images"
    folder.mkdir()
    for src in sorted((openfield / "images").glob("*.png"))[:10]:
        shutil.copy(src, folder / src.name)
    skeleton_json = tmp_path / "skeleton.json"
    of_skeleton.save_json(skeleton_json)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.gui.gui_crash_child", str(folder), str(skeleton_json),
         str(tmp_path / "child.ini")],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = _lines(proc)
    edits: list[dict] = []
    try:
        first = lines.get(timeout=60)
        assert first == "READY", f"child said {first!r}: {proc.stderr.read() if first is None else ''}"
        while len(edits) < EDITS_BEFORE_KILL:
            line = lines.get(timeout=30)
            assert line is not None, f"child ended early: {proc.stderr.read()}"
            edits.append(json.loads(line))
        os.kill(proc.pid, signal.SIGKILL)  # the child is already busy with the next edit
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with ProjectStore.open_folder(folder) as store:
        assert store.integrity_check() == "ok"
    open_folder(qtbot, window, folder)  # reopen in the window: no skeleton asked, the project is there
    s = window.session
    assert s.skeleton.keypoints == of_skeleton.keypoints
    for edit in edits:
        s.show_image(edit["image"])
        if "status" in edit:
            assert edit["status"] == "done" and s.current.status == ReviewStatus.DONE
            continue
        kp = s.instances[0].keypoints
        assert kp.xy[edit["k"]].tolist() == pytest.approx(edit["xy"], abs=1e-9), edit
        assert int(kp.vis[edit["k"]]) == edit["v"] == 2 and kp.human[edit["k"]]
    assert sum("xy" in e for e in edits) >= 10

