"""Which image file names a project can hold: one rule shared by the folder scan and the COCO reader.

A name the scan accepts is exported unchanged and read back unchanged by `hglabel import`, so a
project's own export is never refused. Names are relative POSIX paths under the image root.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def name_problem(name: str) -> str | None:
    """None for an acceptable relative image path, else what is wrong with it ("contains a tab …")."""
    if not isinstance(name, str) or not name:
        return "is empty"
    if _CONTROL.search(name):
        return "contains control characters (newline, tab, …)"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if "\\" in name:
        return "contains a backslash (COCO tools read it as a folder separator)"
    if name.startswith("/"):
        return "is an absolute path; file names must be relative to the image root"
    if _DRIVE.match(name):
        return "starts with a drive letter; file names must be relative"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "is not a plain path inside the image root (empty, '.' or '..' parts)"
    return None
