"""`hglabel info PROJECT_OR_FOLDER`: image counts by review status, instances, skeleton."""

from __future__ import annotations

import argparse
import json

from model.commands import CommandError


def register(subparsers) -> None:
    parser = subparsers.add_parser("info", help="show a project's counts by review status")
    parser.add_argument("project", metavar="PROJECT_OR_FOLDER", help="project .db file or image folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from model.project.locate import ProjectNotFoundError, resolve_project
    from model.project.store import ProjectError, ProjectStore

    try:
        with ProjectStore.open(resolve_project(args.project)) as store:
            summary = store.summary()
            summary.update(
                project=str(store.path), image_root=str(store.image_root),
                skeleton={"name": store.skeleton.name, "keypoints": list(store.skeleton.keypoints)},
            )
    except (ProjectNotFoundError, ProjectError) as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        print(json.dumps(summary))
        return 0
    images = summary["images"]
    print(f"project     {summary['project']}")
    print(f"image root  {summary['image_root']}")
    sk = summary["skeleton"]
    print(f"skeleton    {sk['name']} ({len(sk['keypoints'])} keypoints: {', '.join(sk['keypoints'])})")
    print(f"images      {sum(images.values())} ({summary['missing_images']} missing from the folder)")
    for status, count in images.items():
        print(f"  {status:<11} {count}")
    inst = summary["instances"]
    print(f"instances   {sum(inst.values())} ({inst['human']} human, {inst['model']} model)")
    return 0
