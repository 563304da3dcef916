"""`hglabel demo --check`: the bundled model predicts the bundled frames; compared with the bundled labels.

The check an installed wheel runs: it fails (exit 1) when the model's mean error on the 8 demo
frames exceeds --max-error pixels, and with exit 2 when the demo files are missing.
"""

from __future__ import annotations

import argparse
import json

from model.commands import CommandError

DEFAULT_MAX_ERROR_PX = 6.0  # the demo model reaches ~2.2 px on these frames


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="check the bundled demo: the bundled model on the bundled frames vs their labels",
        description="Predict the bundled demo frames with the bundled model (whole-image search, as the "
                    "window pre-annotates) and compare with the bundled labels.")
    parser.add_argument("--check", action="store_true", required=True,
                        help="run the check (the only mode; `hglabel --demo` opens the demo in the window)")
    parser.add_argument("--max-error", type=float, default=DEFAULT_MAX_ERROR_PX, metavar="PX",
                        help=f"fail above this mean error in pixels (default {DEFAULT_MAX_ERROR_PX:g})")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default auto")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from model.assets import DemoMissingError, demo_dir
    from model.evaluation import evaluate
    from model.infer.predictor import Predictor
    from model.io.coco import build_results, load_coco
    from model.io.images import read_image

    try:
        demo = demo_dir()
    except DemoMissingError as exc:
        raise CommandError(str(exc)) from exc
    truth = load_coco(demo / "annotations.json", image_root=demo / "images")
    predictor = Predictor(demo / "checkpoint.pt", device=args.device)
    items = [(im.id, read_image(demo / "images" / im.file_name)) for im in truth.images]
    preds = predictor.predict([(image, None) for _, image in items], batch_size=4)
    results = build_results([(image_id, _keypoints(pred), pred.score)
                             for (image_id, _), pred in zip(items, preds, strict=True)])
    scores = evaluate(demo / "annotations.json", results)
    error = scores["mean_px_error"]
    ok = error is not None and error <= args.max_error
    summary = {"demo": str(demo), "images": len(items), "mean_px_error": error,
               "PCK@0.1": scores["PCK@0.1"], "AP": scores["AP"], "max_error": args.max_error, "ok": ok}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"demo check: {len(items)} frames, mean error {error:.2f} px (limit {args.max_error:g}), "
              f"PCK@0.1 {scores['PCK@0.1']:.3f}, AP {scores['AP']:.3f} — {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


def _keypoints(pred):
    from model.annotations.types import Keypoints

    return Keypoints(pred.keypoints, [2] * len(pred.keypoints), pred.confidence)
