"""Fast inference for a StackedHourglass: picks precision and kernels for the device, verified at start.

API (the predictor's single hook):

    rt = prepare_for_inference(model, device)        # -> InferenceRuntime
    model, precision, autocast = rt                  # unpacks as the hook's triple
    with autocast():
        heatmaps = model(x)                          # x (N, 3, H, W) float32 → S × (N, K, H/4, W/4) float32
    rt.description                                   # for the status bar, e.g. "CPU fp32", "CUDA bf16"
    rt.check                                         # CheckResult of the start-up comparison with fp32

The caller's model is never modified. Choices:
- CPU: BatchNorm folded into the preceding convolution wherever that is exact (bottleneck bn2/bn3,
  stem, `fc`), convolutions run as oneDNN kernels with the ReLU / residual add fused in, channels_last,
  batches in cache-sized sub-batches, weights prepacked in oneDNN's layout (`FusedHourglass` in
  model/infer/fused_cpu.py). bf16 when the CPU computes bf16 natively (AVX-512-BF16/AMX/AVX-NE-CONVERT,
  as oneDNN reports it), else fp32.
- Start-up: one forward pass of the plain model and of each candidate tried at half the input size
  (0.2 s for 2 stacks, 0.7 s for 8 on 2 cores); torch.compile would take 30–40 s.
- CUDA: the same BN folding in the eager model, channels_last, bf16 autocast (fp16 without bf16).
- Each candidate is compared with the plain fp32 model on one synthetic input (heatmap peak positions
  and relative error, `CheckTolerance`); a candidate that fails or raises gives way to the next one
  (low precision → fp32 fused → fp32 eager channels_last).
- Overrides: argument `precision` or env HGLABEL_PRECISION = auto|fp32|bf16|fp16; torch.compile only
  with compile=True or HGLABEL_COMPILE=1 (tens of seconds of start-up; off by default).
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

from model.infer.fused_cpu import FusedHourglass, fold_conv_bn, fused_kernels_available
from model.nn.hourglass import Bottleneck, StackedHourglass

log = logging.getLogger(__name__)

PRECISION_ENV = "HGLABEL_PRECISION"
COMPILE_ENV = "HGLABEL_COMPILE"
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
    """(1, 3, h, w) float32: smooth random blobs on a gradient, roughly the range of normalised images.

    Half the network's input size where the architecture allows it (cheaper start-up), else full size.
    """
    w, h = model.config.input_size
    multiple = model.config.stride * 2 ** model.config.depth
    if w % (2 * multiple) == 0 and h % (2 * multiple) == 0:
        w, h = w // 2, h // 2
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


# ---- BatchNorm folding -------------------------------------------------------------------------------
def _fold_into(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    w, b = fold_conv_bn(conv, bn)
    conv.weight.data = w.to(conv.weight.dtype)
    conv.bias = nn.Parameter(b.to(conv.weight.dtype), requires_grad=False)


def fold_batchnorm(model: StackedHourglass) -> StackedHourglass:
    """A copy of `model` (eval) with every BatchNorm that directly follows a conv folded into it.

    Pre-activation blocks run BN-ReLU-conv: bn1 sees the block input (also the shortcut) and stays;
    bn2 follows conv1 and bn3 follows conv2 only, so both fold, as do the stem bn1 and the `fc` BNs.
    """
    folded = copy.deepcopy(model).eval()
    _fold_into(folded.conv1, folded.bn1)
    folded.bn1 = nn.Identity()
    for module in folded.modules():
        if isinstance(module, Bottleneck):
            _fold_into(module.conv1, module.bn2)
            _fold_into(module.conv2, module.bn3)
            module.bn2, module.bn3 = nn.Identity(), nn.Identity()
    for fc in folded.fc:
        _fold_into(fc[0], fc[1])
        fc[1] = nn.Identity()
    return folded.requires_grad_(False)


# ---- choosing a runtime ---------------------------------------------------------------------------------
@dataclass
class InferenceRuntime:
    """The prepared network; unpacks as (model, precision, autocast factory) for the predictor hook."""

    model: nn.Module
    precision: str  # "fp32" | "bf16" | "fp16": what the convolutions compute in
    autocast: Callable[[], contextlib.AbstractContextManager]
    device: torch.device
    backend: str  # "fused" (oneDNN kernels) | "eager" | "compiled"
    check: CheckResult | None
    notes: tuple[str, ...] = ()  # why preferred candidates were rejected
    startup_s: float = 0.0

    def __iter__(self) -> Iterator:
        return iter((self.model, self.precision, self.autocast))

    @property
    def description(self) -> str:
        """Short status-bar text, e.g. "CPU bf16" or "CPU fp32 (bf16 failed check)"."""
        text = f"{self.device.type.upper()} {self.precision}"
        return f"{text} ({'; '.join(self.notes)})" if self.notes else text

    def __call__(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (N, 3, H, W) float32 → S heatmap tensors (N, K, H/4, W/4) float32."""
        with torch.inference_mode(), self.autocast():
            x = x.to(self.device).contiguous(memory_format=torch.channels_last)
            return [o.float() for o in self.model(x)]


@dataclass(frozen=True)
class _Candidate:
    name: str  # e.g. "bf16 fused"
    precision: str
    backend: str
    build: Callable[[], tuple[nn.Module, Callable]]


def _no_autocast() -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


def _autocast_factory(device: torch.device, precision: str) -> Callable:
    if precision == "fp32":
        return _no_autocast
    dtype = DTYPES[precision]
    return lambda: torch.autocast(device.type, dtype=dtype)


def _eager(model: StackedHourglass, device: torch.device, precision: str, compile_: bool) -> Callable:
    def build() -> tuple[nn.Module, Callable]:
        net = fold_batchnorm(model).to(memory_format=torch.channels_last)
        if compile_:
            net = torch.compile(net)
        return net, _autocast_factory(device, precision)
    return build


def _fused(model: StackedHourglass, precision: str) -> Callable:
    return lambda: (FusedHourglass(model, DTYPES[precision]), _no_autocast)


def _candidates(model: StackedHourglass, device: torch.device, precision: str,
                compile_: bool) -> list[_Candidate]:
    """Preferred first; the last one (plain fp32 eager) is always usable."""
    fused_ok = device.type == "cpu" and fused_kernels_available()
    out: list[_Candidate] = []
    if compile_:
        out.append(_Candidate(f"{precision} compiled", precision, "compiled",
                              _eager(model, device, precision, True)))
    if precision != "fp32":
        native = fused_ok and precision == "bf16" and cpu_supports_bf16()
        if native:
            out.append(_Candidate(f"{precision} fused", precision, "fused", _fused(model, precision)))
        else:
            out.append(_Candidate(f"{precision} eager", precision, "eager",
                                  _eager(model, device, precision, False)))
    if fused_ok:
        out.append(_Candidate("fp32 fused", "fp32", "fused", _fused(model, "fp32")))
    out.append(_Candidate("fp32 eager", "fp32", "eager", _eager(model, device, "fp32", False)))
    return out


def _try(cand: _Candidate, x: torch.Tensor, ref: list[torch.Tensor],
         tol: CheckTolerance) -> tuple[nn.Module, Callable, CheckResult]:
    net, autocast = cand.build()
    with torch.inference_mode(), autocast():
        out = net(x.contiguous(memory_format=torch.channels_last))
    return net, autocast, compare_heatmaps(ref, out, tol if cand.precision != "fp32" else FP32_TOLERANCE)


def prepare_for_inference(
    model: StackedHourglass,
    device: torch.device | str = "cpu",
    precision: str | None = None,
    *,
    tolerance: CheckTolerance = LOW_PRECISION_TOLERANCE,
    compile: bool | None = None,  # noqa: A002 - mirrors torch.compile
) -> InferenceRuntime:
    """The fastest verified way to run `model` (eval, on `device`); see the module docstring.

    `precision`: None/"auto" (env HGLABEL_PRECISION), "fp32", "bf16" or "fp16". `tolerance` applies to
    the low-precision check; fp32 candidates must match within FP32_TOLERANCE.
    """
    start = time.perf_counter()
    device = torch.device(device)
    model = model.eval()
    chosen = resolve_precision(device, precision)
    if compile is None:
        compile = os.environ.get(COMPILE_ENV, "").strip() not in ("", "0")
    x = check_input(model, device)
    with torch.inference_mode():
        ref = [o.float() for o in model(x)]
    notes: list[str] = []
    for cand in _candidates(model, device, chosen, bool(compile)):
        try:
            net, autocast, result = _try(cand, x, ref, tolerance)
        except Exception as exc:  # noqa: BLE001 - any failure of a candidate means: use the next one
            log.warning("inference runtime: %s failed (%s: %s)", cand.name, type(exc).__name__, exc)
            notes.append(f"{cand.name} unavailable")
            continue
        if not result.ok and cand.name != "fp32 eager":
            log.warning("inference runtime: %s rejected by the check against fp32: %s", cand.name,
                        result.detail)
            notes.append(f"{cand.name} failed check")
            continue
        rt = InferenceRuntime(net, cand.precision, autocast, device, cand.backend, result, tuple(notes),
                              time.perf_counter() - start)
        log.info("inference runtime: %s (%s), %s, start-up %.2f s", rt.description, cand.name,
                 result.detail, rt.startup_s)
        return rt
    raise RuntimeError("no inference runtime could run the model")  # unreachable: fp32 eager is the model
