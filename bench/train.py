"""Training benchmark: samples/s of hglabel's training step against a plain eager fp32 loop, same run.

Both variants start from the same seeded network and take optimiser steps on the same real batches
(augmented openfield crops from model.train.dataset), timed in turn so that load changes on a shared
machine hit both alike. "ours" is `Trainer.train_step` exactly as `hglabel train` runs it
(channels_last, masked multi-stack MSE, learning-rate schedule; autocast + GradScaler on CUDA);
the baseline is a textbook loop (NCHW fp32, Adam, plain MSE). Optional: bf16 autocast on the CPU
(`--bf16`), to check the decision to leave it off where the CPU has no native bf16. Also reports
how fast the data pipeline alone delivers samples. Prints a table, then ONE JSON line with
train_speedup. Run from the repository root:

    python bench/train.py [--quick] [--stacks 2] [--features 64] [--input 128] [--batch 8] [--threads N]

Measured 2026-11-25 on the shared 2-core AMD EPYC VM (AVX2, no native bf16), demo configuration,
batch 8: ours 7.0 vs eager 6.9 samples/s at 1 thread (1.02x), 8.9 vs 8.7 at 2 threads (1.02x);
bf16 autocast 0.7 samples/s (0.10x, so the CPU default stays fp32); torch.compile (tried separately)
1.08x after 186 s of compiling, not worth it. On a busy machine the real lever is --threads 1: two
threads that share cores with other jobs ran the same step up to ~9x slower.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench._common import machine_info, median  # noqa: E402
from model.nn.hourglass import build_hourglass  # noqa: E402
from model.train.augment import AugmentConfig  # noqa: E402
from model.train.config import ArchOptions, TrainConfig  # noqa: E402
from model.train.data import items_from_coco  # noqa: E402
from model.train.loop import Trainer  # noqa: E402

OPENFIELD = Path(__file__).resolve().parents[2] / "shared" / "data" / "openfield_mouse"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny network, few steps: a smoke test")
    p.add_argument("--stacks", type=int, default=2)
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--input", type=int, default=128, help="square input side")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--iters", type=int, default=6, help="timed steps per variant")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--bf16", action="store_true", help="also time bf16 autocast on the CPU")
    p.add_argument("--data", type=Path, default=OPENFIELD, help="openfield_mouse folder")
    args = p.parse_args(argv)
    if args.quick:
        args.stacks, args.features, args.input, args.batch, args.iters = 1, 16, 64, 4, 3
    return args


def trainer(args: argparse.Namespace, out: Path, precision: str) -> Trainer:
    skeleton, items = items_from_coco(args.data / "annotations.json", args.data / "images")
    cfg = TrainConfig(out_dir=out, epochs=100, batch_size=args.batch, val_fraction=0.0, seed=0,
                      device="auto", workers=0, precision=precision,
                      arch=ArchOptions(args.stacks, 1, args.features, args.input), augment=AugmentConfig())
    return Trainer(cfg, skeleton, items[: max(args.batch * 4, 16)], [])


def baseline_step(model: torch.nn.Module, opt: torch.optim.Optimizer, device: torch.device):
    """A textbook step: NCHW fp32, unmasked MSE over every stack."""
    def step(batch: dict) -> float:
        x, target = batch["image"].to(device), batch["target"].to(device)
        loss = sum(torch.nn.functional.mse_loss(o, target) for o in model(x))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())
    return step


def loader_rate(tr: Trainer, batches: int) -> float:
    """Samples/s the data pipeline alone delivers (decode cached, augment, encode targets)."""
    it, t = iter(tr.loader), time.perf_counter()
    n = sum(len(next(it)["index"]) for _ in range(batches))
    return n / (time.perf_counter() - t)


def run(args: argparse.Namespace) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        ours = trainer(args, Path(tmp) / "a", "auto")
        variants = {"ours": ours.train_step}
        torch.manual_seed(0)
        base = build_hourglass(ours.config).to(ours.dev)
        base.load_state_dict(ours.net.state_dict())
        variants["eager_fp32"] = baseline_step(base, torch.optim.Adam(base.parameters(), 1e-3), ours.dev)
        if args.bf16 and ours.dev.type == "cpu":
            variants["bf16_autocast"] = trainer(args, Path(tmp) / "b", "mixed").train_step
        ours.dataset.set_epoch(0)
        batches = [b for _, b in zip(range(2), ours.loader, strict=False)]
        times: dict[str, list[float]] = {name: [] for name in variants}
        for i in range(args.iters + 1):  # the first round is warm-up
            for name, step in variants.items():
                t = time.perf_counter()
                step(batches[i % len(batches)])
                if ours.dev.type == "cuda":
                    torch.cuda.synchronize()
                if i:
                    times[name].append(time.perf_counter() - t)
        data_rate = loader_rate(ours, 3)
    rates = {name: args.batch / median(ts) for name, ts in times.items()}
    return {"rates": rates, "loader_samples_per_s": data_rate, "device": str(ours.dev),
            "config": ours.config.to_dict(), "batch": args.batch}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    res = run(args)
    rates = res["rates"]
    print(f"{'variant':<16}{'samples/s':>12}{'vs eager fp32':>16}")
    for name, rate in rates.items():
        print(f"{name:<16}{rate:>12.2f}{rate / rates['eager_fp32']:>15.2f}x")
    print(f"data pipeline alone: {res['loader_samples_per_s']:.1f} samples/s")
    summary = {
        "bench": "train", "quick": args.quick, "device": res["device"], "config": res["config"],
        "batch": res["batch"], "iters": args.iters,
        "ours_samples_per_s": rates["ours"], "eager_fp32_samples_per_s": rates["eager_fp32"],
        "bf16_autocast_samples_per_s": rates.get("bf16_autocast"),
        "loader_samples_per_s": res["loader_samples_per_s"],
        "train_speedup": rates["ours"] / rates["eager_fp32"], "machine": machine_info(),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
