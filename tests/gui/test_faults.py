"""The window under faults: the project file removed while open (1), an edit SQLite cannot write —
another process's lock — never freezes the window nor leaves a phantom undo step (2), a bit-flipped
project never hangs at "Opening …" (3), a read-only project opens for viewing (4), a moved folder is
re-attached in the window (7)."""

from __future__ import annotations

import shutil
import sqlite3
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from model.project import schema
from model.project.coco_bridge import import_coco
from model.project.paths import fallback_project_path
from tests.gui.helpers import click_image, open_folder
from tests.model.project.faults import patch_bytes


def _problem(window) -> str:
    label = window.status.problem_label
    return label.toolTip() if label.isVisible() else ""


def test_case1_removed_project_file_refuses_edits_with_a_persistent_message(qtbot, window, image_folder,
                                                                             of_skeleton):
    open_folder(qtbot, window, image_folder, of_skeleton)
    s = window.session
    click_image(window.canvas, 100, 100)
    assert s.undo_stack.count() == 1
    s.store.path.unlink()
    click_image(window.canvas, 120, 110)
    qtbot.waitUntil(lambda: "was removed" in _problem(window), timeout=3000)
    assert s.undo_stack.count() == 1  # no phantom step for the refused edit
    assert len(s.instances[0].keypoints.xy) and s.instances[0].keypoints.num_labelled == 1
    qtbot.wait(700)
    assert "was removed" in _problem(window)  # still there: persistent, not a 6 s status message


def test_case2_locked_project_refuses_the_edit_at_once(qtbot, window, image_folder, of_skeleton):
    open_folder(qtbot, window, image_folder, of_skeleton)
    s = window.session
    holder = sqlite3.connect(s.store.path, isolation_level=None)  # e.g. `hglabel import --replace`
    holder.create_function("hg_crc", -1, schema.row_crc)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE images SET width = width")
    start = time.perf_counter()
    click_image(window.canvas, 100, 100)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"the GUI thread waited {elapsed:.1f} s on the lock"
    assert "another process is writing" in _problem(window)
    assert s.undo_stack.count() == 0 and s.instances == []  # nothing claims to be saved
    holder.execute("ROLLBACK")
    holder.close()
    click_image(window.canvas, 100, 100)
    assert s.undo_stack.count() == 1 and len(s.store.instances(s.current.id)) == 1
    assert _problem(window) == ""  # the edit landed: the warning is over


def test_case3_bit_flipped_project_reports_instead_of_hanging(qtbot, window, image_folder, openfield):
    report = import_coco(openfield / "annotations.json", _with_all_images(image_folder, openfield))
    patch_bytes(report.project, b"done", b"donu")
    window.open_folder(image_folder)
    qtbot.waitUntil(lambda: not window.opener.busy, timeout=10000)
    qtbot.waitUntil(lambda: "damaged project file" in window.status.currentMessage(), timeout=3000)
    assert window.session.store is None and window.error_box.isVisible()
    assert str(report.project) in window.error_box.text()


def _with_all_images(folder, openfield):
    for src in (openfield / "images").glob("*.png"):
        shutil.copy(src, folder / src.name)
    return folder


def test_case7_moved_folder_is_relinked_in_the_window(qtbot, window, tmp_path, image_folder, openfield,
                                                      monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    _with_all_images(image_folder, openfield)
    kept = fallback_project_path(image_folder)  # a read-only folder's project lives here
    import_coco(openfield / "annotations.json", image_folder, project=kept)
    moved = tmp_path / "moved"
    image_folder.rename(moved)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(moved))
    window.open_folder(image_folder)
    box = window.error_box
    assert box.isVisible() and "Its labels are kept" in box.text()
    relink = next(b for b in box.buttons() if b.text() == "Relink…")
    qtbot.mouseClick(relink, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.session.store is not None, timeout=15000)
    assert window.session.store.image_root == moved.resolve()
    assert sum(window.session.counts().values()) == 12 and not box.isVisible()



def test_case4_read_only_project_opens_for_viewing(qtbot, window, image_folder, openfield, monkeypatch,
                                                    tiny_checkpoint):
    from model.project import connection

    report = import_coco(openfield / "annotations.json", _with_all_images(image_folder, openfield))
    # file modes mean nothing to root: make the store see what an unprivileged user sees (the CLI
    # matrix runs the real thing as an ordinary user)
    monkeypatch.setattr(connection, "can_write", lambda path: path != report.project)
    open_folder(qtbot, window, image_folder)
    s = window.session
    assert s.store.read_only and len(s.records) == 12 and s.pixels is not None
    assert "opened read-only" in _problem(window)
    s.step(1)  # browsing works
    qtbot.waitUntil(lambda: s.pixels is not None and s.pixels.image_id == s.current.id, timeout=5000)
    before = s.store.image(s.current.id)
    before_instances = s.store.instances(s.current.id)
    window.actions_by_id["skip_image"].trigger()
    assert s.undo_stack.count() == 0 and s.store.image(s.current.id) == before
    assert "nothing can be changed" in _problem(window)  # the refused edit, not only the open notice
    s.predictions.load_checkpoint(str(tiny_checkpoint))  # predicting works, nothing is stored
    qtbot.waitUntil(lambda: s.predictions.model_info is not None, timeout=30000)
    window.actions_by_id["predict_image"].trigger()
    qtbot.waitUntil(lambda: "not stored" in window.status.currentMessage(), timeout=30000)
    assert s.predictions.current_prediction() is not None and s.undo_stack.count() == 0
    assert s.store.instances(s.current.id) == before_instances
