"""OpenVINO engine: the converted-graph cache (keys, reuse, corrupt entries) and the request layout."""

from __future__ import annotations

import copy

import openvino as ov
import pytest
import torch

from model.infer import openvino_cpu as O
from model.infer import runtime as R
from tests.model.infer.nets import max_rel, reference, run, tiny_network

pytestmark = pytest.mark.usefixtures("engine_defaults")


@pytest.fixture(scope="module")
def converted(tiny, tmp_path_factory) -> dict[str, bytes]:
    """The tiny network's cache entry, converted once for this module: {file name: content}."""
    source = O.IrSource(tiny, tmp_path_factory.mktemp("converted"))
    source.graph()
    return {p.name: p.read_bytes() for p in (source.xml, source.xml.with_suffix(".bin"))}


@pytest.fixture
def cache(tmp_path, monkeypatch, converted):
    """An empty cache folder of this test (HGLABEL_CACHE_DIR); `_fill` adds the converted entry."""
    monkeypatch.setenv(O.CACHE_ENV, str(tmp_path))
    return tmp_path / "openvino"


@pytest.fixture
def conversions(monkeypatch, converted, tmp_path_factory) -> list:
    """Conversion replaced by reading the module's converted graph (seconds saved); a list of the calls."""
    folder = tmp_path_factory.mktemp("fast")
    for name, data in converted.items():
        (folder / name).write_bytes(data)
    xml = next(folder.glob("*.xml"))
    calls = []

    def fast(model):
        calls.append(model)
        return ov.Core().read_model(str(xml))

    monkeypatch.setattr(O, "convert", fast)
    return calls


def _fill(cache, converted, tiny) -> O.IrSource:
    """The converted entry copied into `cache`; its IrSource (not yet read)."""
    cache.mkdir(parents=True, exist_ok=True)
    for name, data in converted.items():
        (cache / name).write_bytes(data)
    return O.IrSource(tiny)


def test_key_follows_the_weights_not_the_object(tiny):
    assert O.content_key(copy.deepcopy(tiny)) == O.content_key(tiny)
    changed = copy.deepcopy(tiny)
    with torch.no_grad():
        changed.score[0].bias[0] += 1e-3
    assert O.content_key(changed) != O.content_key(tiny)
    assert O.content_key(tiny_network(stacks=1)) != O.content_key(tiny)


def test_graph_is_converted_once_then_read_from_the_cache(tiny, cache, converted, monkeypatch):
    first = O.IrSource(tiny)
    assert first.xml.parent == cache and not cache.exists()
    first.graph()
    assert not first.from_cache
    assert {p.name for p in cache.iterdir()} == set(converted)  # no temporary files left behind
    monkeypatch.setattr(O, "convert", None)  # calling it now would raise
    rt = R.prepare_for_inference(copy.deepcopy(tiny), "cpu", "fp32")
    assert rt.backend == "openvino" and rt.notes == ()
    x = torch.randn(2, 3, 64, 64)
    assert max_rel(reference(tiny, x), run(rt, x)) < 1e-5


def test_unreadable_cache_entry_is_converted_again(tiny, cache, converted, conversions):
    source = _fill(cache, converted, tiny)
    source.xml.write_text("<net>not a graph")  # a torn or foreign file
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert rt.backend == "openvino" and rt.notes == ()
    x = torch.randn(1, 3, 64, 64)
    assert max_rel(reference(tiny, x), run(rt, x)) < 1e-5
    again = O.IrSource(tiny)
    again.graph()
    assert again.from_cache and len(conversions) == 1  # the entry was rewritten and now reads


def test_cache_entry_with_wrong_weights_fails_the_check_and_is_replaced(tiny, cache, converted, conversions):
    source = _fill(cache, converted, tiny)
    weights = source.xml.with_suffix(".bin")
    data = bytearray(weights.read_bytes())
    data[len(data) // 3: len(data) // 3 + 4096] = b"\x7f" * 4096  # same size, corrupt weights
    weights.write_bytes(bytes(data))
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert rt.backend == "openvino" and rt.check.ok
    x = torch.randn(1, 3, 64, 64)
    assert max_rel(reference(tiny, x), run(rt, x)) < 1e-5
    assert weights.read_bytes() != bytes(data) and len(conversions) == 1


def test_truncated_cache_entry_is_converted_again(tiny, cache, converted, conversions):
    source = _fill(cache, converted, tiny)
    weights = source.xml.with_suffix(".bin")
    weights.write_bytes(weights.read_bytes()[:1000])
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert rt.backend == "openvino" and rt.check.ok
    assert weights.stat().st_size > 1000 and len(conversions) == 1


def test_unwritable_cache_still_runs(tiny, tmp_path, monkeypatch, conversions):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(O.CACHE_ENV, str(blocker))
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert rt.backend == "openvino" and rt.check.ok and len(conversions) == 1


def test_user_cache_dir_default(monkeypatch, tmp_path):
    monkeypatch.delenv(O.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if O.sys.platform.startswith("linux"):
        assert O.user_cache_dir() == tmp_path / "hglabel"


def test_stream_layout_gives_the_single_request_results(tiny, cache, converted):
    graph = _fill(cache, converted, tiny).graph()
    streams = O.OpenVinoNet(graph, "fp32", threads=2, layout="streams")
    single = O.OpenVinoNet(graph, "fp32", threads=2, layout="single")
    x = torch.randn(5, 3, 64, 64)
    a, b = streams(x), single(x)
    assert streams._queue is not None and single._queue is None
    assert [o.shape for o in a] == [(5, 3, 16, 16)] * 2
    assert max_rel(b, a) == 0.0
    assert max_rel(reference(tiny, x), a) < 1e-5


def test_cached_start_up_reads_the_fp32_reference_instead_of_running_torch(tiny, cache, conversions,
                                                                           monkeypatch):
    model = copy.deepcopy(tiny)
    R.prepare_for_inference(model, "cpu", "fp32")  # fills the entry: graph and reference
    source = O.IrSource(model)
    assert source.reference_path.is_file()

    def no_torch(*args, **kwargs):
        raise AssertionError("the eager reference ran although it was cached")

    monkeypatch.setattr(model, "forward", no_torch)
    rt = R.prepare_for_inference(model, "cpu", "fp32")
    assert rt.backend == "openvino" and rt.check.ok and rt.notes == ()


@pytest.mark.parametrize("damage", ["garbage", "wrong values"])
def test_damaged_reference_is_computed_again(tiny, cache, converted, conversions, damage):
    R.prepare_for_inference(tiny, "cpu", "fp32")
    path = O.IrSource(tiny).reference_path
    good = O.np.load(path)
    if damage == "garbage":
        path.write_bytes(b"\x93NUMPY torn")
    else:
        O.np.save(path, good + 1.0)  # right shape, wrong heatmaps: the fp32 check must fail, not pass
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert rt.backend == "openvino" and rt.check.ok and rt.notes == ()
    O.np.testing.assert_array_equal(O.np.load(path), good)
    x = torch.randn(1, 3, 64, 64)
    assert max_rel(reference(tiny, x), run(rt, x)) < 1e-5
