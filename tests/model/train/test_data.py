"""Training data: augmented crops keep keypoints where the targets say, flips swap sides, v=0 is masked,
the val split is by image and seeded, sources (COCO, project) yield the confirmed instances."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.annotations.skeleton import Skeleton
from model.annotations.types import Instance, Keypoints, ReviewStatus
from model.codec.heatmap import decode_heatmaps
from model.codec.spec import HeatmapSpec
from model.codec.transforms import apply_affine, compose_affine, input_to_heatmap_affine, invert_affine
from model.train.augment import (
    AugmentConfig,
    CropParams,
    make_sample,
    sample_affine,
    sample_params,
    sample_rng,
)
from model.train.config import lr_at
from model.train.data import (
    TrainDataError,
    box_or_extent,
    filter_images,
    items_from_coco,
    items_from_project,
    split_items,
)
from tests.helpers import subset_coco

SKELETON = Skeleton("mouse", ("snout", "leftear", "rightear", "tailbase"), flip_pairs=((1, 2),))


def _image(h: int = 120, w: int = 160) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


XY = np.array([[50.0, 40.0], [60.0, 35.5], [62.5, 48.0], [95.0, 70.0]])
SPEC = HeatmapSpec((64, 64), 4)
BOX = np.array([40.0, 25.0, 65.0, 55.0])


@pytest.mark.parametrize("params", [
    CropParams(),
    CropParams(scale=1.15, rotation_deg=37.0, shift=(0.05, -0.03)),
    CropParams(flip=True, rotation_deg=-120.0),
    CropParams(whole_image=True, scale=1.1, flip=True),
])
def test_targets_decode_back_to_the_keypoints(params: CropParams) -> None:
    vis = np.array([2, 2, 1, 2])
    crop, targets, weights = make_sample(_image(), XY, vis, BOX, SPEC, SKELETON.flip_index(), params)
    assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
    assert targets.shape == (4, 16, 16) and weights.tolist() == [1, 1, 1, 1]
    m = sample_affine(BOX, (160, 120), (64, 64), params)
    hm_to_image = invert_affine(compose_affine(input_to_heatmap_affine(4), m))
    decoded, _ = decode_heatmaps(targets)
    back = apply_affine(hm_to_image, decoded)
    expected = XY[SKELETON.flip_index()] if params.flip else XY
    np.testing.assert_allclose(back, expected, atol=0.05 / np.abs(hm_to_image[0, 0]) + 0.02)


def test_flip_mirrors_the_crop_and_swaps_left_and_right() -> None:
    image, vis = _image(), np.full(4, 2)
    plain = make_sample(image, XY, vis, BOX, SPEC, SKELETON.flip_index(), CropParams())
    flipped = make_sample(image, XY, vis, BOX, SPEC, SKELETON.flip_index(), CropParams(flip=True))
    np.testing.assert_array_equal(flipped[0], plain[0][:, ::-1])
    np.testing.assert_allclose(flipped[1][1], plain[1][2][:, ::-1], atol=1e-6)  # leftear ← mirrored rightear
    np.testing.assert_allclose(flipped[1][0], plain[1][0][:, ::-1], atol=1e-6)


def test_unlabelled_keypoint_gets_zero_weight_and_empty_map() -> None:
    vis = np.array([2, 0, 2, 2])
    _, targets, weights = make_sample(_image(), XY, vis, BOX, SPEC, SKELETON.flip_index(),
                                      CropParams(flip=True))
    assert weights.tolist() == [1, 1, 0, 1]  # flipped: leftear's slot now holds the unlabelled one
    assert targets[2].max() == 0 and targets[1].max() > 0.5


def test_sampling_is_a_function_of_seed_epoch_index() -> None:
    cfg = AugmentConfig()
    a = sample_params(sample_rng(3, 1, 7), cfg)
    assert a == sample_params(sample_rng(3, 1, 7), cfg)
    draws = {sample_params(sample_rng(3, e, i), cfg) for e in range(3) for i in range(10)}
    assert len(draws) == 30
    assert sample_params(sample_rng(3, 1, 7), AugmentConfig(enabled=False)) == CropParams()
    flips = [sample_params(sample_rng(0, 0, i), AugmentConfig(flip=False)).flip for i in range(50)]
    assert not any(flips)


def test_box_or_extent_falls_back_to_padded_keypoints() -> None:
    np.testing.assert_allclose(box_or_extent((1, 2, 30, 40), XY, np.full(4, 2)), [1, 2, 30, 40])
    ext = box_or_extent((0, 0, 0, 0), XY, np.array([2, 2, 0, 0]))
    np.testing.assert_allclose(ext, [40.0, 25.5, 30.0, 24.5])  # 10 px pad around x 50–60, y 35.5–40
    assert box_or_extent(None, XY, np.zeros(4)) is None


def test_coco_items_and_image_filter(openfield: Path, tmp_path: Path) -> None:
    path = subset_coco(openfield, tmp_path, 6, start=6)  # img0042 … img0077
    skeleton, items = items_from_coco(path, openfield / "images")
    assert skeleton.flip_pairs == ((1, 2),) and len(items) == 6
    assert items[0].image_path == openfield / "images" / "img0042.png"
    assert items[0].image_size == (640, 480)
    train_only = filter_images(items, r"^img00[0-5]\d\.png$")
    assert [it.image_key for it in train_only] == ["img0042.png", "img0049.png", "img0056.png"]
    with pytest.raises(TrainDataError, match="regular expression"):
        filter_images(items, "img(")


def test_split_is_by_image_seeded_and_keeps_training_data(openfield: Path, tmp_path: Path) -> None:
    _, items = items_from_coco(subset_coco(openfield, tmp_path, 10), openfield / "images")
    items = items + items[:3]  # a second instance on three images
    train, val = split_items(items, 0.2, seed=1)
    assert {it.image_key for it in train}.isdisjoint({it.image_key for it in val})
    assert len({it.image_key for it in val}) == 2 and len(train) + len(val) == 13
    again = split_items(items, 0.2, seed=1)
    assert [it.image_key for it in again[1]] == [it.image_key for it in val]
    assert split_items(items, 0.0, 1)[1] == []
    assert len(split_items(items[:2], 0.9, 1)[0]) >= 1
    with pytest.raises(TrainDataError):
        split_items(items, 1.0, 0)


def test_project_items_keep_only_confirmed_keypoints(tmp_path: Path) -> None:
    import cv2

    from model.project.store import ProjectStore

    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        cv2.imwrite(str(folder / name), _image())
    store = ProjectStore.create(tmp_path / "p.db", folder, SKELETON)
    ids = {Path(r.path).name: r.id for r in store.images()}
    human = Keypoints(XY, np.array([2, 2, 1, 2]), human=np.array([True, False, True, True]))
    model_only = Keypoints(XY, np.full(4, 2), human=np.zeros(4, bool))
    store.insert_instances(
        [(ids["a.png"], Instance(human, tuple(BOX))), (ids["b.png"], Instance(model_only, tuple(BOX))),
         (ids["c.png"], Instance(model_only, tuple(BOX)))],
        statuses={ids["b.png"]: ReviewStatus.PREDICTED, ids["c.png"]: ReviewStatus.DONE},
    )
    store.close()
    skeleton, items = items_from_project(tmp_path / "p.db")
    assert skeleton.keypoints == SKELETON.keypoints
    by_key = {it.image_key: it for it in items}
    assert set(by_key) == {"a.png", "c.png"}  # b: model output nobody confirmed
    assert by_key["a.png"].vis.tolist() == [2, 0, 1, 2]  # the model's leftear is not supervised
    assert by_key["c.png"].vis.tolist() == [2, 2, 2, 2]  # done image: confirmed as a whole
    with pytest.raises(TrainDataError):
        items_from_project(tmp_path / "missing.db")


def test_lr_warms_up_then_decays() -> None:
    lrs = [lr_at(s, 100, 1e-3, 10) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:], strict=False))
    assert lrs[-1] == pytest.approx(1e-5, rel=0.05)
