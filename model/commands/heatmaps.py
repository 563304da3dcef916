"""`hglabel heatmaps IMAGE --checkpoint CKPT --out DIR`: the inspector's pictures, headless, as PNG files.

Writes grid.png (rows = stacks, columns = keypoints, one colour scale, the crop faded underneath),
stack_NN.png (each stack's max over keypoints on its crop, peaks marked) and uncertainty.json (the
per-keypoint scores the GUI shows). For papers and bug reports.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import cv2
import numpy as np

from model.commands import CommandError
from model.inspect.render import COLORMAPS, DEFAULT_COLORMAP, render_grid, render_stack_overlay, shared_levels
from model.inspect.uncertainty import REASONS, keypoint_uncertainty


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "heatmaps", help="write the per-stack heatmaps of one image as PNG files",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("image", type=Path, help="image file")
    parser.add_argument("--checkpoint", required=True, type=Path, help="hglabel or pytorch-pose checkpoint")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created)")
    parser.add_argument("--box", help="instance box x,y,w,h in image pixels (default: whole-image pass)")
    parser.add_argument("--skeleton", help="skeleton preset name or JSON (needed for pytorch-pose files)")
    parser.add_argument("--flip", action="store_true", help="flip test (average with the mirrored crop)")
    parser.add_argument("--cmap", default=DEFAULT_COLORMAP, choices=sorted(COLORMAPS), help="colour map")
    parser.add_argument("--cell", type=int, default=128, help="grid cell size in pixels (default 128)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.set_defaults(run=run)


def parse_box(text: str | None) -> tuple[float, float, float, float] | None:
    """'x,y,w,h' → 4 floats with w, h > 0; None passes through. Raises CommandError otherwise."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] <= 0 or values[3] <= 0:
        raise CommandError(f"--box must be x,y,w,h with positive width and height, got {text!r}")
    return values  # type: ignore[return-value]


def _write_png(path: Path, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise CommandError(f"{path}: cannot encode PNG")
    try:
        path.write_bytes(data.tobytes())
    except OSError as exc:
        raise CommandError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def _predict(args: argparse.Namespace, image: np.ndarray, box):
    from model.infer.checkpoint import CheckpointError
    from model.infer.predictor import Predictor

    try:
        predictor = Predictor(args.checkpoint, device=args.device, flip_test=args.flip,
                              skeleton=args.skeleton)
    except (CheckpointError, ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    return predictor.skeleton, predictor.predict([(image, box)], batch_size=1)[0]


def _uncertainty_report(pred, names) -> dict:
    unc = keypoint_uncertainty(pred)
    rows = []
    for k, name in enumerate(names):
        rows.append({
            "keypoint": name, "x": float(pred.keypoints[k, 0]), "y": float(pred.keypoints[k, 1]),
            "peak": float(unc.peak[k]), "stack_spread_px": float(unc.stack_px[k]),
            "flip_px": None if unc.flip_px is None else float(unc.flip_px[k]),
            "score": float(unc.score[k]), "uncertain": bool(unc.uncertain[k]),
            "reason": REASONS[int(unc.reason[k])],
        })
    return {"box": [float(v) for v in pred.box], "stack_limit_px": unc.stack_limit_px, "keypoints": rows}


def run(args: argparse.Namespace) -> int:
    from model.io.images import ImageReadError, read_image

    box = parse_box(args.box)
    if args.cell < 16:
        raise CommandError(f"--cell must be at least 16 pixels, got {args.cell}")
    try:
        image = read_image(args.image)
    except ImageReadError as exc:
        raise CommandError(str(exc)) from exc
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"{args.out}: cannot create the output folder: {exc.strerror or exc}") from exc
    skeleton, pred = _predict(args, image, box)
    names = list(skeleton.keypoints)
    levels = shared_levels(pred.stack_heatmaps)
    grid = render_grid(pred.stack_heatmaps, names, image=image, heatmap_to_image=pred.heatmap_to_image,
                       cmap=args.cmap, cell=args.cell, levels=levels)
    written = [args.out / "grid.png"]
    _write_png(written[0], grid)
    stacks = pred.stack_heatmaps.shape[0]
    for s in range(stacks):
        pic = render_stack_overlay(image, pred.stack_heatmaps[s], pred.heatmap_to_image,
                                   pred.stack_keypoints[s], names, skeleton.colors,
                                   f"stack {s + 1}/{stacks}", cmap=args.cmap, levels=levels)
        path = args.out / f"stack_{s + 1:02d}.png"
        _write_png(path, pic)
        written.append(path)
    report_path = args.out / "uncertainty.json"
    report_path.write_text(json.dumps(_uncertainty_report(pred, names), indent=2), encoding="utf-8")
    written.append(report_path)
    for path in written:
        print(path)
    return 0
