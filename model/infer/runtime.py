"""Inference runtime for a StackedHourglass: picks engine and precision for the device, verified at start.

API (the predictor's single hook):

    rt = prepare_for_inference(model, device)        # -> InferenceRuntime
    model, precision, autocast = rt                  # unpacks as the hook's triple
    with autocast():
        heatmaps = model(x)                          # x (N, 3, H, W) float32 → S × (N, K, H/4, W/4) float32
    rt.description                                   # for the status bar, e.g. "CPU bf16", "CUDA bf16"
    rt.backend                                       # "openvino" | "torch" | "compiled"
    rt.check                                         # CheckResult of the start-up comparison with fp32

The caller's model is never modified. Choices:
- CPU: OpenVINO (model/infer/openvino_cpu.py: the network converted once per checkpoint content and
  cached in the user cache folder, one inference request per image, one stream per thread for batches).
  bf16 (or fp16) when OpenVINO and oneDNN report native support, else fp32. It beat ONNX Runtime,
  the hand-written oneDNN runtime it replaced and eager torch on every row of bench/predict.py.
- CUDA: eager torch, channels_last, bf16 autocast (fp16 without bf16); torch.compile on request.
- Start-up: one forward pass of the plain fp32 model on a synthetic input at the network's input size;
  each candidate is compared with it (heatmap peak positions and relative error, `CheckTolerance`). A
  candidate that fails or raises gives way to the next one (low precision → OpenVINO fp32 → torch fp32);
  a cached OpenVINO graph that fails is deleted and converted again once.
- Overrides: argument/env HGLABEL_PRECISION = auto|fp32|bf16|fp16; argument/env HGLABEL_ENGINE =
  auto|openvino|torch (torch: never OpenVINO, e.g. for a network that changes every epoch); torch.compile
  only with compile=True or HGLABEL_COMPILE=1 (tens of seconds of start-up; off by default).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from model.infer import openvino_cpu
from model.nn.hourglass import StackedHourglass

log = logging.getLogger(__name__)

PRECISION_ENV = "HGLABEL_PRECISION"
COMPILE_ENV = "HGLABEL_COMPILE"
ENGINE_ENV = "HGLABEL_ENGINE"
ENGINES = ("auto", "openvino", "torch")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


# ---- start-up check ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckTolerance:
    """How far a candidate's heatmaps may be from fp32's on the check input.

    A heatmap passes when its argmax is within `max_shift` heatmap px of fp32's, or when fp32's value at
    the candidate's argmax is within `peak_slack` × (fp32 range) of fp32's maximum (no clear peak).
    All heatmaps together must have max|Δ| ≤ `max_rel_error` × max|fp32|.
    """

    max_shift: float = 1.0
    peak_slack: float = 0.05
    max_rel_error: float = 0.1


LOW_PRECISION_TOLERANCE = CheckTolerance()
FP32_TOLERANCE = CheckTolerance(max_shift=0.0, peak_slack=1e-3, max_rel_error=1e-3)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    max_shift: float  # heatmap px, over heatmaps with a clear peak
    rel_error: float
    detail: str


def compare_heatmaps(ref: list[torch.Tensor], out: list[torch.Tensor], tol: CheckTolerance) -> CheckResult:
    """Compare S × (N, K, h, w) candidate heatmaps with fp32's (any dtype/device/layout)."""
    r = torch.stack([t.detach().float().cpu() for t in ref], 1).flatten(0, 2)  # (S·N·K, h, w)
    o = torch.stack([t.detach().float().cpu() for t in out], 1).flatten(0, 2)
    if r.shape != o.shape:
        return CheckResult(False, float("inf"), float("inf"), f"shape {tuple(o.shape)} != {tuple(r.shape)}")
    if not torch.isfinite(o).all():
        return CheckResult(False, float("inf"), float("inf"), "non-finite heatmaps")
    width = r.shape[-1]
    flat_r, flat_o = r.flatten(1), o.flatten(1)
    ir, io = flat_r.argmax(1), flat_o.argmax(1)
    shift = torch.hypot((ir % width - io % width).float(), (ir // width - io // width).float())
    r_max, r_min = flat_r.max(1).values, flat_r.min(1).values
    at_o = flat_r.gather(1, io[:, None])[:, 0]
    flat = (r_max - at_o) <= tol.peak_slack * (r_max - r_min)
    bad = (shift > tol.max_shift) & ~flat
    clear = shift[~flat] if (~flat).any() else torch.zeros(1)
    rel = float((r - o).abs().max() / r.abs().max().clamp_min(1e-12))
    ok = not bool(bad.any()) and rel <= tol.max_rel_error
    detail = f"peak shift ≤ {float(clear.max()):.2f} hm px, rel. error {rel:.2e}"
    if bad.any():
        detail += f", {int(bad.sum())} of {len(bad)} peaks moved"
    return CheckResult(ok, float(clear.max()), rel, detail)


def check_input(model: StackedHourglass, device: torch.device, seed: int = 0) -> torch.Tensor:
    """(1, 3, h, w) float32 at the network's input size: smooth random blobs on a gradient, roughly the
    range of normalised images."""
    w, h = model.config.input_size
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    img = 0.3 * xx[None].repeat(3, 1, 1)
    for _ in range(6):
        cx, cy, amp = (torch.rand(3, generator=gen) * 2 - 1).tolist()
        colour = torch.rand(3, 1, 1, generator=gen) - 0.5
        img = img + colour * amp * torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 0.05)
    return img[None].contiguous().to(device)


# ---- precision ---------------------------------------------------------------------------------------
def cpu_supports_bf16() -> bool:
    """True when oneDNN runs bf16 convolutions natively on this CPU (not emulated)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(device: torch.device, requested: str | None = None) -> str:
    """'auto' (default; env HGLABEL_PRECISION overrides it) → the best precision the device computes."""
    choice = (requested or "auto").lower()
    if choice == "auto":
        choice = os.environ.get(PRECISION_ENV, "auto").strip().lower() or "auto"
    if choice not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {choice!r} (argument or "
                         f"{PRECISION_ENV})")
    if choice != "auto":
        return choice
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu" and cpu_supports_bf16():
        return "bf16"
    return "fp32"


# ---- engines -----------------------------------------------------------------------------------------
def resolve_engine(requested: str | None = None) -> str:
    """'auto' (default; env HGLABEL_ENGINE overrides it), 'openvino' or 'torch'."""
    choice = (requested or "auto").lower()
    if choice == "auto":
        choice = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
    if choice not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {choice!r} (argument or {ENGINE_ENV})")
    return choice


@dataclass
class InferenceRuntime:
    """The prepared network; unpacks as (model, precision, autocast factory) for the predictor hook."""

    model: nn.Module
    precision: str  # "fp32" | "bf16" | "fp16": what the convolutions compute in
    autocast: Callable[[], contextlib.AbstractContextManager]
    device: torch.device
    backend: str  # "openvino" | "torch" | "compiled"
    check: CheckResult | None
    notes: tuple[str, ...] = ()  # why preferred candidates were rejected
    startup_s: float = 0.0

    def __iter__(self) -> Iterator:
        return iter((self.model, self.precision, self.autocast))

    @property
    def description(self) -> str:
        """Short status-bar text, e.g. "CPU bf16" or "CPU fp32 (openvino bf16 failed check)"."""
        text = f"{self.device.type.upper()} {self.precision}"
        return f"{text} ({'; '.join(self.notes)})" if self.notes else text

    def __call__(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (N, 3, H, W) float32 → S heatmap tensors (N, K, H/4, W/4) float32."""
        with torch.inference_mode(), self.autocast():
            x = x.to(self.device)
            if self.backend != "openvino":
                x = x.contiguous(memory_format=torch.channels_last)
            return [o.float() for o in self.model(x)]


@dataclass(frozen=True)
class _Candidate:
    name: str  # e.g. "openvino bf16"
    precision: str
    backend: str
    build: Callable[[], tuple[nn.Module, Callable]]
    retry: Callable[[bool], bool] = lambda failed_check: False  # True if a second try may succeed
    reference: Callable[[Callable], list[torch.Tensor]] | None = None  # cached fp32 reference, if any


def _no_autocast() -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


def _autocast_factory(device: torch.device, precision: str) -> Callable:
    if precision == "fp32":
        return _no_autocast
    dtype = DTYPES[precision]
    return lambda: torch.autocast(device.type, dtype=dtype)


def _torch(model: StackedHourglass, device: torch.device, precision: str, compile_: bool) -> Callable:
    def build() -> tuple[nn.Module, Callable]:
        net = copy.deepcopy(model).eval().requires_grad_(False).to(memory_format=torch.channels_last)
        if compile_:
            net = torch.compile(net)
        return net, _autocast_factory(device, precision)
    return build


class _OpenVino:
    """Lazily converted/cached graph shared by the OpenVINO candidates of one start-up."""

    def __init__(self, model: StackedHourglass) -> None:
        self.model, self._source = model, None

    def source(self) -> openvino_cpu.IrSource:
        if self._source is None:
            self._source = openvino_cpu.IrSource(self.model)
        return self._source

    def candidate(self, precision: str) -> _Candidate:
        def build() -> tuple[nn.Module, Callable]:
            return openvino_cpu.OpenVinoNet(self.source().graph(), precision), _no_autocast

        def retry(failed_check: bool) -> bool:  # a cached graph that raised or failed fp32: convert afresh
            source = self._source
            cached = source is not None and (source.from_cache or source.reference_path.is_file())
            if not cached or (failed_check and precision != "fp32"):
                return False
            source.discard()
            return True

        def reference(compute: Callable[[], list[torch.Tensor]]) -> list[torch.Tensor]:
            return self.source().reference(compute)

        return _Candidate(f"openvino {precision}", precision, "openvino", build, retry, reference)


def _openvino_candidates(model: StackedHourglass, precision: str) -> tuple[list[_Candidate], str | None]:
    """OpenVINO candidates (preferred first) and a note when OpenVINO cannot be used."""
    if not openvino_cpu.available():
        return [], "openvino missing"
    try:
        natives = openvino_cpu.native_precisions()
    except Exception as exc:  # noqa: BLE001 - a broken install means: no OpenVINO
        log.warning("inference runtime: openvino unusable (%s: %s)", type(exc).__name__, exc)
        return [], "openvino unavailable"
    engine = _OpenVino(model)
    out = [engine.candidate(precision)] if precision != "fp32" and precision in natives else []
    return out + [engine.candidate("fp32")], None


def _candidates(model: StackedHourglass, device: torch.device, precision: str, engine: str,
                compile_: bool) -> tuple[list[_Candidate], list[str]]:
    """Preferred first; the last one (plain fp32 torch) is always usable. Also notes on skipped engines."""
    out: list[_Candidate] = []
    notes: list[str] = []
    if compile_:
        out.append(_Candidate(f"{precision} compiled", precision, "compiled",
                              _torch(model, device, precision, True)))
    if device.type == "cpu" and engine != "torch":
        found, note = _openvino_candidates(model, precision)
        out += found
        notes += [note] if note else []
    if precision != "fp32" and not any(c.precision == precision for c in out):
        out.append(_Candidate(f"torch {precision}", precision, "torch",
                              _torch(model, device, precision, False)))
    out.append(_Candidate("torch fp32", "fp32", "torch", _torch(model, device, "fp32", False)))
    return out, notes


def _eager_reference(model: StackedHourglass, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.inference_mode():
        return [o.float() for o in model(x)]


def _memo(fn: Callable[[], list[torch.Tensor]]) -> Callable[[], list[torch.Tensor]]:
    value: list = []
    return lambda: value[0] if value else value.append(fn()) or value[0]


def _try(cand: _Candidate, x: torch.Tensor, ref: list[torch.Tensor],
         tol: CheckTolerance) -> tuple[nn.Module, Callable, CheckResult]:
    net, autocast = cand.build()
    if cand.backend != "openvino":
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), autocast():
        out = net(x)
    return net, autocast, compare_heatmaps(ref, out, tol if cand.precision != "fp32" else FP32_TOLERANCE)


def _attempt(cand: _Candidate, x: torch.Tensor, eager: Callable[[], list[torch.Tensor]],
             tol: CheckTolerance, notes: list[str]) -> tuple[nn.Module, Callable, CheckResult] | None:
    """The candidate if it runs and passes the check (a second try when `cand.retry` allows), else None."""
    for _ in range(2):
        try:
            ref = cand.reference(eager) if cand.reference is not None else eager()
            net, autocast, result = _try(cand, x, ref, tol)
        except Exception as exc:  # noqa: BLE001 - any failure of a candidate means: use the next one
            log.warning("inference runtime: %s failed (%s: %s)", cand.name, type(exc).__name__, exc)
            failure, failed_check = f"{cand.name} unavailable", False
        else:
            if result.ok or cand.name == "torch fp32":
                return net, autocast, result
            log.warning("inference runtime: %s rejected by the check against fp32: %s", cand.name,
                        result.detail)
            failure, failed_check = f"{cand.name} failed check", True
        if not cand.retry(failed_check):
            break
    notes.append(failure)
    return None


def prepare_for_inference(
    model: StackedHourglass,
    device: torch.device | str = "cpu",
    precision: str | None = None,
    *,
    engine: str | None = None,
    tolerance: CheckTolerance = LOW_PRECISION_TOLERANCE,
    compile: bool | None = None,  # noqa: A002 - mirrors torch.compile
) -> InferenceRuntime:
    """The fastest verified way to run `model` (eval, on `device`); see the module docstring.

    `precision`: None/"auto" (env HGLABEL_PRECISION), "fp32", "bf16" or "fp16"; `engine`: None/"auto"
    (env HGLABEL_ENGINE), "openvino" or "torch". `tolerance` applies to the low-precision check; fp32
    candidates must match within FP32_TOLERANCE.
    """
    start = time.perf_counter()
    device = torch.device(device)
    model = model.eval()
    chosen = resolve_precision(device, precision)
    engine = resolve_engine(engine)
    if compile is None:
        compile = os.environ.get(COMPILE_ENV, "").strip() not in ("", "0")
    x = check_input(model, device)
    eager = _memo(lambda: _eager_reference(model, x))  # OpenVINO reads a cached copy when it has one
    candidates, notes = _candidates(model, device, chosen, engine, bool(compile))
    for cand in candidates:
        found = _attempt(cand, x, eager, tolerance, notes)
        if found is None:
            continue
        net, autocast, result = found
        rt = InferenceRuntime(net, cand.precision, autocast, device, cand.backend, result, tuple(notes),
                              time.perf_counter() - start)
        log.info("inference runtime: %s (%s), %s, start-up %.2f s", rt.description, cand.name,
                 result.detail, rt.startup_s)
        return rt
    raise RuntimeError("no inference runtime could run the model")  # unreachable: torch fp32 is the model
