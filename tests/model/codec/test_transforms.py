"""Crop affines, their inverse and composition, the stride map, and warp_image against apply_affine."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.codec.transforms import (
    apply_affine,
    compose_affine,
    crop_affine,
    image_to_heatmap_affine,
    input_to_heatmap_affine,
    invert_affine,
    warp_image,
)

coord = st.floats(-500, 1500, allow_nan=False)
side = st.floats(1.0, 800.0, allow_nan=False)
out_side = st.integers(8, 512)
angle = st.floats(-180, 180, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(x=coord, y=coord, w=side, h=side, ow=out_side, oh=out_side, pad=st.floats(0.5, 2.0), rot=angle,
       px=coord, py=coord)
def test_crop_then_inverse_returns_the_image_point(x, y, w, h, ow, oh, pad, rot, px, py):
    m = crop_affine([x, y, w, h], (ow, oh), padding=pad, rotation_deg=rot)
    back = apply_affine(invert_affine(m), apply_affine(m, np.array([px, py])))
    assert np.abs(back - [px, py]).max() < 1e-3


@settings(max_examples=100, deadline=None)
@given(x=coord, y=coord, w=side, h=side, ow=out_side, oh=out_side, pad=st.floats(0.5, 2.0), rot=angle)
def test_box_centre_goes_to_crop_centre_and_padded_box_fills_the_crop(x, y, w, h, ow, oh, pad, rot):
    m = crop_affine([x, y, w, h], (ow, oh), padding=pad, rotation_deg=rot)
    centre = apply_affine(m, np.array([x + w / 2, y + h / 2]))
    assert np.allclose(centre, [(ow - 1) / 2, (oh - 1) / 2], atol=1e-6)
    scale = math.hypot(m[0, 0], m[0, 1])
    assert np.isclose(math.hypot(m[1, 0], m[1, 1]), scale)  # isotropic: aspect kept
    # The whole (padded) box is inside the crop, and one of its sides spans the crop exactly.
    assert w * pad * scale <= ow * (1 + 1e-9) and h * pad * scale <= oh * (1 + 1e-9)
    assert np.isclose(w * pad * scale, ow) or np.isclose(h * pad * scale, oh)


def test_box_edges_map_to_crop_pixel_edges_without_padding():
    m = crop_affine([10, 20, 40, 20], (64, 32), padding=1.0)
    corners = apply_affine(m, np.array([[10, 20], [50, 40]]))
    assert np.allclose(corners, [[-0.5, -0.5], [63.5, 31.5]])


def test_aspect_is_grown_on_the_short_side_around_the_centre():
    # Tall box into a square crop: width grows to 80, centre (50, 60) kept, padding 1.25 -> 100 px.
    m = crop_affine([30, 20, 40, 80], (100, 100), padding=1.25)
    assert np.allclose(m[:, :2], np.eye(2))
    assert np.allclose(apply_affine(m, np.array([0.0, 10.0])), [-0.5, -0.5])


def test_positive_rotation_is_counter_clockwise_on_screen():
    m = crop_affine([0, 0, 100, 100], (101, 101), padding=1.0, rotation_deg=90)
    centre = np.array([50.0, 50.0])
    right_of_centre = apply_affine(m, centre + [10, 0]) - apply_affine(m, centre)
    assert right_of_centre[1] < 0 and abs(right_of_centre[0]) < 1e-9  # moved up (y points down)


@pytest.mark.parametrize("box", [[0, 0, 0, 10], [0, 0, 10, -1], [0, 0, np.nan, 5], [1, 2, 3]])
def test_degenerate_boxes_are_rejected(box):
    with pytest.raises(ValueError, match="box_xywh"):
        crop_affine(box, (64, 64))


def test_bad_sizes_and_singular_affines_are_rejected():
    with pytest.raises(ValueError, match="out_size"):
        crop_affine([0, 0, 10, 10], (0, 64))
    with pytest.raises(ValueError, match="singular"):
        invert_affine(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="stride"):
        input_to_heatmap_affine(0)


@pytest.mark.parametrize("stride", [1, 2, 4, 8])
def test_stride_map_matches_pixel_convention(stride):
    m = input_to_heatmap_affine(stride)
    u = np.array([[0.0, 0.0], [3.0, 7.0]])
    x_in = stride * u + (stride - 1) / 2
    assert np.allclose(apply_affine(m, x_in), u)
    # Heatmap pixel u covers input pixels s*u .. s*u+s-1: its extent edges map to u -/+ 0.5.
    assert np.allclose(apply_affine(m, np.array([-0.5, stride - 0.5])), [-0.5, 0.5])


def test_image_to_heatmap_equals_crop_at_heatmap_size():
    box, rot = [12.5, 40.0, 90.0, 60.0], 17.0
    via_input = image_to_heatmap_affine(box, (256, 192), stride=4, rotation_deg=rot)
    direct = crop_affine(box, (64, 48), rotation_deg=rot)
    assert np.allclose(via_input, direct)
    inner, outer = crop_affine(box, (256, 192), rotation_deg=rot), input_to_heatmap_affine(4)
    pts = np.array([[3.0, 4.0], [100.0, -7.0]])
    assert np.allclose(apply_affine(via_input, pts), apply_affine(outer, apply_affine(inner, pts)))
    assert np.allclose(compose_affine(invert_affine(inner), inner), [[1, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize("rot", [0.0, 30.0, -75.0, 180.0])
def test_warped_bright_pixel_lands_where_apply_affine_says(rot):
    img = np.zeros((60, 80, 3), dtype=np.uint8)
    src = np.array([37.0, 22.0])
    img[22, 37] = 255
    m = crop_affine([25, 15, 30, 20], (96, 96), padding=1.25, rotation_deg=rot)  # ~2.6x zoom
    out = warp_image(img, m, (96, 96))
    assert out.shape == (96, 96, 3) and out.dtype == np.uint8
    expect = apply_affine(m, src)
    plane = out[:, :, 0].astype(np.float64)
    yy, xx = np.mgrid[: plane.shape[0], : plane.shape[1]]
    centroid = np.array([(plane * xx).sum(), (plane * yy).sum()]) / plane.sum()
    assert np.abs(centroid - expect).max() < 0.05
    peak = np.unravel_index(np.argmax(plane), plane.shape)
    assert np.abs(np.array(peak[::-1]) - expect).max() <= 0.5 + 1e-6


def test_warp_identity_keeps_image_and_handles_gray_and_many_channels():
    rng = np.random.default_rng(1)
    img = rng.random((10, 12, 6)).astype(np.float32)
    eye = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    assert np.allclose(warp_image(img, eye, (12, 10)), img, atol=1e-5)
    gray = img[:, :, 0]
    assert warp_image(gray, eye, (12, 10)).shape == (10, 12)
    one = img[:, :, :1]
    assert warp_image(one, eye, (12, 10)).shape == (10, 12, 1)
    shifted = warp_image(gray, np.array([[1.0, 0, 2], [0, 1.0, 0]]), (12, 10))
    assert np.allclose(shifted[:, 2:], gray[:, :-2], atol=1e-5) and np.all(shifted[:, :2] == 0)
