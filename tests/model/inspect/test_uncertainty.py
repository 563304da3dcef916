"""Uncertainty scores from constructed per-stack outputs: disagreement, flags, image order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.annotations.types import Prediction
from model.inspect.uncertainty import (
    FLIP,
    PEAK,
    STACK,
    ImageUncertainty,
    UncertaintyThresholds,
    filter_uncertain,
    image_uncertainty,
    keypoint_uncertainty,
    next_most_uncertain,
    uncertainty_order,
)


def make_prediction(stack_xy, peak, box=(0.0, 0.0, 100.0, 100.0), flip=None) -> Prediction:
    """A prediction whose S per-stack peaks are `stack_xy` (S, K, 2); the final stack is the answer."""
    stack_xy = np.asarray(stack_xy, np.float64)
    s, k, _ = stack_xy.shape
    return Prediction(
        keypoints=stack_xy[-1], confidence=np.asarray(peak, np.float32),
        stack_heatmaps=np.zeros((s, k, 4, 4), np.float32), stack_keypoints=stack_xy,
        heatmap_to_image=np.array([[4.0, 0, 1.5], [0, 4.0, 1.5]]), box=box,
        flip_disagreement=None if flip is None else np.asarray(flip, np.float64),
    )


def test_stack_disagreement_is_rms_spread_in_pixels():
    # keypoint 0: stacks at x = 10, 12, 14 → mean 12, RMS distance sqrt(8/3); keypoint 1: all agree.
    stacks = [[[10, 10], [50, 50]], [[12, 10], [50, 50]], [[14, 10], [50, 50]]]
    unc = keypoint_uncertainty(make_prediction(stacks, [0.9, 0.9]))
    assert unc.stack_px == pytest.approx([math.sqrt(8 / 3), 0.0])
    # box 100 × 100 → limit = 5 % of 100 = 5 px; score = spread / 5
    assert unc.stack_limit_px == pytest.approx(5.0)
    assert unc.score[0] == pytest.approx(math.sqrt(8 / 3) / 5.0)
    assert unc.reason[0] == STACK
    # keypoint 1: only the peak term: (1 - 0.9) / (1 - 0.3)
    assert unc.score[1] == pytest.approx(0.1 / 0.7, rel=1e-5)
    assert unc.reason[1] == PEAK
    assert not unc.uncertain.any()
    # a peak of 0.9 is under the threshold: no reason is named ("low peak" for 0.86 misled users)
    assert unc.describe(1, ["a", "b"]).startswith("b: certain (uncertainty 0.14, 1 = threshold; peak 0.90")


def test_each_signal_can_flag_a_keypoint():
    stacks = np.zeros((2, 3, 2))
    stacks[0, 1] = (0.0, 0.0)
    stacks[1, 1] = (12.0, 0.0)  # spread 6 px > 5 px limit
    unc = keypoint_uncertainty(make_prediction(stacks, [0.2, 0.95, 0.95], flip=[0.0, 0.0, 7.5]))
    assert unc.uncertain.tolist() == [True, True, True]
    assert unc.reason.tolist() == [PEAK, STACK, FLIP]
    assert unc.score[2] == pytest.approx(1.5)
    assert "flip disagrees" in unc.describe(2, ["a", "b", "c"])


def test_thresholds_scale_with_box_but_not_below_min_px():
    stacks = np.zeros((2, 1, 2))
    stacks[1, 0] = (6.0, 0.0)  # spread 3 px
    big = keypoint_uncertainty(make_prediction(stacks, [1.0], box=(0, 0, 400, 100)))  # sqrt = 200 → 10 px
    tiny = keypoint_uncertainty(make_prediction(stacks, [1.0], box=(0, 0, 10, 10)))  # 0.5 px → min 2 px
    assert big.stack_limit_px == pytest.approx(10.0)
    assert big.score[0] == pytest.approx(0.3)
    assert tiny.stack_limit_px == pytest.approx(2.0)
    assert tiny.uncertain[0]


def test_image_worst_keypoint_skips_human_keypoints():
    calm = make_prediction(np.zeros((2, 2, 2)), [0.9, 0.9])
    shaky_xy = np.zeros((2, 2, 2))
    shaky_xy[1, 1] = (20.0, 0.0)  # keypoint 1 of instance 1: spread 10 px → score 2
    shaky = make_prediction(shaky_xy, [0.9, 0.9])
    result = image_uncertainty([calm, shaky])
    assert (result.instance_index, result.keypoint) == (1, 1)
    assert result.worst_score == pytest.approx(2.0)
    assert result.uncertain_count == 1
    fixed = image_uncertainty([calm, shaky], human=[None, np.array([False, True])])
    assert fixed.worst_score == pytest.approx(0.1 / 0.7, rel=1e-5)
    assert fixed.uncertain_count == 0
    assert image_uncertainty([calm], human=[np.array([True, True])]) is None
    assert ImageUncertainty.from_dict(result.to_dict()) == result


def test_uncertainty_order_of_images_from_constructed_outputs():
    def spread_image(px):
        xy = np.zeros((4, 1, 2))
        xy[::2, 0, 0] = px  # half the stacks at +px: RMS spread px / 2
        return [make_prediction(xy, [0.95])]

    images = {
        1: spread_image(2.0),  # spread 1 → 0.2
        2: spread_image(30.0),  # spread 15 → 3.0
        3: [make_prediction(np.zeros((4, 1, 2)), [0.1])],  # peak → 0.9 / 0.7
        4: spread_image(12.0),  # spread 6 → 1.2
        5: [],  # not predicted
    }
    scores = {}
    for image_id, preds in images.items():
        res = image_uncertainty(preds)
        scores[image_id] = None if res is None else res.worst_score
    assert uncertainty_order(scores) == [2, 3, 4, 1, 5]
    assert filter_uncertain(scores) == [2, 3, 4]
    assert next_most_uncertain(scores, None) == 2
    assert next_most_uncertain(scores, 2) == 3
    assert next_most_uncertain(scores, 3, skip=[4]) == 1
    assert next_most_uncertain(scores, 1) is None
    assert next_most_uncertain(scores, 5) == 2


def test_bad_thresholds_and_masks_are_rejected():
    with pytest.raises(ValueError, match="min_peak"):
        UncertaintyThresholds(min_peak=1.0)
    with pytest.raises(ValueError, match="human masks"):
        image_uncertainty([make_prediction(np.zeros((1, 1, 2)), [1.0])], human=[])
