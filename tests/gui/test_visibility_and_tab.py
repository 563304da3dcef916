"""V cycles 2 → 1 → 0 → 2 (back at the last known spot, or asking for a click) and Tab never changes a
keypoint's confirmed state by itself; on the real window with keys."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.helpers import click_image, key
from tests.gui.test_inspector_window import cell_xy, stored_xy, use_constructed


def _kp(window, k: int):
    s = window.session
    kp = s.store.instances(s.current.id)[0].keypoints
    return int(kp.vis[k]), bool(kp.human[k]), float(kp.confidence[k])


def test_tab_keeps_the_confirmed_state_and_a_single_maximum_is_left_alone(qtbot, predicted) -> None:
    win = predicted
    s = win.session
    use_constructed(win)
    s.select(0, 1)
    key(win, Qt.Key.Key_Tab)
    assert stored_xy(win, 1) == pytest.approx(cell_xy(4, 10))
    v, human, conf = _kp(win, 1)
    assert (v, human) == (2, False) and conf == pytest.approx(0.9)  # still a prediction, the maximum's value
    key(win, Qt.Key.Key_E)  # a person confirms it
    s.select(0, 1)
    key(win, Qt.Key.Key_Tab)
    assert stored_xy(win, 1) == pytest.approx(cell_xy(12, 5)) and _kp(win, 1)[1] is True  # stays confirmed
    s.select(0, 0)  # one maximum only
    key(win, Qt.Key.Key_Tab)
    assert stored_xy(win, 0) == pytest.approx(cell_xy(3, 3))
    steps = s.undo_stack.count()
    key(win, Qt.Key.Key_Tab)  # nothing else to go to: no edit, nothing confirmed
    assert s.undo_stack.count() == steps and stored_xy(win, 0) == pytest.approx(cell_xy(3, 3))
    assert _kp(win, 0)[1] is True  # (confirmed by E above, and Tab did not change that either)


def test_v_cycles_back_to_visible_at_the_last_spot(qtbot, predicted) -> None:
    win = predicted
    s = win.session
    s.select(0, 2, armed=True)
    click_image(win.canvas, 300, 200)  # a person's spot inside the image
    spot = stored_xy(win, 2).copy()
    s.select(0, 2)
    key(win, Qt.Key.Key_V)
    assert _kp(win, 2)[0] == 1
    key(win, Qt.Key.Key_V)
    assert _kp(win, 2)[0] == 0
    key(win, Qt.Key.Key_V)
    assert _kp(win, 2)[:2] == (2, True)
    np.testing.assert_allclose(stored_xy(win, 2), spot)
    for expected in (0, 1, 2):
        s.undo_stack.undo()
        assert _kp(win, 2)[0] == expected


def test_v_on_a_keypoint_with_no_known_spot_asks_for_a_click(qtbot, window, image_folder, of_skeleton):
    from tests.gui.helpers import open_folder

    open_folder(qtbot, window, image_folder, of_skeleton)
    s = window.session
    messages = []
    s.message.connect(messages.append)
    click_image(window.canvas, 100, 100)  # snout placed in a new instance, no prediction anywhere
    s.select(0, 3)
    s.armed = False
    key(window, Qt.Key.Key_V)
    assert "click to place it" in messages[-1] and s.armed
    click_image(window.canvas, 150, 120)
    assert _kp(window, 3)[:2] == (2, True)
    np.testing.assert_allclose(stored_xy(window, 3), (150, 120), atol=1.0)
