"""The model's "probably absent" suggestions (v = 0 below the calibrated threshold) are drawn on the
canvas, distinctly: a smaller hollow grey diamond with a dashed outline, no skeleton edge to it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter

from gui.views.keypoint_items import ABSENT_COLOR
from gui.workers.inference import ImageResult
from tests.gui.helpers import open_folder
from tests.gui.test_predictions_undo import XY, fake_prediction


def _render(item) -> QImage:
    """The item painted alone on a transparent 64×64 image, centred."""
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.translate(32, 32)
    item.paint(painter, None)
    painter.end()
    return image


def test_absent_suggestion_is_drawn_as_a_hollow_dashed_grey_diamond(qtbot, window, image_folder,
                                                                  of_skeleton) -> None:
    s = window.session
    open_folder(qtbot, window, image_folder, of_skeleton)
    pred = replace(fake_prediction(XY, [0.9, 0.8, 0.7, 0.2]), absent=np.array([False, False, False, True]))
    s.predictions.expect_single(1, s.current.id)
    s.predictions.receive(ImageResult(1, s.current.id, ((None, pred),)))
    qtbot.wait(10)
    (inst,) = s.instances
    assert inst.keypoints.vis.tolist() == [2, 2, 2, 0]
    layer = window.canvas.layer
    absent, shown = layer.point_item(0, 3), layer.point_item(0, 0)
    assert absent is not None, "the absent suggestion is not drawn at all"
    assert absent.state.absent and not shown.state.absent
    assert (absent.pos().x(), absent.pos().y()) == tuple(inst.keypoints.xy[3])  # at the model's peak
    pen = absent.outline_pen()
    assert pen.style() == Qt.PenStyle.DashLine and pen.color() == ABSENT_COLOR
    ordinary = shown.outline_pen()
    assert ordinary.style() == Qt.PenStyle.SolidLine and ordinary.color() != ABSENT_COLOR
    assert absent.fill().style() == Qt.BrushStyle.NoBrush and absent.radius < shown.radius
    assert not absent.flagged  # not a red ring: its own look
    assert "probably absent" in absent.toolTip()
    # painted: hollow (the centre stays all but transparent), grey outline; a prediction's centre is filled
    hollow, filled = _render(absent), _render(shown)
    assert hollow.pixelColor(32, 32).alpha() < 40 and filled.pixelColor(32, 32).alpha() == 255
    greys = [hollow.pixelColor(x, 32) for x in range(32, 64)]
    assert any(c.alpha() > 100 and abs(c.red() - c.green()) < 10 and abs(c.green() - c.blue()) < 10
               for c in greys)
    assert all(3 not in (a, b) for a, b, _ in layer._edges[0])  # no skeleton edge to an absent one
