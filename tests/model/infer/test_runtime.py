"""Inference runtime: prepared networks agree with fp32, overrides work, failed checks fall back to fp32."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from model.infer import runtime as R
from model.nn.hourglass import HourglassConfig, build_hourglass


@pytest.fixture(scope="module")
def tiny() -> nn.Module:
    """2-stack, 8-feature, 64×64 network with non-trivial BatchNorm statistics."""
    torch.manual_seed(0)
    model = build_hourglass(HourglassConfig(num_keypoints=3, stacks=2, features=8, input_size=(64, 64)))
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture(autouse=True)
def _no_env_one_thread(monkeypatch):
    """No precision overrides from the environment; one thread (tiny ops, shared CPU), restored after."""
    monkeypatch.delenv(R.PRECISION_ENV, raising=False)
    monkeypatch.delenv(R.COMPILE_ENV, raising=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _run(rt: R.InferenceRuntime, x: torch.Tensor) -> list[torch.Tensor]:
    """Through the predictor's triple, as model/infer/predictor.py calls it."""
    net, _precision, autocast = rt
    with torch.inference_mode(), autocast():
        return [o.float() for o in net(x)]


def _reference(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.inference_mode():
        return model(x)


def _max_rel(ref: list[torch.Tensor], out: list[torch.Tensor]) -> float:
    return max(float((r - o).abs().max() / r.abs().max()) for r, o in zip(ref, out, strict=True))


def test_auto_runtime_matches_fp32(tiny):
    x = torch.randn(3, 3, 64, 64)
    rt = R.prepare_for_inference(tiny, "cpu")
    assert rt.precision == ("bf16" if R.cpu_supports_bf16() else "fp32")
    assert rt.check is not None and rt.check.ok
    out, ref = _run(rt, x), _reference(tiny, x)
    assert [o.shape for o in out] == [(3, 3, 16, 16)] * 2 and all(o.dtype == torch.float32 for o in out)
    assert R.compare_heatmaps(ref, out, R.LOW_PRECISION_TOLERANCE).ok
    if rt.precision == "fp32":
        assert _max_rel(ref, out) < 1e-4
    assert rt.description.startswith(f"CPU {rt.precision}")


def test_fused_network_is_fp32_exact_for_batches_and_channels_last_input(tiny):
    if not R.fused_kernels_available():
        pytest.fail("oneDNN fused kernels missing from this torch build")
    fused = R.FusedHourglass(tiny, prepack=True, micro_batch=3)
    for n in (1, 4, 2, 7, 1):  # sub-batches of 3; more shapes than prepacked weights are kept for
        x = torch.randn(n, 3, 64, 64)
        with torch.inference_mode():
            out = fused(x.contiguous(memory_format=torch.channels_last))
        assert [o.shape for o in out] == [(n, 3, 16, 16)] * 2
        assert _max_rel(_reference(tiny, x), out) < 1e-4
        assert all(o.is_contiguous() for o in out)


def test_micro_batch_keeps_activations_cache_sized(tiny):
    big = build_hourglass(HourglassConfig(num_keypoints=16, stacks=1, features=128, input_size=(256, 256)))
    assert R.FusedHourglass.auto_micro_batch(big, torch.float32) == 1
    assert R.FusedHourglass.auto_micro_batch(big, torch.bfloat16) == 2
    assert R.FusedHourglass.auto_micro_batch(tiny, torch.float32) > 8


def test_forcing_fp32_by_argument_and_environment(tiny, monkeypatch):
    x = torch.randn(2, 3, 64, 64)
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert rt.precision == "fp32" and rt.description == "CPU fp32"
    assert _max_rel(_reference(tiny, x), _run(rt, x)) < 1e-4
    monkeypatch.setenv(R.PRECISION_ENV, "fp32")
    assert R.prepare_for_inference(tiny, "cpu").precision == "fp32"


def test_environment_selects_bf16_which_stays_close_to_fp32(tiny, monkeypatch):
    monkeypatch.setenv(R.PRECISION_ENV, "BF16")
    rt = R.prepare_for_inference(tiny, "cpu")
    assert rt.precision == "bf16" and rt.check.ok and rt.check.rel_error > 0
    x = torch.randn(2, 3, 64, 64)
    assert _max_rel(_reference(tiny, x), _run(rt, x)) < 0.1


def test_failed_check_falls_back_to_fp32(tiny):
    strict = R.CheckTolerance(max_shift=0.0, peak_slack=0.0, max_rel_error=0.0)
    rt = R.prepare_for_inference(tiny, "cpu", "bf16", tolerance=strict)
    assert rt.precision == "fp32" and "bf16" in rt.description and "failed check" in rt.description
    x = torch.randn(2, 3, 64, 64)
    assert _max_rel(_reference(tiny, x), _run(rt, x)) < 1e-4


def test_failing_kernel_falls_back_to_eager_fp32(tiny, monkeypatch):
    def broken(self, x):
        raise RuntimeError("no such kernel")

    monkeypatch.setattr(R.FusedHourglass, "forward", broken)
    rt = R.prepare_for_inference(tiny, "cpu", "fp32")
    assert rt.backend == "eager" and rt.precision == "fp32" and "unavailable" in rt.description
    x = torch.randn(1, 3, 64, 64)
    assert _max_rel(_reference(tiny, x), _run(rt, x)) < 1e-4


def test_caller_model_is_not_modified(tiny):
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    R.prepare_for_inference(tiny, "cpu", "fp32")
    R.fold_batchnorm(tiny)
    after = tiny.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in tiny.modules()) > 0


def test_fold_batchnorm_keeps_outputs_and_removes_the_foldable_norms(tiny):
    folded = R.fold_batchnorm(tiny)
    remaining = sum(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    bottlenecks = sum(isinstance(m, R.Bottleneck) for m in tiny.modules())
    assert remaining == bottlenecks  # only the pre-activation bn1 of each block stays
    x = torch.randn(2, 3, 64, 64)
    assert _max_rel(_reference(tiny, x), _reference(folded, x)) < 1e-4


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
