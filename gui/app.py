"""`run_app(argv)`: `hglabel [FOLDER] [--skeleton S] [--checkpoint C]` opens the window."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from model.annotations.presets import PRESET_NAMES, resolve_skeleton
from model.annotations.skeleton import Skeleton, SkeletonError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hglabel", description="Keypoint annotation with a Stacked Hourglass (opens the window).",
        epilog="Headless subcommands: hglabel predict|train|import|export|eval|info|heatmaps --help",
    )
    parser.add_argument("folder", nargs="?", help="image folder to open (its project is created or reopened)")
    parser.add_argument("--skeleton", help=f"skeleton for a new project: {', '.join(PRESET_NAMES)} or a JSON "
                        "file (skeleton or COCO keypoints); asked for in a dialog when omitted")
    parser.add_argument("--checkpoint", help="checkpoint to load (own or pytorch-pose format)")
    parser.add_argument("--predict", action="store_true",
                        help="predict every unlabelled image as soon as the model is loaded")
    parser.add_argument("--demo", action="store_true",
                        help="open the bundled demo frames with the demo model and predict them")
    parser.add_argument("--settings", help="settings file (ini) instead of the user's default")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


DEMO_DIR = Path(__file__).resolve().parents[1] / "assets" / "demo"


def apply_demo(args: argparse.Namespace) -> None:
    """`--demo`: the bundled frames, skeleton and checkpoint, predicted on start."""
    args.folder = str(DEMO_DIR / "images")
    args.skeleton = args.skeleton or str(DEMO_DIR / "skeleton.json")
    args.checkpoint = args.checkpoint or str(DEMO_DIR / "checkpoint.pt")
    args.predict = True


def predict_when_model_loads(window) -> None:
    """Start "predict all unlabelled" once, when the first model has loaded."""
    session = window.session

    def start(_info) -> None:
        session.predictions.model_changed.disconnect(start)
        session.predictions.predict_unlabelled()

    session.predictions.model_changed.connect(start)


def resolve_skeleton_arg(text: str) -> Skeleton:
    """A preset name, a skeleton JSON file or a COCO keypoints file."""
    return resolve_skeleton(text)


def application(argv: list[str] | None = None) -> QApplication:
    """The running QApplication, created if needed."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName("hglabel")
    app.setOrganizationName("hglabel")
    return app  # type: ignore[return-value]


def run_app(argv: list[str]) -> int:
    """Parse argv, show the main window, run the event loop; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.demo:
        apply_demo(args)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    skeleton = None
    if args.skeleton:
        try:
            skeleton = resolve_skeleton_arg(args.skeleton)
        except SkeletonError as exc:
            print(f"hglabel: error: {exc}", file=sys.stderr)  # noqa: T201 (command-line error)
            return 2
    app = application()
    from gui.main_window import MainWindow
    from gui.settings import AppSettings

    window = MainWindow(AppSettings(args.settings) if args.settings else None)
    window.show()
    if args.folder:
        if args.predict:
            predict_when_model_loads(window)
        window.open_folder(args.folder, skeleton, args.checkpoint)
    return int(app.exec())
