"""Field-by-field checks for COCO JSON: each failure is one CocoImportError naming the file and the field.

`Fields(source)` carries the file name; every check takes `where`, the JSON path of the value
("annotations[3].keypoints"), so messages read "annotations.json: annotations[3].keypoints: …".
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from model.errors import HglabelError
from model.io.names import name_problem

MAX_ID = 2**63 - 1  # ids must fit SQLite's INTEGER
MAX_SIDE = 2**31 - 1
MAX_COORD = 1e9  # |x|, |y|, box values: beyond this a number is a corrupt file, not an image position
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN_NUMBERS = frozenset({int, float})


class CocoImportError(HglabelError, ValueError):
    """A COCO file (or dict) is malformed; the message names the file and the field."""


def describe(value: Any) -> str:
    """A short description of a JSON value for messages: 'null', 'a string', 'an object', …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    if isinstance(value, int) and value.bit_length() > 128:
        return "a huge number"  # repr() of a 5000-digit int raises ValueError in Python >= 3.11
    if isinstance(value, int | float):
        return repr(value)
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Fields:
    """Typed accessors over decoded JSON that raise CocoImportError('<source>: <where>: <problem>')."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> NoReturn:
        raise CocoImportError(f"{self.source}: {where}: {problem}" if where else f"{self.source}: {problem}")

    def obj(self, value: Any, where: str) -> dict:
        if not isinstance(value, dict):
            self.fail(where, f"expected an object, got {describe(value)}")
        return value

    def list_(self, value: Any, where: str) -> list:
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {describe(value)}")
        return value

    def key(self, obj: dict, key: str, where: str) -> Any:
        if key not in obj:
            self.fail(f"{where}.{key}" if where else key, "missing")
        return obj[key]

    def int_(self, value: Any, where: str, minimum: int = 0, maximum: int = MAX_ID) -> int:
        if not _is_number(value) or (isinstance(value, float) and not value.is_integer()):
            self.fail(where, f"expected an integer, got {describe(value)}")
        number = int(value)
        if not minimum <= number <= maximum:
            self.fail(where, f"{describe(value)} is out of range ({minimum}..{maximum})")
        return number

    def flag(self, value: Any, where: str) -> int:
        """A 0/1 field: the integers 0 and 1 or JSON's false/true (PoseTrack writes booleans)."""
        if isinstance(value, bool):
            return int(value)
        return self.int_(value, where, 0, 1)

    def num(self, value: Any, where: str, limit: float = MAX_COORD) -> float:
        if not _is_number(value):
            self.fail(where, f"expected a number, got {describe(value)}")
        try:
            number = float(value)
        except OverflowError:
            self.fail(where, "number too large")
        if not math.isfinite(number):
            self.fail(where, f"expected a finite number, got {number}")
        if abs(number) > limit:
            self.fail(where, f"{describe(value)} is out of range (|value| > {limit:g})")
        return number

    def str_(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            self.fail(where, f"expected a string, got {describe(value)}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(where, "not valid Unicode (lone surrogate)")
        return value

    def numbers(self, value: Any, where: str, length: int, what: str = "") -> np.ndarray:
        """A list of exactly `length` finite numbers (|v| <= MAX_COORD) as (length,) float64."""
        items = self.list_(value, where)
        if len(items) != length:
            self.fail(where, f"expected {length} values{what}, got {len(items)}")
        if not all(type(item) in _PLAIN_NUMBERS for item in items):  # fast path for plain JSON numbers
            for i, item in enumerate(items):
                if not _is_number(item):
                    self.fail(f"{where}[{i}]", f"expected a number, got {describe(item)}")
        try:
            arr = np.array(items, dtype=np.float64)
        except OverflowError:
            arr = np.array([self.num(v, f"{where}[{i}]") for i, v in enumerate(items)])
        bad = np.flatnonzero(~np.isfinite(arr) | (np.abs(arr) > MAX_COORD))
        if bad.size:
            i = int(bad[0])
            self.num(items[i], f"{where}[{i}]")  # raises with the precise problem
            self.fail(f"{where}[{i}]", f"{describe(items[i])} is not a usable number")
        return arr

    def pairs(self, value: Any, where: str, k: int, base: int) -> tuple[tuple[int, int], ...]:
        """A list of [a, b] index pairs, base-based (1 for COCO's skeleton, 0 for flip_pairs), as 0-based."""
        out: list[tuple[int, int]] = []
        for j, pair in enumerate(self.list_(value, where)):
            here = f"{where}[{j}]"
            if not isinstance(pair, list) or len(pair) != 2:
                self.fail(here, f"expected a pair [a, b], got {describe(pair)}")
            a, b = (self.int_(v, f"{here}[{n}]", minimum=-MAX_ID) for n, v in enumerate(pair))
            if not (base <= a < k + base and base <= b < k + base):
                self.fail(here, f"[{a}, {b}] is out of range: {base}-based indices must be "
                          f"{base}..{k - 1 + base}")
            if a == b:
                self.fail(here, f"[{a}, {b}] joins a keypoint to itself")
            out.append((a - base, b - base))
        return tuple(out)

    def file_name(self, value: Any, where: str, image_root: Path | None) -> str:
        """A relative path inside the image root, with '/' separators; refuses anything that escapes."""
        name = self.str_(value, where)
        if _CONTROL.search(name):
            self.fail(where, f"{name!r} contains control characters")
        unified = name.replace("\\", "/")  # Windows exporters write backslashes
        if unified.startswith("/"):
            self.fail(where, f"{name!r} is an absolute path; file names must be relative to the image root")
        if _DRIVE.match(unified):
            self.fail(where, f"{name!r} starts with a drive letter; file names must be relative")
        parts = [p for p in unified.split("/") if p not in ("", ".")]
        if ".." in parts:
            self.fail(where, f"{name!r} escapes the image root ('..')")
        if not parts or unified.endswith("/"):
            self.fail(where, f"{name!r} does not name a file")
        clean = "/".join(parts)
        problem = name_problem(clean)
        if problem:
            self.fail(where, f"{name!r} {problem}")
        if image_root is not None:
            self._inside(clean, name, where, image_root)
        return clean

    def _inside(self, clean: str, name: str, where: str, image_root: Path) -> None:
        try:
            root = Path(image_root).resolve()
            target = (root / clean).resolve()
        except (OSError, ValueError, RuntimeError) as exc:
            self.fail(where, f"{name!r} cannot be resolved under the image root: {exc}")
        if not target.is_relative_to(root):
            self.fail(where, f"{name!r} resolves outside the image root {root} (through a symbolic link)")
