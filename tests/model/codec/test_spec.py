"""HeatmapSpec: one object encodes targets and decodes heatmaps with the same sigma, stride and decoder."""

from __future__ import annotations

import numpy as np
import pytest

from model.codec.spec import HeatmapSpec, HeatmapSpecError

POINTS = np.array([[51.3, 60.7], [80.2, 42.9], [37.6, 90.1]])  # network-input px of a 128 × 128 input


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_encode_then_decode_returns_the_points_in_input_pixels(sigma):
    spec = HeatmapSpec((128, 128), 4, sigma=sigma)
    targets, weights = spec.encode(POINTS, np.array([2, 2, 2]))
    assert targets.shape == (3, 32, 32) and weights.tolist() == [1.0, 1.0, 1.0]
    coords, peaks = spec.decode(targets)
    back = coords * spec.stride + (spec.stride - 1) / 2  # heatmap → input px (CONTEXT's convention)
    np.testing.assert_allclose(back, POINTS, atol=0.1 * spec.stride)
    assert np.all(peaks > 0.5)


def test_the_spec_decoder_is_the_one_used_unless_overridden():
    """An argmax spec decodes to the quarter-pixel grid; DARK (the default) recovers the sub-pixel point."""
    argmax = HeatmapSpec((128, 128), 4, decoder="argmax")
    targets, _ = argmax.encode(POINTS, np.array([2, 2, 2]))
    truth = (POINTS - 1.5) / 4
    coarse, _ = argmax.decode(targets)
    fine, _ = argmax.decode(targets, "dark")
    np.testing.assert_allclose(coarse * 4 % 1, np.round(coarse * 4 % 1))  # on the quarter grid
    assert np.abs(fine - truth).max() < 1e-3 < np.abs(coarse - truth).max()


def test_dict_round_trip_and_refusals():
    spec = HeatmapSpec((128, 96), 4, sigma=1.5, padding=1.4, decoder="argmax")
    assert HeatmapSpec.from_dict(spec.to_dict()) == spec
    assert spec.heatmap_size == (32, 24)
    for bad in ({"input_size": [64]}, {"input_size": [64, 64], "sigma": "1"},
                {"input_size": [64, 64], "decoder": "soft"}, {"input_size": [64, 64], "stride": 5},
                {"input_size": [64, 64], "sigma": float("nan")}, {"input_size": [64, 64], "padding": 0.5},
                []):
        with pytest.raises(HeatmapSpecError):
            HeatmapSpec.from_dict(bad)
