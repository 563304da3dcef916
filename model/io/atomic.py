"""The one way hglabel replaces a file: a temp file in the same folder, fsync, os.replace, fsync the folder.

A crash or kill leaves either the old file or the complete new one, never half of one; a replaced
file keeps its permission bits. JSON, text, checkpoints (torch.save into the handle) and copies
all go through `replacing`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[IO[bytes]]:
    """Yield a binary handle; when the block ends without error its bytes become `path` atomically."""
    path = Path(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with replacing(path) as handle:
        handle.write(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> None:
    """data as UTF-8 JSON; NaN/inf → ValueError before anything is written."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, allow_nan=False))


def copy_atomic(src: str | Path, dst: str | Path) -> None:
    """Copy src so that dst is either the old or the complete new file."""
    with open(src, "rb") as source, replacing(dst) as handle:
        shutil.copyfileobj(source, handle)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; elsewhere a no-op)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
