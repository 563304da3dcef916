"""Reproduce the shipped demo model: `hglabel train` on the openfield training frames, then export it.

Step 1 runs the CLI on img0000–img0079 only (the evaluation frames img0080–img0115 are filtered out
with --images-matching) with the demo configuration; step 2 (--export) writes the run's best.pt to
assets/demo/checkpoint.pt with float16 weights (half the size; the loader copies them into the
float32 network). Evaluate with bench/demo_eval.py. Run from the repository root:

    python bench/demo_train.py --out /tmp/demo-run [--threads 1]      # ~50 min on one busy CPU core
    python bench/demo_train.py --out /tmp/demo-run --export-only
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from model.infer.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OPENFIELD = REPO.parent / "shared" / "data" / "openfield_mouse"
ASSET = REPO / "assets" / "demo" / "checkpoint.pt"
TRAIN_FRAMES = r"^img00[0-7][0-9]\.png$"  # img0000 … img0079
DEMO_OPTIONS = ["--stacks", "2", "--features", "64", "--input-size", "128", "--epochs", "60",
                "--batch-size", "8", "--lr", "1e-3", "--rotation", "180", "--val-fraction", "0.1",
                "--seed", "0"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="run folder (best.pt, last.pt, …)")
    p.add_argument("--data", type=Path, default=OPENFIELD, help="openfield_mouse folder")
    p.add_argument("--threads", default="1", help="CPU threads (1 is fastest on a shared machine)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--export-only", action="store_true", help="skip training; export --out/best.pt")
    p.add_argument("--asset", type=Path, default=ASSET)
    return p.parse_args(argv)


def train(args: argparse.Namespace) -> None:
    cmd = [sys.executable, "-m", "model.cli", "train", str(args.data / "annotations.json"),
           "--images", str(args.data / "images"), "--out", str(args.out), "--images-matching", TRAIN_FRAMES,
           "--threads", args.threads, *DEMO_OPTIONS, *(["--resume"] if args.resume else [])]
    print("running:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, cwd=REPO)


def export(run_dir: Path, asset: Path) -> None:
    """best.pt → asset with float16 floating-point tensors and a short provenance note in meta."""
    bundle = load_checkpoint(run_dir / "best.pt")
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in bundle.state_dict.items()}
    meta = {
        "epoch": bundle.meta.get("epoch"), "step": bundle.meta.get("step"), "val": bundle.meta.get("val"),
        "train": bundle.meta.get("train"), "weights_dtype": "float16",
        "trained_on": "DeepLabCut openfield-Pranav-2018-10-30 frames img0000-img0079 (LGPL-3.0), "
                      "see assets/demo/ATTRIBUTION.md",
        "torch": str(torch.__version__),
    }
    save_checkpoint(asset, half, bundle.config, bundle.skeleton, bundle.normalization, meta,
                    heatmap=bundle.heatmap)
    print(f"wrote {asset} ({asset.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.export_only:
        train(args)
    export(args.out, args.asset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
