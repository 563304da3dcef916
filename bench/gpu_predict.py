"""CUDA inference benchmark: eager fp32 against ours (the predictor's CUDA runtime: bf16 autocast +
channels_last) and ours under torch.compile (CUDA graphs), 2-stack 256×256 network, batch 1/8/64.

Median ms/image over timed iterations (CUDA synchronised, warm-up excluded), images/s, GFLOP/s (FLOPs
counted by torch) and its fraction of a bf16 matmul peak (8192³) measured in the same run. Prints a
table, then ONE JSON line. Needs a CUDA GPU; bench/gpu.sh runs it. From the repository root:

    python -m bench.gpu_predict [--batches 1 8 64] [--iters 20] [--no-compile]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench._common import flops_per_image, median  # noqa: E402
from bench.predict import network  # noqa: E402
from model.infer.runtime import prepare_for_inference  # noqa: E402


def bf16_peak(n: int = 8192, reps: int = 10) -> float:
    """GFLOP/s of an (n × n) @ (n × n) bf16 matmul, mean of `reps` after 3 warm-ups."""
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def time_ms(fn, x: torch.Tensor, iters: int) -> float:
    """Median ms per call (CUDA synchronised), 3 warm-up calls."""
    with torch.inference_mode():
        for _ in range(3):
            fn(x)
        torch.cuda.synchronize()
        times = []
        for _ in range(iters):
            t = time.perf_counter()
            fn(x)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
    return median(times) * 1e3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64])
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--no-compile", action="store_true", help="skip torch.compile (minutes of start-up)")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("bench.gpu_predict: no CUDA device")
    name = torch.cuda.get_device_name(0)
    model = network(2)
    flops = flops_per_image(model, (256, 256))
    model = model.cuda()
    t = time.perf_counter()
    rt = prepare_for_inference(model, "cuda")
    figures = {"gpu": name, "torch": torch.__version__, "ours": rt.description,
               "startup_ours_s": time.perf_counter() - t, "gflop_per_image": flops / 1e9}
    variants = {"eager fp32": model, f"ours ({rt.precision})": rt}
    if not args.no_compile:
        compiled = torch.compile(rt.model, mode="reduce-overhead")  # CUDA graphs

        def run_compiled(x: torch.Tensor) -> list[torch.Tensor]:
            with rt.autocast():
                return compiled(x.contiguous(memory_format=torch.channels_last))

        variants["ours + torch.compile"] = run_compiled
    peak = bf16_peak()
    figures["bf16_matmul_peak_gflops"] = peak
    print(f"GPU {name}, torch {torch.__version__}, bf16 matmul peak {peak / 1e3:.0f} TFLOP/s")
    print(f"{'batch':>5}  {'variant':<24} {'ms/img':>8} {'img/s':>9} {'vs eager':>8} {'TFLOP/s':>8} "
          f"{'of peak':>8}")
    for batch in args.batches:
        x = torch.randn(batch, 3, 256, 256, device="cuda")
        ms = {}
        for label, fn in variants.items():
            t = time.perf_counter()
            ms[label] = time_ms(fn, x, args.iters) / batch
            figures[f"wall_s_{label.split()[0]}_b{batch}"] = time.perf_counter() - t
        for label, value in ms.items():
            rate = flops / 1e9 / (value / 1e3)
            key = label.split(" (")[0].replace(" + ", "_").replace(" ", "_").replace(".", "_")
            figures[f"images_per_s_{key}_b{batch}"] = 1e3 / value
            figures[f"peak_fraction_{key}_b{batch}"] = rate / peak
            print(f"{batch:>5}  {label:<24} {value:>8.3f} {1e3 / value:>9.1f} "
                  f"{ms['eager fp32'] / value:>7.2f}x {rate / 1e3:>8.1f} {rate / peak:>8.1%}")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
