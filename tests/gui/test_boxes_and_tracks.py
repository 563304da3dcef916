"""Box handles (move, resize: one undo step each), the box following clicked keypoints, and the track
actions (track a folder of frames, swap identities from here on, 'this is track N') on the real
window, driven by mouse drags and keys."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QInputDialog

from model.annotations import edits as E
from model.annotations.types import Instance, Keypoints
from tests.gui.helpers import click_image, drag, drag_image, key, open_folder, widget_point

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def _box(window, index: int = 0):
    return window.session.store.instances(window.session.current.id)[index].box


def test_drawn_box_moves_and_resizes_by_its_handles_one_undo_step_each(qtbot, window, image_folder,
                                                                       of_skeleton):
    open_folder(qtbot, window, image_folder, of_skeleton)
    drag_image(window.canvas, 300, 200, 400, 300)  # draw a box on empty floor
    qtbot.waitUntil(lambda: len(window.session.instances) == 1)
    x, y, w, h = _box(window)
    assert window.session.instances[0].box_set and w == pytest.approx(100, abs=3)
    handles = window.canvas.layer.handles_of(0)
    roles = sorted(hd.role for hd in handles)
    assert roles == ["bottom_left", "bottom_right", "move", "top_left", "top_right"]

    to = widget_point(window.canvas, x + w + 50, y + h + 30)
    drag(window.canvas, widget_point(window.canvas, x + w, y + h), to)
    qtbot.waitUntil(lambda: _box(window)[2] > w + 40)
    nx, ny, nw, nh = _box(window)
    assert (nx, ny) == pytest.approx((x, y)) and (nw, nh) == pytest.approx((w + 50, h + 30), abs=3)
    assert window.session.undo_stack.undoText() == "Resize box"

    to = widget_point(window.canvas, nx + nw / 2 - 40, ny + nh + 20)
    drag(window.canvas, widget_point(window.canvas, nx + nw / 2, ny + nh), to)
    qtbot.waitUntil(lambda: _box(window)[0] < nx - 30)
    assert _box(window)[2:] == pytest.approx((nw, nh)) and window.session.undo_stack.undoText() == "Move box"
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _box(window) == pytest.approx((nx, ny, nw, nh))
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _box(window) == pytest.approx((x, y, w, h))


def test_box_of_a_clicked_instance_follows_its_keypoints(qtbot, window, image_folder, of_skeleton):
    open_folder(qtbot, window, image_folder, of_skeleton)
    click_image(window.canvas, 200, 200)
    qtbot.waitUntil(lambda: len(window.session.instances) == 1)
    click_image(window.canvas, 300, 260)
    qtbot.waitUntil(lambda: window.session.instances[0].keypoints.num_labelled == 2)
    inst = window.session.store.instances(window.session.current.id)[0]
    lo, hi = inst.keypoints.xy[:2].min(axis=0), inst.keypoints.xy[:2].max(axis=0)
    pad = np.maximum(10.0, 0.15 * (hi - lo))
    assert inst.box == pytest.approx((*(lo - pad), *(hi - lo + 2 * pad)))  # not the whole image
    assert not inst.box_set


def _two_mice_on_every_frame(window) -> None:
    s = window.session
    adds = []
    for f, rec in enumerate(s.records):
        for x0, y0, step in ((100.0, 100.0, 12.0), (400.0, 300.0, -12.0)):
            xy = np.array([[x0 + f * step, y0], [x0 + f * step + 10, y0 + 5], [x0 + f * step + 10, y0 - 5],
                           [x0 + f * step + 40, y0]])
            kps = Keypoints(xy, np.full(4, 2), human=np.ones(4, bool))
            adds.append(E.AddInstance(rec.id, Instance(kps, (x0 + f * step - 10, y0 - 20, 60.0, 40.0))))
    assert s.commit(E.Batch(tuple(adds), "mice"), "Add mice", by_person=False)


def _tracks(window) -> list[list[int | None]]:
    s = window.session
    return [[i.track_id for i in s.store.instances(r.id)] for r in s.records]


def test_track_swap_and_assign_actions_are_one_undo_step_each(qtbot, window, image_folder, of_skeleton,
                                                              monkeypatch):
    open_folder(qtbot, window, image_folder, of_skeleton)
    _two_mice_on_every_frame(window)
    key(window, Qt.Key.Key_T, CTRL_SHIFT)  # Track Identities
    assert _tracks(window) == [[1, 2]] * 5
    QApplication.processEvents()
    assert [window.canvas.layer.tag_item(i).text for i in (0, 1)] == ["#1 T1", "#2 T2"]

    key(window, Qt.Key.Key_D)
    key(window, Qt.Key.Key_D)  # the third frame
    qtbot.waitUntil(lambda: window.session.current.id == window.session.records[2].id)
    qtbot.waitUntil(lambda: window.canvas.layer.tag_item(0) is not None)  # drawn once the pixels arrive
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=window.canvas.mapFromScene(window.canvas.layer.tag_item(0).sceneBoundingRect().center()))
    assert window.session.selected_index == 0
    assert "T1" in window.keypoint_panel.title.text()
    key(window, Qt.Key.Key_W, CTRL_SHIFT)  # Swap Identities From Here On
    assert _tracks(window) == [[1, 2], [1, 2], [2, 1], [2, 1], [2, 1]]
    assert window.canvas.layer.tag_item(0).text == "#1 T2"
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _tracks(window) == [[1, 2]] * 5

    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (7, True)))
    key(window, Qt.Key.Key_N, CTRL_SHIFT)  # This Is Track N
    assert _tracks(window)[2] == [7, 2]
    assert window.session.undo_stack.undoText() == "This is track 7"
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _tracks(window)[2] == [1, 2]
