"""Prediction on CUDA (bf16/fp16 autocast, channels_last) agrees with fp32 on the CPU. Needs a GPU:
skipped elsewhere by the `cuda` marker; bench/gpu.sh runs it (`pytest -m cuda`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.infer import runtime as R
from model.infer.checkpoint import build_model, load_checkpoint
from model.infer.predictor import Predictor
from model.io.images import read_image

pytestmark = pytest.mark.cuda


@pytest.fixture(scope="module")
def demo(demo_eval):
    bundle = load_checkpoint(demo_eval / "checkpoint.pt")
    images = [read_image(p) for p in sorted((demo_eval / "images").glob("*.png"))]
    return bundle, images


def test_predictor_on_cuda_matches_fp32_cpu(demo, monkeypatch):
    bundle, images = demo
    items = [(im, None) for im in images]  # whole-image pass, then the crop pass, as `P` runs it
    monkeypatch.setenv(R.PRECISION_ENV, "fp32")
    cpu = Predictor(bundle, device="cpu", engine="torch")
    monkeypatch.delenv(R.PRECISION_ENV)
    gpu = Predictor(bundle, device="cuda")
    assert gpu.device.type == "cuda" and gpu.precision in ("bf16", "fp16") and gpu.engine == "torch"
    ref, out = cpu.predict(items, batch_size=8), gpu.predict(items, batch_size=8)
    shift = np.concatenate([np.linalg.norm(a.keypoints - b.keypoints, axis=-1) for a, b in zip(ref, out,
                                                                                                strict=True)])
    assert float(np.median(shift)) < 0.5 and float(shift.max()) < 3.0, shift
    for a, b in zip(ref, out, strict=True):
        check = R.compare_heatmaps([torch.from_numpy(a.stack_heatmaps)], [torch.from_numpy(b.stack_heatmaps)],
                                   R.LOW_PRECISION_TOLERANCE)
        assert check.ok, check.detail


def test_cuda_runtime_passes_its_start_up_check_and_batches_agree(demo):
    bundle, _ = demo
    model = build_model(bundle).cuda()
    rt = R.prepare_for_inference(model, "cuda")
    assert rt.device.type == "cuda" and rt.check.ok and rt.backend == "torch"
    x = torch.randn(8, 3, *reversed(bundle.config.input_size), device="cuda")
    whole = rt(x)
    single = [rt(x[i:i + 1]) for i in range(8)]
    for s, stack in enumerate(whole):
        parts = torch.cat([one[s] for one in single])
        assert float((parts - stack).abs().max()) <= 0.05 * float(stack.abs().max())
