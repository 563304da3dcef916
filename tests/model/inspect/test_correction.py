"""Heatmap-guided correction: candidates from local maxima (highest first), Tab order, flip partners."""

from __future__ import annotations

import numpy as np
import pytest

from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, Prediction
from model.codec.transforms import apply_affine
from model.inspect.correction import (
    cell_size_px,
    flip_partner,
    maxima_candidates,
    next_candidate,
    swap_keypoints,
)

H2I = np.array([[4.0, 0.0, 101.5], [0.0, 4.0, 51.5]])  # stride-4 crop at (100, 50)


def two_peak_prediction() -> Prediction:
    hm = np.zeros((2, 2, 16, 16), np.float32)
    hm[-1, 0, 5, 3] = 0.9  # best maximum of keypoint 0 at (u, v) = (3, 5)
    hm[-1, 0, 12, 10] = 0.6  # runner-up at (10, 12)
    hm[-1, 0, 1, 14] = 0.02  # below min_value: ignored
    decoded = apply_affine(H2I, np.array([[3.2, 5.1], [8.0, 8.0]]))
    return Prediction(
        keypoints=decoded, confidence=np.array([0.9, 0.0], np.float32), stack_heatmaps=hm,
        stack_keypoints=np.stack([decoded, decoded]), heatmap_to_image=H2I, box=(100, 50, 64, 64),
    )


def test_candidates_are_maxima_in_image_pixels_highest_first():
    pred = two_peak_prediction()
    points, values = maxima_candidates(pred, 0)
    assert values.tolist() == pytest.approx([0.9, 0.6])
    assert points[0] == pytest.approx(pred.keypoints[0])  # the decoded (sub-pixel) point replaces max 1
    assert points[1] == pytest.approx(apply_affine(H2I, np.array([10.0, 12.0])))
    # a keypoint with a flat heatmap still has its decoded position as the only candidate
    flat_points, _ = maxima_candidates(pred, 1)
    assert flat_points.tolist() == [pred.keypoints[1].tolist()]
    assert cell_size_px(H2I) == pytest.approx(4.0)


def test_tab_order_walks_forward_and_back_and_restarts_off_candidates():
    cands = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]])
    assert next_candidate(cands, (0.5, 0.0), tolerance_px=2) == 1
    assert next_candidate(cands, (10.0, 1.0), tolerance_px=2) == 2
    assert next_candidate(cands, (20.0, 0.0), tolerance_px=2) == 0  # wraps
    assert next_candidate(cands, (20.0, 0.0), tolerance_px=2, step=-1) == 1
    assert next_candidate(cands, (50.0, 50.0), tolerance_px=2) == 0
    assert next_candidate(cands, (50.0, 50.0), tolerance_px=2, step=-1) == 2
    with pytest.raises(ValueError):
        next_candidate(np.zeros((0, 2)), (0, 0), 1.0)


def test_flip_partner_from_skeleton_pairs():
    sk = Skeleton("m", ("snout", "leftear", "rightear"), flip_pairs=((1, 2),))
    assert flip_partner(sk, 1) == 2 and flip_partner(sk, 2) == 1
    assert flip_partner(sk, 0) is None


def test_swap_edit_exchanges_values_and_inverts_exactly():
    kps = Keypoints([[1, 2], [3, 4], [5, 6]], [2, 2, 1], confidence=[0.9, 0.8, 0.7])
    inst = Instance(kps, (0, 0, 10, 10), instance_id=7)
    edit = swap_keypoints(3, inst, 1, 2)
    a, b = edit.edits
    assert (a.k, a.new.x, a.new.y, a.new.v, a.new.human) == (1, 5.0, 6.0, 1, True)
    assert (b.k, b.new.x, b.new.y, b.new.v) == (2, 3.0, 4.0, 2)
    assert a.new.confidence == pytest.approx(0.7)
    undo = edit.inverse().edits
    assert {(e.k, e.new) for e in undo} == {(1, a.old), (2, b.old)}
    with pytest.raises(ValueError):
        swap_keypoints(3, inst, 1, 1)
