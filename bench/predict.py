"""Inference benchmark: the prepared runtime (model.infer.runtime) against plain eager fp32, same weights.

For 2 and 8 stacks at 256×256, batch 1 and 8: median ms/image (warm-up excluded, the two variants
timed in turn), images/s, speed-up, achieved GFLOP/s (FLOPs counted by torch) next to fp32 and bf16
GEMM peaks measured in the same run; start-up cost of the runtime; accuracy of the chosen precision
against fp32 on the openfield evaluation frames (see bench/_accuracy.py). Prints a table (its last
column is process CPU time of all threads per image, ≈ threads × wall when the machine is otherwise
idle), then ONE JSON line. Run from the repository root:

    python bench/predict.py [--quick] [--stacks 2 8] [--batches 1 8] [--threads N] [--compile]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from bench._accuracy import accuracy  # noqa: E402
from bench._common import (  # noqa: E402
    flops_per_image,
    gemm_peak,
    machine_info,
    median,
    time_interleaved,
    timed,
)
from model.infer.runtime import FusedHourglass, fold_batchnorm, prepare_for_inference  # noqa: E402
from model.nn.hourglass import HourglassConfig, build_hourglass  # noqa: E402

SIZE = (256, 256)
KEYPOINTS = 16  # MPII-sized heads, as the published pytorch-pose models


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few iterations and a short training: a smoke test")
    p.add_argument("--stacks", type=int, nargs="+", default=[2, 8])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    p.add_argument("--iters", type=int, default=None, help="timed iterations per variant (default by batch)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--precision", default=None, help="force ours to auto|fp32|bf16|fp16")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (slow start-up)")
    p.add_argument("--ablate", action="store_true",
                   help="also time eager channels_last+BN folding, fused fp32 without sub-batches, "
                   "fused fp32 without weight prepacking")
    p.add_argument("--train-steps", type=int, default=None, help="steps for the accuracy model (300)")
    p.add_argument("--no-accuracy", action="store_true", help="skip the openfield accuracy check")
    return p.parse_args(argv)


def network(stacks: int) -> nn.Module:
    """A seeded network with non-trivial BatchNorm statistics (speed does not depend on training)."""
    torch.manual_seed(stacks)
    model = build_hourglass(HourglassConfig(num_keypoints=KEYPOINTS, stacks=stacks, input_size=SIZE))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def iterations(args: argparse.Namespace, batch: int) -> tuple[int, int]:
    """(warm-up, timed) iterations for one batch size."""
    if args.iters:
        return 1, args.iters
    if args.quick:
        return 1, 2
    return (2, 10) if batch == 1 else (1, 5)


def bench_stacks(stacks: int, args: argparse.Namespace) -> tuple[dict, list[dict]]:
    """Figures (flat JSON keys) and one row per (batch, variant) for one stack count."""
    model = network(stacks)
    flops = flops_per_image(model, SIZE)
    rt, startup = timed(prepare_for_inference, model, "cpu", args.precision)
    figures = {f"gflop_per_image_hg{stacks}": flops / 1e9, f"startup_s_hg{stacks}": startup,
               f"runtime_hg{stacks}": rt.description, "precision": rt.precision}
    ours_name = f"ours ({rt.precision})"
    variants = {"eager fp32": model, ours_name: rt}
    if args.ablate:
        cl = fold_batchnorm(model).to(memory_format=torch.channels_last)
        variants["eager cl+fold fp32"] = lambda x: cl(x.contiguous(memory_format=torch.channels_last))
        variants["fused fp32 whole"] = FusedHourglass(model, micro_batch=None)
        variants["fused fp32 no-pack"] = FusedHourglass(model, prepack=False)
    if args.compile:
        compiled = torch.compile(fold_batchnorm(model).to(memory_format=torch.channels_last))

        def run_compiled(x: torch.Tensor) -> list[torch.Tensor]:
            return compiled(x.contiguous(memory_format=torch.channels_last))

        with torch.inference_mode():
            _, figures[f"compile_startup_s_hg{stacks}"] = timed(run_compiled, torch.randn(1, 3, *SIZE))
        variants["torch.compile fp32"] = run_compiled
    rows = []
    for batch in args.batches:
        warmup, iters = iterations(args, batch)
        x = torch.randn(batch, 3, *SIZE)
        times = time_interleaved({k: (fn, x) for k, fn in variants.items()}, iters, warmup)
        ms = {k: median(v["wall"]) / batch * 1e3 for k, v in times.items()}
        cpu = {k: median(v["cpu"]) / batch * 1e3 for k, v in times.items()}
        base, tag = ms["eager fp32"], f"hg{stacks}_b{batch}"
        for name, value in ms.items():
            rows.append({"stacks": stacks, "batch": batch, "name": name, "ms": value,
                         "cpu_ms": cpu[name], "speedup": base / value,
                         "gflops": flops / 1e9 / (value / 1e3),
                         "precision": rt.precision if name == ours_name else "fp32"})
        print(f"  {stacks} stacks, batch {batch}: eager {base:.1f} ms/image, ours {ms[ours_name]:.1f} "
              f"ms/image", flush=True)
        figures.update({
            f"ms_per_image_eager_{tag}": base, f"ms_per_image_ours_{tag}": ms[ours_name],
            f"images_per_s_ours_{tag}": 1e3 / ms[ours_name], f"speedup_{tag}": base / ms[ours_name],
            f"gflops_ours_{tag}": flops / 1e9 / (ms[ours_name] / 1e3),
            f"cpu_ms_per_image_eager_{tag}": cpu["eager fp32"],
            f"cpu_ms_per_image_ours_{tag}": cpu[ours_name],
        })
        if args.compile:
            figures[f"speedup_compile_{tag}"] = base / ms["torch.compile fp32"]
    return figures, rows


def measure_peaks(args: argparse.Namespace) -> dict[str, float]:
    seconds = 0.5 if args.quick else 2.0
    peaks = {"fp32": gemm_peak(torch.float32, seconds=seconds),
             "bf16": gemm_peak(torch.bfloat16, seconds=seconds)}
    peaks["fp16"] = gemm_peak(torch.float16, seconds=seconds) if args.precision == "fp16" else float("nan")
    return peaks


def print_table(rows: list[dict], peaks: dict[str, float]) -> None:
    print(f"\n{'stacks':>6} {'batch':>5}  {'variant':<20} {'ms/img':>9} {'img/s':>8} {'speedup':>8} "
          f"{'GFLOP/s':>8} {'peak':>6} {'CPU ms/img':>10}")
    for r in rows:
        print(f"{r['stacks']:>6} {r['batch']:>5}  {r['name']:<20} {r['ms']:>9.1f} {1e3 / r['ms']:>8.2f} "
              f"{r['speedup']:>7.2f}x {r['gflops']:>8.1f} {r['gflops'] / peaks[r['precision']]:>6.0%} "
              f"{r['cpu_ms']:>10.1f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    info = machine_info()
    print(f"CPU: {info['cpu']}, {info['logical_cpus']} logical CPUs, torch {info['torch']} with "
          f"{info['torch_threads']} threads, ISA {info['isa']}, native bf16: {info['bf16_native']}")
    print(f"flags: {' '.join(info['flags'])}")
    first = measure_peaks(args)
    figures: dict = {"cpu": info["cpu"], "threads": info["torch_threads"], "bf16_native": info["bf16_native"],
                     "quick": args.quick}
    if args.compile:  # a cold start: inductor's on-disk cache from earlier runs would hide compile time
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="hglabel-bench-inductor-")
    rows: list[dict] = []
    for stacks in args.stacks:
        more, new_rows = bench_stacks(stacks, args)
        figures.update(more)
        rows += new_rows
    if args.compile:
        shutil.rmtree(os.environ["TORCHINDUCTOR_CACHE_DIR"], ignore_errors=True)
    last = measure_peaks(args)  # GEMM peaks before and after; the higher is the less disturbed one
    peaks = {k: max(first[k], last[k]) for k in first}
    print(f"\nGEMM peak (square matmul, n ≤ 2048; best of a run before and after): fp32 {peaks['fp32']:.1f} "
          f"GFLOP/s, bf16 {peaks['bf16']:.1f} GFLOP/s")
    figures.update({"gemm_peak_fp32_gflops": peaks["fp32"], "gemm_peak_bf16_gflops": peaks["bf16"]})
    for key in [k for k in figures if k.startswith("gflops_ours_")]:
        figures[key.replace("gflops_ours_", "peak_fraction_")] = figures[key] / peaks[figures["precision"]]
    print_table(rows, peaks)
    for stacks in args.stacks:
        print(f"start-up of ours, {stacks} stacks ({figures[f'runtime_hg{stacks}']}): "
              f"{figures[f'startup_s_hg{stacks}']:.2f} s; {figures[f'gflop_per_image_hg{stacks}']:.1f} "
              "GFLOP/image" + (f"; torch.compile first call (batch 1, empty cache): "
                               f"{figures[f'compile_startup_s_hg{stacks}']:.1f} s" if args.compile else ""))
    if not args.no_accuracy:
        steps = args.train_steps or (60 if args.quick else 300)
        acc = accuracy(lambda m: prepare_for_inference(m, "cpu", args.precision), steps)
        figures.update(acc)
        print(f"\naccuracy on openfield img0080–img0115 ({acc['accuracy_model']}): mean error fp32 "
              f"{acc['error_fp32_px']:.3f} px, ours {acc['error_ours_px']:.3f} px "
              f"(Δ {acc['error_delta_px']:+.2g} px), max keypoint shift {acc['max_kpt_shift_px']:.2g} px")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
