"""The window on a video: open (frame 0 shown, timeline), the timeline's keys and clicks, play/pause,
picked frames and the Pick Frames dialog, copy-previous (one undo step), bad files named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from model.annotations import edits as E
from model.annotations.types import Instance, Keypoints, Source
from tests.gui.helpers import key
from tests.videogen import index_of, write_video

SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def video(tmp_path) -> Path:
    folder = tmp_path / "rec"
    folder.mkdir()
    return write_video(folder / "clip.mp4", count=40, bframes=2, gop=8)


@pytest.fixture
def opened(qtbot, window, video, of_skeleton):
    assert window.video.open_video(video, of_skeleton)
    qtbot.waitUntil(lambda: window.session.pixels is not None and window.video.current_index == 0,
                    timeout=20000)
    return window


def shown(window) -> int:
    """The frame index the canvas shows, read from the pixels themselves."""
    rgb = window.session.pixels.bgra[:, :, 2::-1]
    return index_of(np.ascontiguousarray(rgb))


def wait_frame(qtbot, window, k: int) -> None:
    qtbot.waitUntil(lambda: window.video.current_index == k and window.session.pixels is not None
                    and window.session.pixels.image_id == window.session.current.id, timeout=10000)
    assert shown(window) == k
    assert window.video.timeline.slider.value() == k


def test_open_video_shows_frame_zero_and_the_timeline(opened):
    w = opened
    assert w.video.timeline.isVisible() and w.video.timeline.slider.maximum() == 39
    assert shown(w) == 0 and "clip.mp4" in w.video.timeline.label.text()
    assert len(w.session.records) == 40 and w.session.current.path == "clip.mp4#000000"


def test_timeline_keys_step_frames(qtbot, opened):
    w = opened
    none = Qt.KeyboardModifier.NoModifier
    for key_, mods, expected in ((Qt.Key.Key_Period, none, 1), (Qt.Key.Key_Right, SHIFT, 11),
                                 (Qt.Key.Key_Comma, none, 10), (Qt.Key.Key_D, SHIFT, 20),
                                 (Qt.Key.Key_Left, SHIFT, 10), (Qt.Key.Key_Right, none, 11)):
        key(w, key_, mods)
        wait_frame(qtbot, w, expected)
    for _ in range(4):
        key(w, Qt.Key.Key_Right, SHIFT)  # clamps at the last frame
    wait_frame(qtbot, w, 39)


def test_strip_click_and_slider_drag_show_that_frame(qtbot, opened):
    w = opened
    strip = w.video.timeline.strip
    x = int(strip.width() * 25.5 / 40)
    QTest.mouseClick(strip, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 5))
    wait_frame(qtbot, w, 25)
    slider = w.video.timeline.slider
    slider.setFocus()
    QTest.keyClick(slider, Qt.Key.Key_End)
    wait_frame(qtbot, w, 39)


def test_next_and_previous_picked(qtbot, opened):
    w = opened
    assert w.video.set_picked([5, 20, 33]) == 3 and w.video.set_picked([5]) == 0
    assert w.video.timeline.strip.picked.sum() == 3
    for key_, expected in ((Qt.Key.Key_BracketRight, 5), (Qt.Key.Key_BracketRight, 20),
                           (Qt.Key.Key_BracketRight, 33), (Qt.Key.Key_BracketLeft, 20)):
        key(w, key_)
        wait_frame(qtbot, w, expected)
    assert sorted(w.session.store.picked()) == sorted(w.video.frame_ids[k] for k in (5, 20, 33))


def test_play_pause_runs_at_the_video_rate(qtbot, opened):
    w = opened
    key(w, Qt.Key.Key_K)
    assert w.video.timer.isActive() and w.video.timer.interval() == 40  # 25 fps
    assert w.video.timeline.play_button.isChecked()
    qtbot.waitUntil(lambda: (w.video.current_index or 0) >= 5, timeout=10000)
    key(w, Qt.Key.Key_K)
    assert not w.video.timer.isActive() and not w.video.timeline.play_button.isChecked()
    stopped = w.video.current_index
    QTest.qWait(200)
    assert w.video.current_index == stopped


def test_copy_previous_frame_is_one_undo_step(qtbot, opened):
    w = opened
    s = w.session
    xy = [(10.0, 20.0), (30.0, 25.0), (12.0, 40.0), (50.0, 45.0)]
    inst = Instance(Keypoints(xy, [2, 2, 1, 2]), (5, 5, 50, 45), 1.0, Source.HUMAN, track_id=7)
    s.commit(E.AddInstance(w.video.frame_ids[3], inst), "label frame 3")
    w.video.show_frame(6)
    wait_frame(qtbot, w, 6)
    key(w, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: len(s.instances) == 1, timeout=5000)
    copied = s.store.instances(w.video.frame_ids[6])[0]
    assert np.allclose(copied.keypoints.xy, xy) and copied.keypoints.vis.tolist() == [2, 2, 1, 2]
    source = s.store.instances(w.video.frame_ids[3])[0]
    assert copied.track_id == 7 and copied.instance_id != source.instance_id
    key(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(s.instances) == 0, timeout=5000)
    assert len(s.store.instances(w.video.frame_ids[3])) == 1  # the source frame keeps its label


def test_pick_frames_dialog_uniform_and_kmeans(qtbot, opened):
    w = opened
    key(w, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier | SHIFT)
    qtbot.waitUntil(lambda: w.video.pick_dialog is not None and w.video.pick_dialog.isVisible(), timeout=5000)
    dialog = w.video.pick_dialog
    dialog.method.setCurrentIndex(dialog.method.findData("uniform"))
    dialog.count.setValue(4)
    QTest.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(w.video.picked) == 4, timeout=5000)
    assert sorted(w.video.index_of[i] for i in w.video.picked) == [0, 13, 26, 39]
    dialog = w.video.pick_frames_dialog()
    dialog.method.setCurrentIndex(dialog.method.findData("kmeans"))
    dialog.count.setValue(3)
    QTest.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=20000)
    assert 4 < len(w.video.picked) <= 7  # re-picking adds


def test_missing_and_broken_videos_are_named(qtbot, window, tmp_path, of_skeleton):
    assert not window.video.open_video(tmp_path / "gone.mp4", of_skeleton)
    assert "gone.mp4: no such video file" in window.status.currentMessage()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.mp4").write_bytes(b"no video here" * 50)
    window.video.open_video(bad / "broken.mp4", of_skeleton)
    qtbot.waitUntil(lambda: "broken.mp4" in window.status.currentMessage()
                    and "cannot open the video" in window.status.currentMessage(), timeout=10000)
    assert window.error_box is not None and "broken.mp4" in window.error_box.text()


def test_demo_offers_the_bundled_video(qtbot, window, tmp_path, monkeypatch):
    import shutil

    import gui.app as app_module
    from tests.conftest import DEMO_DIR

    demo = tmp_path / "demo"  # a copy, so the project file lands in tmp_path
    shutil.copytree(DEMO_DIR, demo, ignore=shutil.ignore_patterns(".hglabel"))
    monkeypatch.setattr(app_module, "demo_dir", lambda: demo)
    args = app_module.build_parser().parse_args(["--demo", "video"])
    app_module.apply_demo(args)
    assert Path(args.folder) == demo / "video" / "m3v1mp4.mp4" and args.predict
    assert app_module.build_parser().parse_args(["--demo"]).demo == "frames"
    window.actions_by_id["open_demo_video"].trigger()
    qtbot.waitUntil(lambda: window.video.current_index == 0 and window.session.pixels is not None,
                    timeout=30000)
    assert len(window.video.frame_ids) == 2330 and window.video.timeline.isVisible()
    qtbot.waitUntil(lambda: window.session.predictions.model_info is not None, timeout=60000)
    assert window.session.predictions.model_info.name == "checkpoint.pt"


def test_only_picked_frames_filter_of_the_image_list(qtbot, opened):
    w = opened
    check, view = w.inspector.dock.only_picked_check, w.list_panel.view
    assert w.video.set_picked([5, 20, 33]) == 3

    def listed() -> list[int]:
        proxy = view.model()
        return [proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 1) for r in range(proxy.rowCount())]

    assert len(listed()) == 40
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton)
    assert check.isChecked()
    ids = [w.video.frame_ids[k] for k in (5, 20, 33)]
    qtbot.waitUntil(lambda: listed() == ids, timeout=3000)
    w.video.set_picked([7])  # a new pick shows up at once
    qtbot.waitUntil(lambda: listed() == sorted(ids + [w.video.frame_ids[7]]), timeout=3000)
    row = view.visualRect(view.model().index(2, 0)).center()  # frame 20
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=row)
    wait_frame(qtbot, w, 20)
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(listed()) == 40, timeout=3000)
