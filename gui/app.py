"""`run_app(argv)`: `hglabel [FOLDER|VIDEO] [--skeleton S] [--checkpoint C]` opens the window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from model.annotations.presets import resolve_skeleton
from model.annotations.skeleton import Skeleton, SkeletonError
from model.assets import DemoMissingError, demo_dir
from model.commands.window import build_parser


def demo_skeleton() -> Skeleton:
    return resolve_skeleton(str(demo_dir() / "skeleton.json"))


def demo_video() -> Path:
    """The bundled recording (assets/demo/video/m3v1mp4.mp4)."""
    return demo_dir() / "video" / "m3v1mp4.mp4"


def apply_demo(args) -> None:
    """`--demo`: the bundled frames (`--demo video`: the recording), skeleton, checkpoint, predicted."""
    demo = demo_dir()
    args.folder = str(demo_video() if args.demo == "video" else demo / "images")
    args.skeleton = args.skeleton or str(demo / "skeleton.json")
    args.checkpoint = args.checkpoint or str(demo / "checkpoint.pt")
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
        try:
            apply_demo(args)
        except DemoMissingError as exc:
            print(f"hglabel: error: {exc}", file=sys.stderr)  # noqa: T201 (command-line error)
            return 2
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
        from model.io.video import is_video_path

        if is_video_path(args.folder) and not Path(args.folder).is_dir():
            window.video.open_video(args.folder, skeleton, args.checkpoint)
        else:
            window.open_folder(args.folder, skeleton, args.checkpoint)
    return int(app.exec())
