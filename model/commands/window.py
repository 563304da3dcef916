"""The window's command line, `hglabel [FOLDER|VIDEO] [--skeleton S] [--checkpoint C] [--demo] …`: parsed here
(argparse lives in model.commands only); gui.app acts on the namespace."""

from __future__ import annotations

import argparse

from model.annotations.presets import PRESET_NAMES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hglabel", description="Keypoint annotation with a Stacked Hourglass (opens the window).",
        epilog="Headless subcommands: hglabel predict|train|import|export|eval|info|heatmaps --help",
    )
    parser.add_argument("folder", nargs="?", metavar="FOLDER|VIDEO",
                        help="image folder to open (its project is created or reopened), or a video file"
                             " (its folder's project, every frame an image)")
    parser.add_argument("--skeleton", help=f"skeleton for a new project: {', '.join(PRESET_NAMES)} or a JSON "
                        "file (skeleton or COCO keypoints); asked for in a dialog when omitted")
    parser.add_argument("--checkpoint", help="checkpoint to load (own or pytorch-pose format)")
    parser.add_argument("--predict", action="store_true",
                        help="predict every unlabelled image as soon as the model is loaded")
    parser.add_argument("--demo", nargs="?", const="frames", choices=("frames", "video"),
                        help="open the bundled demo frames (or `--demo video`: the bundled 2 330-frame "
                             "recording) with the demo model and predict them")
    parser.add_argument("--settings", help="settings file (ini) instead of the user's default")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser
