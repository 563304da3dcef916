"""`hglabel export PROJECT_OR_FOLDER --out COCO.json [--all] [--include-predictions] [--results]`."""

from __future__ import annotations

import argparse

from model.commands import CommandError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export", help="export a project as COCO keypoints (done images by default)"
    )
    parser.add_argument("project", metavar="PROJECT_OR_FOLDER", help="project .db file or image folder")
    parser.add_argument("--out", required=True, metavar="COCO.json", help="file to write (atomically)")
    parser.add_argument("--all", action="store_true",
                        help="every labelled image, not only those marked done (skipped images never)")
    parser.add_argument("--include-predictions", action="store_true",
                        help="also write keypoints the model set that no person confirmed")
    parser.add_argument("--results", action="store_true",
                        help="write the model's instances as a COCO results list instead")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from model.project.coco_bridge import export_coco, export_results
    from model.project.locate import ProjectNotFoundError, resolve_project
    from model.project.store import ProjectError, ProjectStore

    if args.results and (args.all or args.include_predictions):
        raise CommandError("--results writes every model instance; it takes no --all/--include-predictions")
    try:
        with ProjectStore.open(resolve_project(args.project)) as store:
            if args.results:
                report = export_results(store, args.out)
            else:
                report = export_coco(
                    store, args.out, labelled=args.all, include_predictions=args.include_predictions
                )
    except (ProjectNotFoundError, ProjectError) as exc:
        raise CommandError(str(exc)) from exc
    what = "result(s)" if args.results else "annotation(s)"
    print(f"wrote {report.annotations} {what} on {report.images} image(s) to {report.path}")
    return 0
