"""Peer engines for bench/predict.py: the network exported once to ONNX, run by ONNX Runtime and OpenVINO
plainly (as a user would: default session / compile_model options, the whole batch in one call).

Every engine is a callable x (N, 3, H, W) float32 torch tensor → S × (N, K, H/4, W/4) float32 tensors,
so timing, accuracy and the predictor see the same interface.
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from model.nn.hourglass import StackedHourglass

Engine = Callable[[torch.Tensor], list[torch.Tensor]]


def export_onnx(model: StackedHourglass, path: Path) -> float:
    """torch.onnx.export (dynamo) with a dynamic batch; the seconds it took."""
    w, h = model.config.input_size
    start = time.perf_counter()
    with contextlib.redirect_stdout(None), torch.no_grad():
        torch.onnx.export(model.eval(), (torch.zeros(1, 3, h, w),), str(path), dynamo=True,
                          input_names=["x"], dynamic_shapes={"x": {0: "batch"}})
    return time.perf_counter() - start


def _wrap(run: Callable[[np.ndarray], list[np.ndarray]]) -> Engine:
    def engine(x: torch.Tensor) -> list[torch.Tensor]:
        return [torch.from_numpy(np.asarray(o)) for o in run(np.ascontiguousarray(x.numpy()))]
    return engine


def onnxruntime_engine(path: Path) -> tuple[Engine, float, str] | None:
    """(engine, session start-up s, description): CPU execution provider, default options (all graph
    optimisations, intra-op threads = cores); None when onnxruntime is not installed."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime as ort

    start = time.perf_counter()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    took = time.perf_counter() - start
    return _wrap(lambda a: session.run(None, {"x": a})), took, f"ONNX Runtime {ort.__version__} fp32"


def openvino_engine(path: Path) -> tuple[Engine, float, str] | None:
    """(engine, compile s, description): `compile_model(onnx, "CPU")` with defaults (LATENCY hint; its
    default inference precision, bf16 on a CPU with native bf16); None without openvino."""
    if importlib.util.find_spec("openvino") is None:
        return None
    import openvino as ov

    start = time.perf_counter()
    compiled = ov.Core().compile_model(str(path), "CPU")
    took = time.perf_counter() - start
    precision = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
    short = {"bf16": "bf16", "f32": "fp32", "f16": "fp16"}.get(precision, precision)
    return (_wrap(lambda a: list(compiled(a).values())), took,
            f"OpenVINO {ov.__version__.split('-')[0]} {short}")
