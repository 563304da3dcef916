"""`hglabel skeleton PROJECT [--add NAME[@POS]] [--rename OLD=NEW] [--remove NAME] …`: show or change a
project's skeleton, migrating every stored instance (what it will do is printed first)."""

from __future__ import annotations

import argparse
import json

from model.commands import CommandError


def register(subparsers) -> None:
    p = subparsers.add_parser("skeleton", help="show or change a project's skeleton (instances migrate)")
    p.add_argument("project", metavar="PROJECT_OR_FOLDER", help="project .db file or image folder")
    p.add_argument("--rename", action="append", default=[],
                   metavar="OLD=NEW", help="rename a keypoint")
    p.add_argument("--remove", action="append", default=[],
                   metavar="NAME",
                   help="remove a keypoint (its labels are dropped)")
    p.add_argument("--add", action="append", default=[],
                   metavar="NAME[@POS]",
                   help="add a keypoint (not labelled in every instance); POS 1-based, default last")
    p.add_argument("--move", action="append", default=[],
                   metavar="NAME=POS", help="move a keypoint (1-based)")
    p.add_argument("--edge", action="append", default=[],
                   metavar="A,B", help="add an edge")
    p.add_argument("--remove-edge", action="append", default=[],
                   metavar="A,B", help="remove an edge")
    p.add_argument("--flip", action="append", default=[],
                   metavar="A,B", help="make A and B left/right partners")
    p.add_argument("--unflip", action="append", default=[],
                   metavar="NAME", help="remove NAME's flip pair")
    p.add_argument("--sigma", action="append", default=[],
                   metavar="NAME=S", help="OKS sigma of a keypoint")
    p.add_argument("--color", action="append", default=[],
                   metavar="NAME=#RRGGBB", help="colour of a keypoint")
    p.add_argument("--name", help="rename the skeleton (category name)")
    p.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    p.add_argument("--json", action="store_true", help="print the resulting skeleton as JSON")
    p.set_defaults(run=run)


def _pair(text: str, sep: str, option: str) -> tuple[str, str]:
    a, found, b = text.partition(sep)
    if not found or not a.strip() or not b.strip():
        raise CommandError(f"{option} {text!r}: expected two parts separated by '{sep}'")
    return a.strip(), b.strip()


def _color(text: str, option: str) -> tuple[int, int, int]:
    value = text.strip().lstrip("#")
    if len(value) != 6:
        raise CommandError(f"{option} {text!r}: expected a colour #RRGGBB")
    try:
        return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
    except ValueError:
        raise CommandError(f"{option} {text!r}: expected a colour #RRGGBB") from None


def _number(text: str, option: str, kind=float):
    try:
        return kind(text)
    except ValueError:
        raise CommandError(f"{option}: {text!r} is not a number") from None


def edit_draft(draft, args: argparse.Namespace) -> None:
    """Apply the options in a fixed order: rename, remove, add, move, edges, flip pairs, sigmas, colours."""
    for text in args.rename:
        draft.rename(*_pair(text, "=", "--rename"))
    for name in args.remove:
        draft.remove(name)
    for text in args.add:
        name, at, pos = text.partition("@")
        draft.add(name, _number(pos, "--add", int) - 1 if at else None)
    for text in args.move:
        name, pos = _pair(text, "=", "--move")
        draft.move(name, _number(pos, "--move", int) - 1)
    for text in args.edge:
        draft.add_edge(*_pair(text, ",", "--edge"))
    for text in args.remove_edge:
        draft.remove_edge(*_pair(text, ",", "--remove-edge"))
    for text in args.flip:
        draft.set_flip(*_pair(text, ",", "--flip"))
    for name in args.unflip:
        draft.clear_flip(name)
    for text in args.sigma:
        name, value = _pair(text, "=", "--sigma")
        draft.set_sigma(name, _number(value, "--sigma"))
    for text in args.color:
        name, value = _pair(text, "=", "--color")
        draft.set_color(name, _color(value, "--color"))
    if args.name:
        draft.name = args.name


def run(args: argparse.Namespace) -> int:
    from model.annotations.skeleton import SkeletonError
    from model.annotations.skeleton_draft import SkeletonDraft
    from model.project.locate import ProjectNotFoundError, resolve_project
    from model.project.skeleton_change import apply_change, plan
    from model.project.store import ProjectError, ProjectStore

    try:
        with ProjectStore.open(resolve_project(args.project)) as store:
            draft = SkeletonDraft(store.skeleton)
            edit_draft(draft, args)
            change, lines = plan(store, *draft.build())
            if not change.is_noop:
                for line in lines:
                    print(("dry run, would: " if args.dry_run else "") + line)
                if not args.dry_run:
                    apply_change(store, change)
            result = change.new if not args.dry_run else change.old
    except (ProjectNotFoundError, ProjectError, SkeletonError) as exc:
        raise CommandError(str(exc)) from exc
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        _print(result)
    return 0


def _print(sk) -> None:
    partner = {a: b for a, b in sk.flip_pairs} | {b: a for a, b in sk.flip_pairs}
    print(f"skeleton {sk.name!r}: {sk.num_keypoints} keypoints")
    for k, name in enumerate(sk.keypoints):
        flip = f"  flip ↔ {sk.keypoints[partner[k]]}" if k in partner else ""
        r, g, b = sk.colors[k]
        print(f"  {k + 1:>2}  {name:<20} sigma {sk.sigmas[k]:.3f}  #{r:02x}{g:02x}{b:02x}{flip}")
    print("edges: " + (", ".join(f"{sk.keypoints[a]}–{sk.keypoints[b]}" for a, b in sk.edges) or "none"))
