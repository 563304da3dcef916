"""Done means confirmed: Space on an image whose model keypoints are still flagged (under the review
threshold, or suggested absent) names them instead of marking the image done; a second Space
confirms them all. An image with nothing flagged is done at the first press."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import Qt

from gui.workers.inference import ImageResult
from model.annotations.types import ReviewStatus
from tests.gui.helpers import activate, key, open_folder
from tests.gui.test_predictions_undo import XY, fake_prediction


def test_space_names_flagged_keypoints_then_confirms_them(qtbot, window, image_folder, of_skeleton) -> None:
    s = window.session
    open_folder(qtbot, window, image_folder, of_skeleton)
    activate(qtbot, window)
    messages: list[str] = []
    s.message.connect(messages.append)
    pred = replace(fake_prediction(XY, [0.9, 0.8, 0.2, 0.9]), absent=np.array([False, False, False, True]))
    s.predictions.expect_single(1, s.current.id)
    s.predictions.receive(ImageResult(1, s.current.id, ((None, pred),)))
    (inst,) = s.instances
    assert inst.keypoints.vis.tolist() == [2, 2, 2, 0]  # tailbase: the model says probably absent
    key(window, Qt.Key.Key_Space)
    assert s.current.status != ReviewStatus.DONE
    assert "rightear" in messages[-1] and "tailbase (absent?)" in messages[-1] and "snout" not in messages[-1]
    key(window, Qt.Key.Key_Space)  # the second, explicit press confirms them all
    assert s.current.status == ReviewStatus.DONE

    key(window, Qt.Key.Key_D)  # the next image has no prediction: nothing to confirm, done at once
    key(window, Qt.Key.Key_Space)
    assert s.current.status == ReviewStatus.DONE
