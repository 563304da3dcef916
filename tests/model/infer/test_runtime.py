"""Inference runtime: engine choice (OpenVINO on the CPU, torch fallback), precision, the start-up check."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from torch import nn

from model.infer import openvino_cpu
from model.infer import runtime as R
from model.infer.checkpoint import ModelBundle
from model.infer.normalization import Normalization
from model.infer.predictor import Predictor
from tests.model.infer.nets import max_rel, reference, run

pytestmark = pytest.mark.usefixtures("engine_defaults")


def test_auto_runtime_is_openvino_and_matches_fp32(tiny):
    x = torch.randn(3, 3, 64, 64)
    rt = R.prepare_for_inference(tiny, "cpu")
    assert rt.backend == "openvino" and rt.check is not None and rt.check.ok
    native = "bf16" in openvino_cpu.native_precisions() and R.cpu_supports_bf16()
    assert rt.precision == ("bf16" if native else "fp32")
    out, ref = run(rt, x), reference(tiny, x)
    assert [o.shape for o in out] == [(3, 3, 16, 16)] * 2 and all(o.dtype == torch.float32 for o in out)
    assert R.compare_heatmaps(ref, out, R.LOW_PRECISION_TOLERANCE).ok
    assert rt.description.startswith(f"CPU {rt.precision}")


def test_openvino_fp32_equals_eager_fp32(tiny, monkeypatch):
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert (rt.backend, rt.precision, rt.description) == ("openvino", "fp32", "CPU fp32")
    for n in (1, 4, 2):  # one request per image; batches on the streams model
        x = torch.randn(n, 3, 64, 64)
        assert max_rel(reference(tiny, x), run(rt, x)) < 1e-5
    monkeypatch.setenv(R.PRECISION_ENV, "fp32")
    assert R.prepare_for_inference(tiny, "cpu").precision == "fp32"


def test_torch_engine_by_argument_and_environment(tiny, monkeypatch):
    rt = R.prepare_for_inference(tiny, "cpu", "fp32", engine="torch")
    assert rt.backend == "torch" and rt.notes == ()
    x = torch.randn(2, 3, 64, 64)
    assert max_rel(reference(tiny, x), run(rt, x)) < 1e-5
    monkeypatch.setenv(R.ENGINE_ENV, "torch")
    assert R.prepare_for_inference(tiny, "cpu", "fp32").backend == "torch"
    monkeypatch.setenv(R.ENGINE_ENV, "tensorrt")
    with pytest.raises(ValueError, match=R.ENGINE_ENV):
        R.prepare_for_inference(tiny, "cpu")


def test_missing_openvino_falls_back_to_torch(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` now raises ImportError
    assert not openvino_cpu.available()
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert rt.backend == "torch" and "openvino missing" in rt.description
    x = torch.randn(2, 3, 64, 64)
    assert max_rel(reference(tiny, x), run(rt, x)) < 1e-5


def test_openvino_failing_its_check_falls_back_to_torch(tiny, monkeypatch):
    def wrong(self, x):
        return [o * 1.5 for o in reference(tiny, x)]

    monkeypatch.setattr(openvino_cpu.OpenVinoNet, "forward", wrong)
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert rt.backend == "torch" and "openvino fp32 failed check" in rt.description
    x = torch.randn(1, 3, 64, 64)
    assert max_rel(reference(tiny, x), run(rt, x)) < 1e-5


def test_openvino_raising_falls_back_to_torch(tiny, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("plugin crashed")

    monkeypatch.setattr(openvino_cpu, "_compile", broken)
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert rt.backend == "torch" and "openvino fp32 unavailable" in rt.description


def test_environment_selects_low_precision_which_stays_close_to_fp32(tiny, monkeypatch):
    monkeypatch.setenv(R.PRECISION_ENV, "BF16")
    rt = R.prepare_for_inference(tiny, "cpu")
    assert rt.precision == "bf16" and rt.check.ok and rt.check.rel_error > 0
    x = torch.randn(2, 3, 64, 64)
    assert max_rel(reference(tiny, x), run(rt, x)) < 0.1


def test_failed_low_precision_check_falls_back_to_fp32(tiny):
    strict = R.CheckTolerance(max_shift=0.0, peak_slack=0.0, max_rel_error=0.0)
    rt = R.prepare_for_inference(tiny, "cpu", "bf16", tolerance=strict)
    assert rt.precision == "fp32" and "bf16 failed check" in rt.description
    x = torch.randn(2, 3, 64, 64)
    assert max_rel(reference(tiny, x), run(rt, x)) < 1e-5


def test_caller_model_is_not_modified(tiny):
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    R.prepare_for_inference(tiny, "cpu", "fp32")
    R.prepare_for_inference(tiny, "cpu", "fp32", engine="torch")
    after = tiny.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert not tiny.training and sum(isinstance(m, nn.BatchNorm2d) for m in tiny.modules()) > 0


def test_predictor_on_openvino_predicts_what_torch_predicts(tiny):
    bundle = ModelBundle(tiny.config, _skeleton(3), Normalization.imagenet(), tiny.state_dict(), {})
    rng = np.random.default_rng(0)
    image = (rng.random((90, 120, 3)) * 255).astype(np.uint8)
    items = [(image, (10, 10, 60, 50)), (image, None)]
    ov_pred = Predictor(bundle, device="cpu")  # the default engine
    torch_pred = Predictor(bundle, device="cpu", engine="torch")
    assert ov_pred.engine == "openvino" and ov_pred.device_name == "cpu (openvino)"
    assert torch_pred.engine == "torch" and torch_pred.device_name == "cpu"
    if ov_pred.precision == "fp32" and torch_pred.precision == "fp32":
        for a, b in zip(ov_pred.predict(items), torch_pred.predict(items), strict=True):
            np.testing.assert_allclose(a.stack_heatmaps, b.stack_heatmaps, atol=1e-5)


def test_compare_heatmaps_tolerates_ties_but_not_moved_peaks():
    ref = torch.zeros(1, 1, 8, 8)
    ref[0, 0, 2, 2] = 1.0
    moved = torch.zeros(1, 1, 8, 8)
    moved[0, 0, 5, 5] = 1.0
    tol = R.CheckTolerance(max_shift=1.0, peak_slack=0.05, max_rel_error=10.0)
    result = R.compare_heatmaps([ref], [moved], tol)
    assert not result.ok and "1 of 1 peaks moved" in result.detail
    flat = torch.full((1, 1, 8, 8), 0.5)
    flat_noisy = flat.clone()
    flat_noisy[0, 0, 7, 7] += 1e-3
    assert R.compare_heatmaps([flat], [flat_noisy], tol).ok
    assert not R.compare_heatmaps([ref], [ref * 1.5], R.CheckTolerance(max_rel_error=0.1)).ok
    nan = ref.clone()
    nan[0, 0, 0, 0] = float("nan")
    assert not R.compare_heatmaps([ref], [nan], tol).ok


def test_invalid_precision_names_the_setting(monkeypatch):
    with pytest.raises(ValueError, match="precision must be one of"):
        R.resolve_precision(torch.device("cpu"), "int8")
    monkeypatch.setenv(R.PRECISION_ENV, "fp64")
    with pytest.raises(ValueError, match=R.PRECISION_ENV):
        R.resolve_precision(torch.device("cpu"))


def _skeleton(k: int):
    from model.annotations.skeleton import Skeleton

    return Skeleton(name="tiny", keypoints=tuple(f"k{i}" for i in range(k)), edges=(), flip_pairs=())

