"""Label efficiency: accuracy after `--minutes M` of `hglabel train` against the old defaults, 5–80 frames.

On openfield_mouse (../shared/data): for n = 5, 10, 20, 40, 80 training frames spread evenly over
img0000–img0079, one `hglabel train --minutes M --init none` run (the demo weights are not used: the
demo model was trained on these frames) and one baseline run with the old defaults (2 stacks, 128
features, 256 px input, batch 16, lr 1e-3, 50-step warm-up, 50 epochs, 10 % validation) stopped by
SIGTERM after the same wall clock; both with the same CPU thread rule. Each model is evaluated on
img0080–img0115 (crops from the ground-truth boxes: mean px error, PCK@0.05/0.1 of the box diagonal,
OKS AP). Also: fine-tuning the demo model on 3 frames (`--init assets/demo/checkpoint.pt --minutes
F`): its error before and the error of the model the run leaves (best.pt, or the demo model when the
run kept it). Prints a table, then ONE JSON line. Run from the repository root:

    python -m bench.label_efficiency [--minutes 2.2] [--points 5 10 20 40 80] [--data DIR]

The default M keeps the whole script under 40 minutes on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench._common import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OPENFIELD = Path(os.environ.get("HGLABEL_SHARED") or ROOT.parent / "shared") / "data" / "openfield_mouse"
DEMO = ROOT / "assets" / "demo" / "checkpoint.pt"
OLD_DEFAULTS = ["--epochs", "50", "--stacks", "2", "--blocks", "1", "--features", "128",
                "--input-size", "256", "--batch-size", "16", "--lr", "1e-3", "--warmup-steps", "50",
                "--val-fraction", "0.1", "--init", "none"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=2.2, help="wall clock per training run")
    p.add_argument("--finetune-minutes", type=float, default=1.0, help="budget of the 3-frame fine-tune")
    p.add_argument("--points", type=int, nargs="+", default=[5, 10, 20, 40, 80], help="training frame counts")
    p.add_argument("--no-baseline", action="store_true", help="skip the old-defaults runs")
    p.add_argument("--data", type=Path, default=OPENFIELD, help="openfield_mouse folder")
    p.add_argument("--work", type=Path, default=None, help="folder for the runs (default: a temp folder)")
    return p.parse_args(argv)


def subset(data: Path, names: list[str], path: Path) -> Path:
    """A COCO file of `names` from data/annotations.json (images stay in data/images)."""
    coco = json.loads((data / "annotations.json").read_text())
    keep = set(names)
    images = [im for im in coco["images"] if im["file_name"] in keep]
    ids = {im["id"] for im in images}
    coco["images"] = images
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in ids]
    path.write_text(json.dumps(coco))
    return path


def spread(n: int, lo: int = 0, hi: int = 80) -> list[str]:
    """n frame names spread evenly over img{lo}…img{hi - 1}."""
    idx = np.unique(np.linspace(lo, hi, n, endpoint=False).astype(int))
    return [f"img{i:04d}.png" for i in idx]


def thread_args() -> list[str]:
    """The thread rule of `hglabel train`, decided once so that every run of the bench gets the same."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    return ["--threads", "1" if load >= cores else str(cores)]


def train(coco: Path, images: Path, out: Path, extra: list[str], wall_s: float | None) -> dict:
    """Run `hglabel train`; SIGTERM after `wall_s` (the baseline). Returns the done event (+ wall_s)."""
    cmd = [sys.executable, "-m", "model.cli", "train", str(coco), "--images", str(images), "--out", str(out),
           "--overwrite", "--workers", "0", *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.monotonic()
    with open(out.with_suffix(".jsonl"), "w") as log, open(out.with_suffix(".err"), "w") as err:
        proc = subprocess.Popen(cmd, stdout=log, stderr=err, cwd=ROOT, env=env)
        try:
            proc.wait(timeout=wall_s)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=600)
    lines = [json.loads(x) for x in out.with_suffix(".jsonl").read_text().splitlines() if x.startswith("{")]
    done = next((e for e in reversed(lines) if e["event"] == "done"), {})
    if proc.returncode not in (0, 130):
        tail = out.with_suffix(".err").read_text().strip().splitlines()[-1:]
        raise SystemExit(f"hglabel train failed ({proc.returncode}): {tail}")
    steps = max((e.get("step", 0) for e in lines if e["event"] == "step"), default=0)
    return {**done, "wall_s": time.monotonic() - t0, "steps": steps}


def evaluate(checkpoint: Path, eval_coco: Path, images: Path) -> dict:
    """Metrics of a checkpoint on the evaluation frames (crops from the ground-truth boxes)."""
    from model.infer.checkpoint import build_model, load_checkpoint
    from model.train.data import items_from_coco
    from model.train.validate import validate

    bundle = load_checkpoint(checkpoint)
    _, items = items_from_coco(eval_coco, images)
    net = build_model(bundle)
    m = validate(net, items, bundle.config, bundle.skeleton, bundle.normalization, "cpu", spec=bundle.heatmap)
    return {"mean_px": m["mean_px_error"], "pck05": m["PCK@0.05"], "pck10": m["PCK@0.1"],
            "ap": m.get("oks_ap")}


def model_of(run_dir: Path) -> Path:
    """best.pt of a run, else its last.pt (a baseline stopped before its first validation)."""
    for name in ("best.pt", "last.pt"):
        if (run_dir / name).is_file():
            return run_dir / name
    raise SystemExit(f"{run_dir}: the run left no checkpoint")


def run_point(n: int, args, work: Path, eval_coco: Path, threads: list[str]) -> dict:
    images = args.data / "images"
    coco = subset(args.data, spread(n), work / f"train{n}.json")
    row: dict = {"n": n}
    ours = train(coco, images, work / f"ours{n}",
                 ["--minutes", str(args.minutes), "--init", "none", *threads], None)
    row.update({f"{k}_{n}": v for k, v in evaluate(model_of(work / f"ours{n}"), eval_coco, images).items()})
    row[f"steps_{n}"], row[f"wall_s_{n}"] = ours["steps"], round(ours["wall_s"], 1)
    if not args.no_baseline:
        base = train(coco, images, work / f"base{n}", [*OLD_DEFAULTS, *threads], ours["wall_s"])
        metrics = evaluate(model_of(work / f"base{n}"), eval_coco, images)
        row.update({f"baseline_{k}_{n}": v for k, v in metrics.items()})
        row[f"baseline_steps_{n}"] = base["steps"]
    return row


def finetune3(args, work: Path, eval_coco: Path, threads: list[str]) -> dict:
    images = args.data / "images"
    coco = subset(args.data, spread(3), work / "train3.json")
    before = evaluate(DEMO, eval_coco, images)
    done = train(coco, images, work / "ft3", ["--minutes", str(args.finetune_minutes), "--init", str(DEMO),
                                              *threads], None)
    after = evaluate(Path(done["best"]) if done.get("best") else DEMO, eval_coco, images)
    return {"finetune3_before_px": before["mean_px"], "finetune3_after_px": after["mean_px"],
            "finetune3_kept": bool(done.get("kept")), "finetune3_message": done.get("message", "")}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.monotonic()
    work = args.work or Path(tempfile.mkdtemp(prefix="hglabel-label-eff-"))
    work.mkdir(parents=True, exist_ok=True)
    eval_coco = subset(args.data, [f"img{i:04d}.png" for i in range(80, 116)], work / "eval.json")
    threads = thread_args()
    load_start = os.getloadavg()
    print(f"minutes per run: {args.minutes:g}; fine-tune: {args.finetune_minutes:g}; threads {threads[1]}; "
          f"load {load_start[0]:.1f}; work {work}", flush=True)
    result: dict = {"minutes": args.minutes, "load_start": round(load_start[0], 2)}
    for n in args.points:
        row = run_point(n, args, work, eval_coco, threads)
        result.update({k: v for k, v in row.items() if k != "n"})
        base = row.get(f"baseline_mean_px_{n}", float("nan"))
        print(f"n={n:3d}  ours {row[f'mean_px_{n}']:7.2f} px  PCK@0.05 {row[f'pck05_{n}']:.3f}  "
              f"PCK@0.1 {row[f'pck10_{n}']:.3f}  AP {row[f'ap_{n}'] or float('nan'):.3f}  "
              f"({row[f'steps_{n}']} steps)   old defaults {base:7.2f} px "
              f"({row.get(f'baseline_steps_{n}', 0)} steps)", flush=True)
    result.update(finetune3(args, work, eval_coco, threads))
    print(f"fine-tune on 3 frames: {result['finetune3_before_px']:.2f} px before, "
          f"{result['finetune3_after_px']:.2f} px after ({result['finetune3_message']})", flush=True)
    result.update(load_end=round(os.getloadavg()[0], 2), total_min=round((time.monotonic() - t0) / 60, 1),
                  machine=machine_info())
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
