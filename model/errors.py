"""`HglabelError`: the base of the tool's own errors (bad files, bad arguments, stale edits, …).

Each carries a message for the user that names the file and the problem; the CLI prints it as one
line (exit 2) and the window shows it. Subclasses that are also ValueError / FileNotFoundError /
RuntimeError keep that second base, so callers that catch the built-in kind still work.
"""

from __future__ import annotations


class HglabelError(Exception):
    """A failure the user can act on; str(error) is the one line to show."""
