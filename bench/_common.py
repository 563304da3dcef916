"""Benchmark helpers: machine description, GEMM peaks, FLOP counting and interleaved timing."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from model.infer.runtime import cpu_supports_bf16


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> list[str]:
    """The vector-extension flags that matter for bf16 (avx512*, amx*, avx_ne_convert, avx2)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), [])
    keep = ("avx512", "amx", "avx_ne_convert", "avx_vnni", "avx2")
    return sorted({f for f in flags if f.startswith(keep)})


def machine_info() -> dict:
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "isa": torch.backends.cpu.get_cpu_capability(),
        "bf16_native": cpu_supports_bf16(),
        "flags": cpu_flags(),
    }


def _mm_seconds(dtype: torch.dtype, n: int) -> float:
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    t = time.perf_counter()
    torch.mm(a, b)
    return time.perf_counter() - t


def gemm_peak(dtype: torch.dtype, n: int = 2048, seconds: float = 2.0) -> float:
    """Best GFLOP/s of an (n × n) @ (n × n) matmul in `dtype` over about `seconds` of repeats.

    A dtype the CPU only emulates is far slower; n is then halved until one product takes ≤ seconds / 4.
    """
    _mm_seconds(dtype, 256)  # first call: library start-up
    probe = _mm_seconds(dtype, 256)
    while n > 256 and probe * (n / 256) ** 3 > seconds / 4:
        n //= 2
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    out = torch.empty(n, n, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up
    best, start, reps = float("inf"), time.perf_counter(), 0
    while reps < 3 or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - t)
        reps += 1
    return 2.0 * n**3 / best / 1e9


def flops_per_image(model: torch.nn.Module, input_size: tuple[int, int]) -> float:
    """FLOPs (2 per multiply-add) of one forward pass on a (1, 3, h, w) input, counted by torch."""
    x = torch.zeros(1, 3, input_size[1], input_size[0])
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x)
    return float(counter.get_total_flops())


def time_interleaved(variants: dict[str, tuple[Callable, torch.Tensor]], iters: int,
                     warmup: int = 1) -> dict[str, dict[str, list[float]]]:
    """Per variant, "wall" and "cpu" (process CPU time, all threads) seconds of each call; the variants
    run in turn, so load changes hit all alike."""
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in variants}
    with torch.inference_mode():
        for _ in range(warmup):
            for fn, x in variants.values():
                fn(x)
        for _ in range(iters):
            for name, (fn, x) in variants.items():
                c, t = time.process_time(), time.perf_counter()
                fn(x)
                times[name]["wall"].append(time.perf_counter() - t)
                times[name]["cpu"].append(time.process_time() - c)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable, *args, **kwargs) -> tuple[object, float]:
    """(fn(*args, **kwargs), seconds it took)."""
    t = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t
