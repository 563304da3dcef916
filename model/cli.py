"""`python -m model.cli` / `hglabel SUBCOMMAND`: the headless entry point (model.commands does the work)."""

from __future__ import annotations

import sys

from model.commands import COMMANDS, CommandError, build_parser, is_subcommand, main

__all__ = ["COMMANDS", "CommandError", "build_parser", "is_subcommand", "main"]

if __name__ == "__main__":
    sys.exit(main())
