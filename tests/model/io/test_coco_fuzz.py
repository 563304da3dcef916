"""Property: mutating a valid COCO dict in any way gives a dataset or a CocoImportError — nothing else.

Whatever is accepted must also export (build_coco, strict JSON) and read back to the same values.
"""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.io.coco import CocoImportError, build_coco, parse_coco
from tests.model.io.test_coco import small_coco

SEGMENTS = ["..", ".", "", "a", "b.png", "C:", "c:x", "~", "\\", "\x00", "mäuse", "鼠", "\ud800", " ",
            "a" * 300]

path_strings = st.one_of(
    st.lists(st.sampled_from(SEGMENTS), min_size=0, max_size=5).flatmap(
        lambda parts: st.sampled_from(["/", "\\"]).map(lambda sep: sep.join(parts))
    ),
    st.text(max_size=30),
)

special_values = st.sampled_from([
    None, True, False, "", "x", [], {}, 0, -1, 1, 2, 3, 0.5, -0.0, 2**31, 2**63, 10**30,
    10**400, -(10**400), 10**5000, 1e308, -1e308, 1e-320, math.nan, math.inf, -math.inf,
])
other_values = st.one_of(
    st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10),
    st.lists(st.integers(-3, 5), max_size=14),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    path_strings,
)
evil_values = st.one_of(special_values, other_values)


def _containers(node, path=()):
    """(path, container) for every dict and list inside node, node itself first."""
    out = [(path, node)]
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        if isinstance(child, dict | list):
            out.extend(_containers(child, (*path, key)))
    return out


def _number_lists(data) -> list[list]:
    """The lists of numbers in the (possibly already mutated) dict: keypoints, bboxes, sigmas, edges."""
    out = []
    for path, node in _containers(data):
        numbers = bool(path) and (path[-1] in ("bbox", "sigmas") or path[::2] == ("annotations", "keypoints"))
        pair = len(path) >= 2 and path[-2] in ("skeleton", "flip_pairs")
        if isinstance(node, list) and node and (numbers or pair):
            out.append(node)
    return out


def _mutate_file_name(draw, data) -> bool:
    images = data.get("images")
    if not isinstance(images, list) or not images or not isinstance(image := draw(st.sampled_from(images)),
                                                                       dict):
        return False
    image["file_name"] = draw(path_strings)
    return True


def _mutate_number(draw, data) -> bool:
    lists = _number_lists(data)
    if not lists:
        return False
    target = draw(st.sampled_from(lists))
    value = draw(special_values) if draw(st.booleans()) else draw(evil_values)
    target[draw(st.integers(0, len(target) - 1))] = value
    return True


def _mutate_anywhere(draw, data) -> None:
    _path, node = draw(st.sampled_from(_containers(data)))
    keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
    op = draw(st.sampled_from(["set", "set", "delete", "duplicate", "shorten", "set_new"]))
    if op == "set_new" and isinstance(node, dict):
        key = draw(st.sampled_from(["id", "image_id", "iscrowd", "flip_pairs", "sigmas", "skeleton"]))
        node[key] = draw(evil_values)
    elif not keys:
        return
    elif op == "delete":
        del node[draw(st.sampled_from(keys))]
    elif op == "duplicate" and isinstance(node, list):
        node.append(json.loads(json.dumps(node[draw(st.sampled_from(keys))])))
    elif op == "shorten" and isinstance(node, list):
        del node[draw(st.integers(0, len(node) - 1)):]
    else:
        node[draw(st.sampled_from(keys))] = draw(evil_values)


@st.composite
def mutated_coco(draw):
    data = small_coco()
    if draw(st.booleans()):
        data["categories"][0]["flip_pairs"] = [[1, 2]]
        data["categories"][0]["sigmas"] = [0.1, 0.2, 0.3, 0.4]
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 2, 3, 4]))):
        kind = draw(st.sampled_from(["file_name", "number", "anywhere", "anywhere"]))
        if kind == "file_name" and _mutate_file_name(draw, data):
            continue
        if kind == "number" and _mutate_number(draw, data):
            continue
        _mutate_anywhere(draw, data)
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_coco(), with_root=st.booleans())
def test_mutated_coco_is_accepted_or_refused_cleanly(data, with_root, tmp_path_factory):
    root = tmp_path_factory.getbasetemp() / "fuzz_root" if with_root else None
    try:
        ds = parse_coco(data, "fuzz.json", image_root=root)
    except CocoImportError as exc:
        assert str(exc).startswith("fuzz.json: ")
        return
    out = json.loads(json.dumps(build_coco(ds), allow_nan=False))
    again = parse_coco(out, "again.json")
    assert [im.file_name for im in again.images] == [im.file_name for im in ds.images]
    assert again.skeleton == ds.skeleton
    for a, b in zip(again.annotations, ds.annotations, strict=True):
        assert a.instance.keypoints == b.instance.keypoints and a.instance.box == b.instance.box
        assert np.isfinite(a.instance.keypoints.xy).all()
