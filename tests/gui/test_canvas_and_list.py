"""Canvas gestures (box → instance, click-to-place with auto-advance, hover, flags) and the image list."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsSceneHoverEvent

from gui.item_models.image_list import STATUS_ROLE
from gui.views.style import OverlayStyle
from model.annotations.types import ReviewStatus
from tests.gui.helpers import click_image, drag_image, key, open_folder
from tests.gui.test_predictions_undo import XY, fake_prediction


def test_box_then_clicks_place_keypoints_in_order(qtbot, window, image_folder, of_skeleton):
    s = window.session
    open_folder(qtbot, window, image_folder, of_skeleton)
    drag_image(window.canvas, 100, 80, 300, 240)
    (inst,) = s.instances
    x, y, w, h = inst.box
    assert abs(x - 100) < 2 and abs(y - 80) < 2 and abs(w - 200) < 3 and abs(h - 160) < 3
    assert (s.selected_index, s.selected_k) == (0, 0)
    assert s.current.status == ReviewStatus.IN_REVIEW
    targets = [(150, 100), (170, 120), (190, 140), (250, 200)]
    for k, (tx, ty) in enumerate(targets):
        assert s.selected_k == k  # auto-advanced to the next missing keypoint
        click_image(window.canvas, tx, ty)
    kp = s.store.instances(s.current.id)[0].keypoints
    assert (kp.vis == 2).all() and kp.human.all()
    assert abs(kp.xy - [[150, 100], [170, 120], [190, 140], [250, 200]]).max() < 1.5
    assert s.undo_stack.count() == 5  # one step per gesture
    for _ in range(5):
        key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert s.store.instances(s.current.id) == []
    assert s.current.status == ReviewStatus.UNLABELLED


def test_low_confidence_is_flagged_not_dropped_and_follows_slider(qtbot, window, image_folder, of_skeleton):
    s = window.session
    open_folder(qtbot, window, image_folder, of_skeleton)
    from gui.workers.inference import ImageResult

    s.predictions.expect_single(1, s.current.id)
    s.predictions.receive(ImageResult(1, s.current.id, ((None, fake_prediction(XY, [0.9, 0.5, 0.2, 0.05])),)))
    qtbot.wait(10)
    layer = window.canvas.layer
    flags = [layer.point_item(0, k).flagged for k in range(4)]
    assert flags == [False, False, True, True]
    window.threshold.slider.setValue(60)
    qtbot.wait(10)
    assert [layer.point_item(0, k).flagged for k in range(4)] == [False, True, True, True]
    assert window.settings.review().threshold == 0.6 and window.session.review.threshold == 0.6
    # hovering shows the keypoint's name
    item = layer.point_item(0, 2)
    assert not item.label_visible
    item.hoverEnterEvent(QGraphicsSceneHoverEvent(QEvent.Type.GraphicsSceneHoverEnter))
    assert item.label_visible and item._label.text() == "rightear"


def test_image_list_navigation_filter_counts_and_thumbnails(qtbot, window, image_folder, of_skeleton):
    s = window.session
    open_folder(qtbot, window, image_folder, of_skeleton)
    panel = window.list_panel
    assert panel.counts.text() == "5 images: 5 unlabelled"
    qtbot.waitUntil(lambda: all(window.thumbnails.get(r.id) is not None for r in s.records), timeout=10000)
    thumb = panel.proxy.index(0, 0).data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(thumb, QImage) and max(thumb.width(), thumb.height()) == 72
    key(window, Qt.Key.Key_D)
    key(window, Qt.Key.Key_Right)
    assert s.row == 2
    key(window, Qt.Key.Key_A)
    assert s.row == 1
    key(window, Qt.Key.Key_X)  # image 2 skipped, then done instead
    assert s.current.status == ReviewStatus.SKIPPED
    key(window, Qt.Key.Key_Space)
    assert panel.counts.text() == "5 images: 4 unlabelled, 1 done"
    assert [s.undo_stack.text(i) for i in range(s.undo_stack.count())] == ["Skip image", "Mark done"]
    assert window.list_model.index(1).data(STATUS_ROLE) == "done"
    panel.filter_combo.setCurrentIndex(panel.filter_combo.findData(ReviewStatus.UNLABELLED))
    assert panel.proxy.rowCount() == 4
    key(window, Qt.Key.Key_Left)  # previous unlabelled: row 0
    assert s.row == 0
    key(window, Qt.Key.Key_D)  # skips the done image
    assert s.row == 2
    # N goes to the next image needing review
    s.editor.select_keypoint(0)
    click_image(window.canvas, 50, 50)
    qtbot.wait(10)
    panel.filter_combo.setCurrentIndex(0)
    s.show_row(4)
    key(window, Qt.Key.Key_N)
    assert s.row == 2 and s.current.status == ReviewStatus.IN_REVIEW
    # clicking a row shows that image
    index = panel.proxy.index(3, 0)
    rect = panel.view.visualRect(index)
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert s.row == 3


def test_settings_dialog_and_shortcut_table(qtbot, window, tmp_path):
    from gui.actions import ACTIONS, markdown_table

    dialog = window.settings_dialog()
    dialog.threshold.setValue(0.45)
    dialog.point_size.setValue(17)
    dialog.colors["low_color"].set_rgb((1, 2, 3))
    dialog.accept()
    style = window.session.style
    assert (window.session.review.threshold, style.point_size, style.low_color) == (0.45, 17, (1, 2, 3))
    from gui.settings import AppSettings

    assert AppSettings(tmp_path / "settings.ini").style() == style  # persisted
    assert AppSettings(tmp_path / "settings.ini").review().threshold == 0.45
    assert window.threshold.value() == 0.45
    shortcuts = window.shortcuts_dialog()
    cells = {shortcuts.table.item(r, 0).text() for r in range(shortcuts.table.rowCount())}
    table = markdown_table()
    for action in ACTIONS:
        assert " / ".join(action.shortcuts) in cells
        assert " / ".join(action.shortcuts) in table
        assert window.actions_by_id[action.id].shortcuts()[0].toString() != ""
    assert OverlayStyle().confidence_color(0.0).red() > OverlayStyle().confidence_color(1.0).red()
