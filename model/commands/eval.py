"""`hglabel eval GT.json RESULTS.json [--json]`: OKS AP/AR, PCK and pixel errors of COCO keypoint results."""

from __future__ import annotations

import argparse
import json

from model.commands import CommandError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="score COCO keypoint results against ground truth (OKS AP, PCK, pixel error)"
    )
    parser.add_argument("gt", metavar="GT.json", help="COCO keypoints ground truth")
    parser.add_argument("results", metavar="RESULTS.json",
                        help="COCO results: a list of {image_id, category_id, keypoints, score}")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--sigmas", type=float, nargs="+", metavar="S",
                        help="OKS sigmas, one per keypoint (default: the ground truth's skeleton)")
    parser.set_defaults(run=run)


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}" if percent else f"{value:.2f}"


def format_table(metrics: dict) -> str:
    """A readable text report of evaluate()'s dict."""
    counts = metrics["counts"]
    lines = [
        f"images {counts['images']}   GT instances {counts['gt_instances']}   results {counts['results']}"
        f"   matched {counts['matched_instances']}",
        "OKS   " + "   ".join(f"{name} {_fmt(metrics[name], True)}" for name in
                              ("AP", "AP50", "AP75", "AR", "AR50", "AR75")),
        f"sigmas {', '.join(f'{s:g}' for s in metrics['sigmas'])}",
        "",
        f"{'keypoint':<16}{'PCK@0.05':>10}{'PCK@0.1':>10}{'PCK@0.2':>10}{'mean px':>10}{'median px':>11}"
        f"{'labelled':>10}",
    ]
    rows = list(metrics["per_keypoint"].items()) + [("all", metrics)]
    for name, m in rows:
        lines.append(
            f"{name[:15]:<16}{_fmt(m['PCK@0.05'], True):>10}{_fmt(m['PCK@0.1'], True):>10}"
            f"{_fmt(m['PCK@0.2'], True):>10}{_fmt(m['mean_px_error']):>10}{_fmt(m['median_px_error']):>11}"
            f"{m['labelled_keypoints']:>10}"
        )
    lines.append("(AP, AR and PCK in %; PCK threshold is a fraction of the GT box diagonal)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from model.evaluation import evaluate
    from model.io.coco import CocoImportError

    try:
        metrics = evaluate(args.gt, args.results, sigmas=args.sigmas)
    except CocoImportError as exc:
        raise CommandError(str(exc)) from exc
    except ValueError as exc:  # e.g. --sigmas of the wrong length
        raise CommandError(str(exc).splitlines()[0]) from exc
    if args.json:
        print(json.dumps(metrics))
    else:
        print(format_table(metrics))
    return 0
