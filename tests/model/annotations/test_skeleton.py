"""Skeleton presets, validation, flip index and COCO category round trip."""

import pytest

from model.annotations.presets import load_preset, resolve_skeleton
from model.annotations.skeleton import Skeleton, SkeletonError, guess_flip_pairs


def test_presets_have_flip_pairs_that_swap_left_and_right():
    coco = load_preset("coco17")
    assert coco.num_keypoints == 17
    perm = coco.flip_index()
    assert coco.keypoints[perm[coco.index("left_eye")]] == "right_eye"
    assert coco.sigmas[0] == pytest.approx(0.026)
    assert coco.unpaired_sided_keypoints() == []
    mpii = load_preset("mpii16")
    assert [tuple(p) for p in mpii.flip_pairs] == [(0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)]


def test_coco_category_is_one_based_and_round_trips():
    coco = load_preset("coco17")
    cat = coco.to_coco_category()
    assert min(min(e) for e in cat["skeleton"]) == 1
    back = Skeleton.from_coco_category(cat, flip_pairs=coco.flip_pairs)
    assert back.edges == coco.edges and back.keypoints == coco.keypoints


def test_json_round_trip(tmp_path):
    sk = Skeleton("mouse", ("snout", "leftear", "rightear", "tailbase"), ((0, 1),), ((1, 2),))
    sk.save_json(tmp_path / "s.json")
    assert resolve_skeleton(tmp_path / "s.json") == sk


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"keypoints": ()}, "keypoints"),
        ({"keypoints": ("a", "a")}, "keypoints"),
        ({"keypoints": ("a", "b"), "edges": ((0, 2),)}, "edges"),
        ({"keypoints": ("a", "b", "c"), "flip_pairs": ((0, 1), (1, 2))}, "flip_pairs"),
        ({"keypoints": ("a",), "sigmas": (0.0,)}, "sigmas"),
    ],
)
def test_invalid_skeletons_name_the_field(kwargs, field):
    with pytest.raises(SkeletonError, match=field):
        Skeleton("bad", **kwargs)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(SkeletonError, match="coco17"):
        resolve_skeleton("horse99")


def test_flip_pairs_guessed_from_names_and_sided_names_detected():
    assert guess_flip_pairs(("snout", "leftear", "rightear", "tailbase")) == ((1, 2),)
    sk = Skeleton("m", ("snout", "leftear", "rightear"))
    assert sk.unpaired_sided_keypoints() == ["leftear", "rightear"]


def test_with_keypoints_keeps_edges_between_survivors():
    sk = Skeleton("m", ("a", "left_x", "right_x", "b"), ((0, 1), (1, 3), (2, 3)), ((1, 2),))
    new = sk.with_keypoints(["b", "a", "left_x", "new"], [3, 0, 1, None])
    assert set(new.edges) == {(1, 2), (2, 0)}
    assert new.flip_pairs == ()
    assert new.colors[0] == sk.colors[3]
