"""Model → Flip Test: the model reloads with the flip test and predictions carry flip disagreement."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from model.inspect.uncertainty import keypoint_uncertainty
from tests.gui.helpers import key, open_folder


def test_flip_test_toggle_reloads_model_and_reports_flip_disagreement(
    qtbot, window, image_folder, of_skeleton, tiny_checkpoint
):
    open_folder(qtbot, window, image_folder, of_skeleton)
    session = window.session
    session.predictions.load_checkpoint(str(tiny_checkpoint))
    qtbot.waitUntil(lambda: session.predictions.model_info is not None, timeout=30000)
    session.predictions.predict_current()
    qtbot.waitUntil(lambda: session.predictions.current_prediction() is not None, timeout=30000)
    assert session.predictions.current_prediction().flip_disagreement is None

    loaded = session.predictions.model_info
    key(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert session.predictions.flip_test
    qtbot.waitUntil(lambda: session.predictions.model_info is not loaded, timeout=30000)
    session.predictions.predict_current()

    def flipped():
        pred = session.predictions.current_prediction()
        return pred is not None and pred.flip_disagreement is not None

    qtbot.waitUntil(flipped, timeout=30000)
    pred = session.predictions.current_prediction()
    assert pred.flip_disagreement.shape == (of_skeleton.num_keypoints,)
    assert np.all(np.isfinite(pred.flip_disagreement))
    scores = keypoint_uncertainty(pred)
    np.testing.assert_allclose(scores.flip_px, pred.flip_disagreement)
    assert np.all(scores.score >= scores.flip_px / scores.flip_limit_px - 1e-9)
