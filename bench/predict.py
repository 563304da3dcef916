"""Inference benchmark: hglabel's CPU runtime against eager torch, ONNX Runtime and OpenVINO, same weights.

Networks: 2 and 8 stacks at 256×256 (features 128, 16 keypoints; seeded weights, non-trivial BatchNorm
statistics) at batch 1 and 8, and the demo model (assets/demo/checkpoint.pt: 2 stacks, 64 features,
128×128, 4 keypoints: the video case). Engines, run in turn (warm-up excluded, median ms/image):
eager fp32 (torch NCHW); ONNX Runtime and OpenVINO each on the ONNX file exported once from the same
module by `torch.onnx.export`, run plainly (default options, the whole batch in one call: see
bench/_engines.py); ours = `model.infer.runtime.prepare_for_inference` (what the predictor uses).
Start-up (ONNX export, session/compile, ours with an empty and with a filled graph cache) is reported
separately. The interactive case times `Predictor.predict([(frame, None)])` (whole-image pass + crop
pass, as `P` runs it) with each engine plugged into the same predictor. GFLOP/s (FLOPs counted by torch)
are set against fp32 and bf16 GEMM peaks measured before and after (the higher kept). Accuracy: each
engine against eager fp32 on the openfield evaluation frames (bench/_accuracy.py; needs
$HGLABEL_SHARED or ../shared). Prints a table, then ONE JSON line. Run from the repository root:

    python bench/predict.py [--quick] [--stacks 2 8] [--batches 1 8] [--threads N] [--ablate]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
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
from bench._engines import export_onnx, onnxruntime_engine, openvino_engine  # noqa: E402
from model.infer import openvino_cpu  # noqa: E402
from model.infer.checkpoint import ModelBundle, build_model, load_checkpoint  # noqa: E402
from model.infer.normalization import Normalization  # noqa: E402
from model.infer.predictor import Predictor  # noqa: E402
from model.infer.runtime import LOW_PRECISION_TOLERANCE, CheckTolerance, prepare_for_inference  # noqa: E402
from model.io.images import read_image  # noqa: E402
from model.nn.hourglass import HourglassConfig, build_hourglass  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo"
EAGER, ORT, OV, OURS = "eager fp32", "ONNX Runtime", "OpenVINO", "ours"
# The seeded networks are untrained: their heatmaps have no peaks, so the start-up check's peak test says
# nothing about them and only its relative-error bound is kept. The real check runs on the trained demo
# model (its row and the accuracy section).
UNTRAINED_TOLERANCE = CheckTolerance(max_shift=float("inf"), peak_slack=1.0, max_rel_error=0.1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="few iterations: a smoke test")
    p.add_argument("--stacks", type=int, nargs="+", default=[2, 8])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    p.add_argument("--iters", type=int, default=None, help="timed iterations per engine (default by batch)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--ablate", action="store_true",
                   help="also time ours in fp32 and ours with one request at a time (no stream layout)")
    p.add_argument("--no-accuracy", action="store_true", help="skip the openfield accuracy check")
    return p.parse_args(argv)


def network(stacks: int) -> nn.Module:
    """A seeded 256×256 network with non-trivial BatchNorm statistics (speed does not depend on training)."""
    torch.manual_seed(stacks)
    model = build_hourglass(HourglassConfig(num_keypoints=16, stacks=stacks, input_size=(256, 256)))
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


def engines(model: nn.Module, tag: str, folder: Path, args: argparse.Namespace) -> tuple[dict, dict]:
    """{name: callable} for one network, and start-up figures (seconds, descriptions)."""
    onnx = folder / f"{tag}.onnx"
    figures = {f"startup_onnx_export_s_{tag}": export_onnx(model, onnx)}
    found = {EAGER: model}
    for name, make in ((ORT, onnxruntime_engine), (OV, openvino_engine)):
        peer = make(onnx)
        if peer is not None:
            found[name], took, figures[f"engine_{name}"] = peer
            figures[f"startup_{name.split()[0].lower()}_s_{tag}"] = took
    with _cache_dir(folder / "cache"):
        tol = UNTRAINED_TOLERANCE if tag != "demo" else LOW_PRECISION_TOLERANCE
        for when in ("first", "cached"):  # an empty graph cache, then the one just filled
            rt, took = timed(prepare_for_inference, model, "cpu", tolerance=tol)
            figures[f"startup_ours_{when}_s_{tag}"] = took
        found[OURS] = rt
        notes = f" ({'; '.join(rt.notes)})" if rt.notes else ""
        figures[f"ours_{tag}"] = f"{rt.backend} {rt.precision}{notes}"
        figures["precision"] = rt.precision
        if args.ablate:
            found["ours fp32"] = prepare_for_inference(model, "cpu", "fp32")
            if rt.backend == "openvino":
                single = openvino_cpu.OpenVinoNet(rt.model.graph, rt.precision, layout="single")
                found["ours, no stream layout"] = single
    return found, figures


@contextlib.contextmanager
def _cache_dir(path: Path):
    previous = os.environ.get(openvino_cpu.CACHE_ENV)
    os.environ[openvino_cpu.CACHE_ENV] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(openvino_cpu.CACHE_ENV)
        else:
            os.environ[openvino_cpu.CACHE_ENV] = previous


def time_rows(tag: str, found: dict, flops: float, args: argparse.Namespace, batches: list[int],
              size: tuple[int, int]) -> tuple[list[dict], dict]:
    rows, figures = [], {}
    for batch in batches:
        warmup, iters = iterations(args, batch)
        x = torch.randn(batch, 3, size[1], size[0])
        times = time_interleaved({k: (fn, x) for k, fn in found.items()}, iters, warmup)
        ms = {k: median(v["wall"]) / batch * 1e3 for k, v in times.items()}
        key = f"{tag}_b{batch}"
        for name, value in ms.items():
            rows.append({"config": key, "name": name, "ms": value, "speedup": ms[EAGER] / value,
                         "gflops": flops / 1e9 / (value / 1e3)})
            figures[f"ms_per_image_{name.replace(' ', '_').replace(',', '')}_{key}"] = value
        peers = [ms[n] for n in (ORT, OV) if n in ms]
        figures.update({f"speedup_{key}": ms[EAGER] / ms[OURS],
                        f"gflops_ours_{key}": flops / 1e9 / (ms[OURS] / 1e3)})
        if peers:
            figures[f"best_peer_{key}"] = min(peers)
            figures[f"ours_vs_best_peer_{key}"] = min(peers) / ms[OURS]
        print(f"  {key}: " + ", ".join(f"{k} {v:.1f}" for k, v in ms.items()) + " ms/image", flush=True)
    return rows, figures


def interactive(tag: str, model: nn.Module, found: dict, bundle: ModelBundle,
                iters: int) -> tuple[list, dict]:
    """`P` on one openfield frame (no box: whole-image pass, then the crop pass) with each engine."""
    frame = read_image(DEMO / "images" / "img0080.png")
    predictor = Predictor(bundle, device="cpu", engine="torch", network=model)
    ms = {}
    for name, fn in found.items():
        predictor.model, predictor._autocast = fn, contextlib.nullcontext
        predictor._memory_format = torch.contiguous_format
        times = []
        for i in range(iters + 2):
            _, took = timed(predictor.predict, [(frame, None)])
            times.append(took) if i >= 2 else None
        ms[name] = median(times) * 1e3
    peers = [ms[n] for n in (ORT, OV) if n in ms]
    print(f"  interactive P ({tag}): " + ", ".join(f"{k} {v:.1f}" for k, v in ms.items()) + " ms", flush=True)
    rows = [{"config": f"P {tag}", "name": k, "ms": v, "speedup": ms[EAGER] / v, "gflops": float("nan")}
            for k, v in ms.items()]
    figures = {f"interactive_ms_{k.replace(' ', '_').replace(',', '')}_{tag}": v for k, v in ms.items()}
    if peers:
        figures[f"interactive_ours_vs_best_peer_{tag}"] = min(peers) / ms[OURS]
    return rows, figures


def bundle_for(model: nn.Module, keypoints: int) -> ModelBundle:
    from model.annotations.skeleton import Skeleton

    skeleton = Skeleton(name="bench", keypoints=tuple(f"k{i}" for i in range(keypoints)))
    return ModelBundle(model.config, skeleton, Normalization.mpii(), model.state_dict(), {})


def measure_peaks(args: argparse.Namespace) -> dict[str, float]:
    seconds = 0.5 if args.quick else 2.0
    return {"fp32": gemm_peak(torch.float32, seconds=seconds),
            "bf16": gemm_peak(torch.bfloat16, seconds=seconds)}


def print_table(rows: list[dict], peaks: dict[str, float], precision_of: dict[str, str]) -> None:
    print(f"\n{'config':<10} {'engine':<24} {'ms/img':>9} {'img/s':>8} {'vs eager':>8} {'GFLOP/s':>8} "
          f"{'of peak':>8}")
    for r in rows:
        peak = peaks.get(precision_of.get(r["name"], "fp32"), float("nan"))
        print(f"{r['config']:<10} {r['name']:<24} {r['ms']:>9.1f} {1e3 / r['ms']:>8.2f} "
              f"{r['speedup']:>7.2f}x {r['gflops']:>8.1f} {r['gflops'] / peak:>8.0%}")


def run_accuracy(folder: Path) -> dict:
    """Each engine vs eager fp32 on the demo model and the openfield evaluation frames."""
    def peer(make, name):
        def build(model):
            path = folder / f"acc_{name}.onnx"
            export_onnx(model, path)
            return make(path)[0]
        return build

    with _cache_dir(folder / "cache"):
        return accuracy({OURS: lambda m: prepare_for_inference(m, "cpu"),
                         ORT: peer(onnxruntime_engine, "ort"), OV: peer(openvino_engine, "ov")}, steps=300)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    info = machine_info()
    print(f"CPU: {info['cpu']}, {info['logical_cpus']} logical CPUs, torch {info['torch']} with "
          f"{info['torch_threads']} threads, ISA {info['isa']}, native bf16: {info['bf16_native']}")
    print(f"flags: {' '.join(info['flags'])}; load average {os.getloadavg()[0]:.2f}")
    first = measure_peaks(args)
    figures: dict = {"cpu": info["cpu"], "threads": info["torch_threads"], "bf16_native": info["bf16_native"],
                     "quick": args.quick, "load_start": os.getloadavg()[0]}
    rows: list[dict] = []
    demo = build_model(load_checkpoint(DEMO / "checkpoint.pt"))
    configs = [(f"hg{s}", network(s), args.batches) for s in args.stacks] + [("demo", demo, [1, 8])]
    with tempfile.TemporaryDirectory(prefix="hglabel-bench-") as tmp:
        for tag, model, batches in configs:
            found, more = engines(model, tag, Path(tmp), args)
            figures.update(more)
            flops = flops_per_image(model, model.config.input_size)
            figures[f"gflop_per_image_{tag}"] = flops / 1e9
            new, more = time_rows(tag, found, flops, args, batches, model.config.input_size)
            rows += new
            figures.update(more)
            if tag in ("hg2", "demo"):
                new, more = interactive(tag, model, found, bundle_for(model, model.config.num_keypoints),
                                        3 if args.quick else 10)
                rows += new
                figures.update(more)
        if not args.no_accuracy:
            acc = run_accuracy(Path(tmp))
    last = measure_peaks(args)
    peaks = {k: max(first[k], last[k]) for k in first}
    figures.update({"gemm_peak_fp32_gflops": peaks["fp32"], "gemm_peak_bf16_gflops": peaks["bf16"],
                    "load_end": os.getloadavg()[0]})
    print(f"\nGEMM peak (square matmul, best of a run before and after): fp32 {peaks['fp32']:.1f} GFLOP/s, "
          f"bf16 {peaks['bf16']:.1f} GFLOP/s")
    for key in [k for k in figures if k.startswith("gflops_ours_")]:
        tag = key.replace("gflops_ours_", "")
        figures[f"peak_fraction_{tag}"] = figures[key] / peaks[figures["precision"]]
        figures[f"peak_fraction_fp32_{tag}"] = figures[key] / peaks["fp32"]
    ov_precision = figures.get(f"engine_{OV}", "fp32").split()[-1]
    print_table(rows, peaks, {OURS: figures["precision"], OV: ov_precision, "ours, no stream layout":
                              figures["precision"]})
    for tag, _, _ in configs:
        print(f"start-up {tag}: ONNX export {figures[f'startup_onnx_export_s_{tag}']:.1f} s, ONNX Runtime "
              f"{figures.get(f'startup_onnx_s_{tag}', float('nan')):.2f} s, OpenVINO compile "
              f"{figures.get(f'startup_openvino_s_{tag}', float('nan')):.2f} s; "
              f"ours ({figures[f'ours_{tag}']}) {figures[f'startup_ours_first_s_{tag}']:.1f} s first time, "
              f"{figures[f'startup_ours_cached_s_{tag}']:.2f} s cached")
    if not args.no_accuracy:
        print(f"\naccuracy on openfield img0080–img0115 ({acc['accuracy_model']}), mean error fp32 "
              f"{acc['error_fp32_px']:.3f} px:")
        for name in (OURS, ORT, OV):
            a = acc[name]
            print(f"  {name:<13} {a['error_px']:.4f} px (Δ {a['error_delta_px']:+.2g} px), max keypoint "
                  f"shift {a['max_kpt_shift_px']:.2g} px, heatmaps max |Δ| {a['max_abs_delta']:.2g} "
                  f"(of max {a['fp32_heatmap_max']:.2g})")
        figures.update({"error_fp32_px": acc["error_fp32_px"], "error_delta_px": acc[OURS]["error_delta_px"],
                        "max_kpt_shift_px": acc[OURS]["max_kpt_shift_px"], "accuracy": acc})
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
