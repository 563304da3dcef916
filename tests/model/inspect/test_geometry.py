"""Overlay geometry: a hot heatmap cell in a rotated, scaled crop lights the right image pixels."""

from __future__ import annotations

import numpy as np
import pytest

from model.codec.transforms import apply_affine, image_to_heatmap_affine, invert_affine
from model.inspect.geometry import (
    crop_corners,
    image_to_cell,
    overlay_transform,
    peak_path,
    rasterise_heatmap,
)
from model.inspect.render import colormap_lut, render_grid, shared_levels

IMAGE_SIZE = (200, 160)  # W, H


def rotated_crop(rotation_deg: float) -> np.ndarray:
    """heatmap → image for a 64×64 input, stride 4 (16×16 heatmap), box 80×60, rotated crop."""
    to_heatmap = image_to_heatmap_affine((60, 50, 80, 60), (64, 64), 4, rotation_deg=rotation_deg)
    return invert_affine(to_heatmap)


@pytest.mark.parametrize("rotation", [0.0, 30.0, -75.0])
def test_hot_cell_lights_the_image_pixels_around_its_mapped_centre(rotation):
    h2i = rotated_crop(rotation)
    scale = float(np.sqrt(abs(np.linalg.det(h2i[:, :2]))))  # image px per heatmap cell (6.25 here)
    hot = (11, 4)  # u, v
    heatmap = np.zeros((16, 16), np.float32)
    heatmap[hot[1], hot[0]] = 1.0
    raster = rasterise_heatmap(heatmap, h2i, IMAGE_SIZE)
    assert raster.shape == (IMAGE_SIZE[1], IMAGE_SIZE[0])
    ys, xs = np.nonzero(raster > 0.5)
    expected = apply_affine(h2i, np.array(hot, float))
    # The lit pixels form the cell's square (rotated): centred on the mapped cell centre, area scale².
    assert np.mean(xs) == pytest.approx(expected[0], abs=0.6)
    assert np.mean(ys) == pytest.approx(expected[1], abs=0.6)
    assert len(xs) == pytest.approx(scale**2, rel=0.25)
    assert np.max(np.hypot(xs - expected[0], ys - expected[1])) <= scale / np.sqrt(2) + 1.0
    # Outside the crop region the raster is NaN, inside it is the (zero) heatmap.
    assert np.isnan(raster[0, 0]) and np.isnan(raster[-1, -1])
    centre = np.round(apply_affine(h2i, np.array([7.5, 7.5]))).astype(int)
    assert raster[centre[1], centre[0]] == 0.0


@pytest.mark.parametrize("scene_offset", [0.0, 0.5])
def test_overlay_transform_maps_item_cell_centres_onto_heatmap_to_image(scene_offset):
    h2i = rotated_crop(40.0)
    m = overlay_transform(h2i, scene_offset)
    uv = np.array([[0, 0], [15, 3], [7, 12]], float)
    item = np.c_[uv + 0.5, np.ones(3)]  # an ImageItem draws cell (row v, col u) over [u, u+1) × [v, v+1)
    scene = (m @ item.T).T[:, :2]
    assert scene == pytest.approx(apply_affine(h2i, uv) + scene_offset)
    # the item's outer corner (0, 0) is the crop's corner
    assert (m @ [0, 0, 1])[:2] == pytest.approx(crop_corners(h2i, (16, 16))[0] + scene_offset)


def test_image_to_cell_inverts_and_peak_path_picks_a_keypoint():
    h2i = rotated_crop(-20.0)
    uv = np.array([[3.25, 9.5]])
    assert image_to_cell(h2i, apply_affine(h2i, uv)) == pytest.approx(uv)
    stacks = np.arange(3 * 2 * 2, dtype=float).reshape(3, 2, 2)
    assert peak_path(stacks, 1).tolist() == [[2, 3], [6, 7], [10, 11]]
    with pytest.raises(IndexError):
        peak_path(stacks, 2)


def test_grid_picture_has_one_cell_per_stack_and_keypoint_on_a_shared_scale():
    hm = np.zeros((2, 3, 16, 16), np.float32)
    hm[1, 2, 8, 8] = 0.8  # the only hot cell: stack 2, keypoint 3
    image = np.full((160, 200, 3), 90, np.uint8)
    pic = render_grid(hm, ["a", "b", "c"], image=image, heatmap_to_image=rotated_crop(0.0), cell=64)
    assert pic.dtype == np.uint8 and pic.ndim == 3
    left, top, gap, cell = 72, 26, 4, 64
    lut = colormap_lut("inferno")
    for s in range(2):
        for k in range(3):
            y0, x0 = top + s * (cell + gap), left + k * (cell + gap)
            patch = pic[y0:y0 + cell, x0:x0 + cell].astype(int)
            zero_colour = np.round(lut[0] * 0.75 + 90 * 0.25)
            changed = np.abs(patch - zero_colour).max(axis=-1) > 2
            if (s, k) == (1, 2):  # hot near the cell centre (8, 8) of 16 → pixel ~ 8.5 * 4
                ys, xs = np.nonzero(changed)
                assert abs(ys.mean() - 33.5) < 2 and abs(xs.mean() - 33.5) < 2
            else:
                assert not changed.any(), (s, k)
    assert shared_levels(hm) == (0.0, pytest.approx(0.8))
    with pytest.raises(ValueError, match="keypoint names"):
        render_grid(hm, ["a"])
