"""The `hglabel` command's headless subcommands (predict, train, import, export, eval, info, …).

The only place that parses command lines (argparse; an import-linter contract says so). Each
subcommand lives in model/commands/<name>.py and exposes `register(subparsers)`, which adds
its parser and sets `run=function(args) -> int`. Heavy imports (torch) happen inside `run`, so
`hglabel info` starts fast. Errors that users cause end with one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sqlite3
import sys

from model.errors import HglabelError

COMMANDS = ("predict", "train", "import", "export", "eval", "info", "heatmaps", "skeleton", "relink",
            "frames", "demo", "track")


class CommandError(HglabelError):
    """A user-facing failure: the message is printed as one line and the exit code is 2."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, OSError) else f"{type(exc).__name__}: {text}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hglabel", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"model.commands.{name.replace('import', 'import_')}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("model.commands"):
                continue  # subcommand not built into this version
            raise
        module.register(sub)
    return parser


def is_subcommand(argv: list[str]) -> bool:
    """True when argv starts with a headless subcommand (or asks for help)."""
    return bool(argv) and (argv[0] in COMMANDS or argv[0] in ("-h", "--help"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except HglabelError as exc:  # CommandError, and any of the tool's own errors a command let through
        print(f"hglabel {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as exc:  # a file the command did not expect to fail: still one line
        logging.getLogger(__name__).debug("%s failed", args.command, exc_info=True)
        print(f"hglabel {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hglabel {args.command}: interrupted", file=sys.stderr)
        return 130
