"""Horizontal flips: involution, heatmap/keypoint consistency, agreement with image flips and the stride."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.annotations.presets import load_preset
from model.codec.flip import flip_affine, flip_heatmaps, flip_image, flip_keypoints
from model.codec.heatmap import decode_heatmaps, encode_heatmaps
from model.codec.transforms import apply_affine, input_to_heatmap_affine, warp_image

MPII = load_preset("mpii16")
FLIP = MPII.flip_index()
K = MPII.num_keypoints


def test_flip_image_mirrors_columns_and_is_an_involution():
    img = np.arange(2 * 5 * 3, dtype=np.uint8).reshape(2, 5, 3)
    out = flip_image(img)
    assert out.flags.c_contiguous and out.dtype == np.uint8
    assert np.array_equal(out[:, 0], img[:, 4]) and np.array_equal(flip_image(out), img)


def test_flip_image_agrees_with_flip_affine_and_keypoints():
    img = np.zeros((7, 9, 3), dtype=np.uint8)
    img[2, 1] = 200  # pixel at (x=1, y=2)
    warped = warp_image(img, flip_affine(9), (9, 7))
    assert np.array_equal(warped, flip_image(img))
    ident = np.arange(1)
    assert np.allclose(flip_keypoints(np.array([[1.0, 2.0]]), 9, ident), [[7.0, 2.0]])
    assert np.allclose(apply_affine(flip_affine(9), np.array([1.0, 2.0])), [7.0, 2.0])
    assert flip_image(img)[2, 7, 0] == 200


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-50, 300, allow_nan=False), min_size=2 * K, max_size=2 * K),
       st.integers(1, 400))
def test_flip_keypoints_twice_is_identity(coords, width):
    xy = np.array(coords).reshape(K, 2)
    once = flip_keypoints(xy, width, FLIP)
    assert np.allclose(flip_keypoints(once, width, FLIP), xy)
    assert np.allclose(once[FLIP][:, 0], width - 1 - xy[:, 0])  # left/right swapped


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(5, 58, allow_nan=False), min_size=2 * K, max_size=2 * K),
       st.sampled_from([1.0, 2.0]))
def test_decoding_flipped_heatmaps_equals_flipping_decoded_keypoints(coords, sigma):
    xy = np.array(coords).reshape(K, 2)
    maps, _ = encode_heatmaps(xy, np.full(K, 2), (64, 64), sigma=sigma)
    flipped_maps = flip_heatmaps(maps, FLIP)
    assert np.array_equal(flip_heatmaps(flipped_maps, FLIP), maps)
    decoded, _ = decode_heatmaps(flipped_maps, method="dark", sigma=sigma)
    assert np.abs(decoded - flip_keypoints(xy, 64, FLIP)).max() < 0.1


def test_heatmap_flip_is_consistent_with_image_flip_through_the_stride():
    stride, w_hm = 4, 16
    x_img = np.array([[13.0, 22.0]])  # input-pixel coordinates of a 64-wide input
    to_hm = input_to_heatmap_affine(stride)
    via_image = apply_affine(to_hm, flip_keypoints(x_img, w_hm * stride, np.arange(1)))
    via_heatmap = flip_keypoints(apply_affine(to_hm, x_img), w_hm, np.arange(1))
    assert np.allclose(via_image, via_heatmap)


def test_flip_heatmaps_handles_leading_dims_and_permutes_channels():
    rng = np.random.default_rng(0)
    maps = rng.random((2, 3, K, 4, 6)).astype(np.float32)
    out = flip_heatmaps(maps, FLIP)
    assert out.shape == maps.shape and out.dtype == np.float32
    left, right = MPII.flip_pairs[0]
    assert np.array_equal(out[1, 2, left], maps[1, 2, right, :, ::-1])


@pytest.mark.parametrize("bad", [np.arange(K - 1), np.zeros(K, dtype=int), np.arange(K) * 1.0])
def test_bad_flip_index_is_rejected(bad):
    with pytest.raises(ValueError, match="flip_index"):
        flip_keypoints(np.zeros((K, 2)), 10, bad)
