"""Gaussian targets, argmax / DARK decoding and local maxima."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.codec.heatmap import (
    _blurred_patches,
    decode_heatmaps,
    encode_heatmaps,
    gaussian_blur,
    local_maxima,
)

SIZE = 64
sigmas = st.sampled_from([1.0, 1.5, 2.0, 3.0]) | st.floats(1.0, 3.0)


@st.composite
def interior_points(draw, k_max=4):
    """(sigma, (K, 2) points at least 3 sigma + 1 px from the border of a 64x64 map)."""
    sigma = draw(sigmas)
    lo, hi = 3 * sigma + 1, SIZE - 1 - (3 * sigma + 1)
    k = draw(st.integers(1, k_max))
    coords = draw(st.lists(st.floats(lo, hi, allow_nan=False), min_size=2 * k, max_size=2 * k))
    return sigma, np.array(coords).reshape(k, 2)


@settings(max_examples=150, deadline=None)
@given(interior_points())
def test_dark_recovers_subpixel_points_within_a_tenth_pixel(case):
    sigma, pts = case
    maps, weights = encode_heatmaps(pts, np.full(len(pts), 2), (SIZE, SIZE), sigma=sigma)
    assert np.all(weights == 1) and maps.dtype == np.float32
    coords, maxvals = decode_heatmaps(maps, method="dark", sigma=sigma)
    assert np.abs(coords - pts).max() < 0.1
    assert np.all(maxvals > np.exp(-0.5 / sigma**2) - 1e-6) and np.all(maxvals <= 1)


@settings(max_examples=50, deadline=None)
@given(interior_points())
def test_dark_is_robust_to_a_blur_sigma_other_than_the_training_one(case):
    sigma, pts = case
    maps, _ = encode_heatmaps(pts, np.ones(len(pts)), (SIZE, SIZE), sigma=sigma)
    coords, _ = decode_heatmaps(maps, method="dark")  # default blur sigma 1
    assert np.abs(coords - pts).max() < 0.1


@settings(max_examples=150, deadline=None)
@given(interior_points())
def test_argmax_decoding_is_within_a_quarter_pixel_per_axis(case):
    sigma, pts = case
    maps, _ = encode_heatmaps(pts, np.ones(len(pts)), (SIZE, SIZE), sigma=sigma)
    coords, _ = decode_heatmaps(maps, method="argmax")
    assert np.abs(coords - pts).max() <= 0.25 + 1e-6
    assert np.all(np.isin(np.round(4 * (coords % 1)), [0, 1, 3]))  # integer or +-0.25


def test_argmax_quarter_shift_goes_towards_the_larger_neighbour():
    hm = np.zeros((1, 5, 5), dtype=np.float32)
    hm[0, 2, 2], hm[0, 2, 3], hm[0, 1, 2] = 1.0, 0.5, 0.2
    coords, maxvals = decode_heatmaps(hm, method="argmax")
    assert np.allclose(coords, [[2.25, 1.75]]) and maxvals[0] == 1.0
    hm_edge = np.zeros((1, 5, 5))  # peak on the right border: no x shift (no outer neighbour)
    hm_edge[0, 2, 4], hm_edge[0, 2, 3], hm_edge[0, 3, 4] = 0.8, 0.3, 0.1
    assert np.allclose(decode_heatmaps(hm_edge, method="argmax")[0], [[4.0, 2.25]])


def test_decode_is_vectorised_over_leading_dims_and_keeps_raw_peaks():
    rng = np.random.default_rng(3)
    pts = rng.uniform(8, 55, size=(2, 3, 5, 2))
    maps = np.stack([
        np.stack([encode_heatmaps(p, np.ones(5), (SIZE, SIZE))[0] * 0.3 for p in row]) for row in pts
    ])
    assert maps.shape == (2, 3, 5, SIZE, SIZE)
    for method in ("dark", "argmax"):
        coords, maxvals = decode_heatmaps(maps, method=method)
        assert coords.shape == (2, 3, 5, 2) and coords.dtype == np.float64
        assert maxvals.shape == (2, 3, 5) and maxvals.dtype == np.float32
        assert np.all(maxvals <= 0.3 + 1e-6) and np.all(maxvals > 0.3 * 0.6)
        flat, _ = decode_heatmaps(maps.reshape(-1, 1, SIZE, SIZE), method=method)
        assert np.allclose(flat.reshape(coords.shape), coords)
    assert np.abs(decode_heatmaps(maps)[0] - pts).max() < 0.1


@pytest.mark.parametrize("value", [0.0, 0.7, -2.0])
@pytest.mark.parametrize("method", ["dark", "argmax"])
def test_constant_maps_decode_without_nan(method, value):
    maps = np.full((2, 3, 16, 16), value, dtype=np.float32)
    coords, maxvals = decode_heatmaps(maps, method=method)
    assert np.all(np.isfinite(coords)) and np.all(maxvals == np.float32(value))
    assert np.all((coords >= 0) & (coords <= 15))


def _newton_terms(hm, x, y, sigma=1.0):
    """Gradient x, Hessian xx and the plain Newton step in x of the blurred log map at (x, y)."""
    L = np.log(np.maximum(gaussian_blur(hm[None].astype(np.float64), sigma)[0], 1e-10))
    gx, hxx = 0.5 * (L[y, x + 1] - L[y, x - 1]), L[y, x + 1] - 2 * L[y, x] + L[y, x - 1]
    return gx, hxx


def test_dark_falls_back_to_argmax_where_hessian_is_not_negative_definite():
    hm = np.zeros((11, 11))
    hm[5, 5], hm[:, 3], hm[:, 7] = 1.0, 0.99, 0.9  # spike between two ridges: convex along x
    gx, hxx = _newton_terms(hm, 5, 5)
    assert hxx > 0 and gx != 0  # a Newton step would move away from the peak
    dark, _ = decode_heatmaps(hm[None], method="dark")
    assert np.allclose(dark, decode_heatmaps(hm[None], method="argmax")[0])
    assert np.allclose(dark, [[5, 5]])


def test_dark_falls_back_to_argmax_when_the_step_exceeds_one_pixel():
    broad, _ = encode_heatmaps(np.array([[7.0, 8.0]]), np.ones(1), (17, 17), sigma=3.0)
    hm = broad[0] * 0.9
    hm[8, 4] = 1.0  # the raw argmax is a spike on the flank of a broad bump
    gx, hxx = _newton_terms(hm, 4, 8)
    assert hxx < 0 and abs(gx / hxx) > 1.0
    dark, _ = decode_heatmaps(hm[None], method="dark")
    assert np.allclose(dark, decode_heatmaps(hm[None], method="argmax")[0])
    assert np.allclose(dark, [[4.25, 8.0]])


def test_bad_decode_input_is_rejected():
    with pytest.raises(ValueError, match="method"):
        decode_heatmaps(np.zeros((1, 4, 4)), method="soft")
    with pytest.raises(ValueError, match="sigma"):
        decode_heatmaps(np.zeros((1, 4, 4)), sigma=0.0)
    with pytest.raises(ValueError, match="NaN"):
        decode_heatmaps(np.full((1, 4, 4), np.nan))
    with pytest.raises(ValueError, match="shape"):
        decode_heatmaps(np.zeros((4, 4)))
    coords, vals = decode_heatmaps(np.zeros((2, 0, 8, 8)))
    assert coords.shape == (2, 0, 2) and vals.shape == (2, 0)


def test_visibility_and_out_of_map_points_get_zero_weight_and_empty_maps():
    pts = np.array([[10.3, 20.7], [30.0, 30.0], [-4.0, 10.0], [40.0, 70.0], [np.nan, 5.0], [-2.0, 5.0]])
    vis = np.array([2, 0, 1, 2, 2, 1])
    maps, weights = encode_heatmaps(pts, vis, (64, 48), sigma=1.0)
    assert maps.shape == (6, 48, 64) and weights.dtype == np.float32
    assert weights.tolist() == [1, 0, 0, 0, 0, 1]  # -4 is beyond 3 sigma, -2 is not
    assert np.all(maps[[1, 2, 3, 4]] == 0)
    assert maps[0].max() > 0.8 and maps[5].max() > 0.1
    assert np.isclose(maps[0, 21, 10], np.exp(-(0.3**2 + 0.3**2) / 2), atol=1e-6)


def test_encode_rejects_bad_shapes():
    with pytest.raises(ValueError, match="points"):
        encode_heatmaps(np.zeros((3,)), np.ones(3), (8, 8))
    with pytest.raises(ValueError, match="vis"):
        encode_heatmaps(np.zeros((3, 2)), np.ones(2), (8, 8))
    with pytest.raises(ValueError, match="sigma"):
        encode_heatmaps(np.zeros((3, 2)), np.ones(3), (8, 8), sigma=0)


def test_blur_keeps_mass_away_from_borders_and_shape():
    hm = np.zeros((1, 32, 32))
    hm[0, 16, 16] = 1.0
    out = gaussian_blur(hm, 1.5)
    assert out.shape == hm.shape and np.isclose(out.sum(), 1.0)
    assert np.unravel_index(np.argmax(out[0]), (32, 32)) == (16, 16)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.5])
def test_local_blur_window_matches_the_full_blur_next_to_borders(sigma):
    rng = np.random.default_rng(7)
    maps = rng.random((6, 12, 20))
    xs, ys = np.array([1, 18, 5, 1, 10, 18]), np.array([1, 10, 6, 10, 1, 5])  # DARK uses interior only
    full = np.pad(gaussian_blur(maps, sigma), ((0, 0), (1, 1), (1, 1)))
    expect = np.stack([full[i, y : y + 3, x : x + 3] for i, (x, y) in enumerate(zip(xs, ys, strict=True))])
    assert np.allclose(_blurred_patches(maps, xs, ys, sigma), expect)


def test_local_maxima_are_strict_sorted_and_subpixel():
    pts = np.array([[10.3, 12.6], [40.2, 30.8], [20.0, 50.0]])
    maps, _ = encode_heatmaps(pts, np.ones(3), (64, 64), sigma=1.5)
    hm = maps[0] * 0.9 + maps[1] * 0.5 + maps[2] * 0.04
    coords, values = local_maxima(hm, max_count=10, min_value=0.05)
    assert len(coords) == 2 and values.dtype == np.float32
    assert np.all(np.diff(values) <= 0)
    assert np.abs(coords - pts[:2]).max() < 0.05
    assert len(local_maxima(hm, max_count=1)[0]) == 1
    assert len(local_maxima(hm, min_value=0.01)[0]) == 3
    plateau = np.zeros((8, 8))
    plateau[3:5, 3:5] = 1.0
    assert len(local_maxima(plateau)[0]) == 0
    assert len(local_maxima(np.zeros((8, 8)), min_value=0.0)[0]) == 0
