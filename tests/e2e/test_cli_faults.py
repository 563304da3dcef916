"""Fault matrix: every subcommand on a truncated, a bit-flipped, a locked and a read-only project
answers with one line (exit 2) or works (exit 0, where the fault allows it) — never a traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from model.cli import COMMANDS, main
from model.project import schema
from model.project.store import ProjectStore
from tests.conftest import DEMO_DIR
from tests.model.project.faults import imported_project, patch_bytes

REPO = Path(__file__).resolve().parents[2]


def _commands(db: Path, images: Path, out: Path, openfield: Path) -> dict[str, list[str]]:
    return {
        "info": ["info", str(db)],
        "export": ["export", str(db), "--out", str(out / "x.json")],
        "export-results": ["export", str(db), "--results", "--out", str(out / "r.json")],
        "import": ["import", str(openfield / "annotations.json"), "--images", str(images), "--project",
                   str(db), "--replace"],
        "relink": ["relink", str(db), "--images", str(images)],
        "skeleton": ["skeleton", str(db), "--add", "tail"],
        "train": ["train", str(db), "--out", str(out / "run"), "--resume", "--epochs", "1"],
        "eval": ["eval", str(db), str(db)],
        "predict": ["predict", str(images), "--checkpoint", str(db), "--out", str(out / "p.json")],
        "predict-project": ["predict", "--project", str(db), "--checkpoint", str(DEMO_DIR / "checkpoint.pt"),
                            "--which", "not-done"],
        "heatmaps": ["heatmaps", str(db), "--checkpoint", str(db), "--out", str(out / "hm")],
        "frames": ["frames", str(db), "--out", str(out / "frames")],
        "track": ["track", str(db)],
    }


NO_FILE_ARGUMENT = {"demo"}  # `hglabel demo --check` reads only the bundled demo


def test_matrix_covers_every_subcommand(tmp_path):
    covered = {argv[0] for argv in _commands(tmp_path, tmp_path, tmp_path, tmp_path).values()}
    assert covered == set(COMMANDS) - NO_FILE_ARGUMENT


# what must still work under each fault (everything else must fail with one line)
WORKS = {"locked": {"info", "export", "export-results"}, "read-only": {"info", "export", "export-results"}}
SAYS = {"truncated": "project", "bit-flipped": "damaged", "locked": "another process is writing",
        "read-only": "read-only"}
PROJECT_COMMANDS = {"info", "export", "export-results", "import", "relink", "train", "skeleton",
                    "predict-project", "track"}


def _project(openfield: Path, base: Path) -> tuple[Path, Path]:
    """The imported openfield frames plus one unlabelled image (so predict --project has work)."""
    db, images = imported_project(openfield, base)
    shutil.copy(next(images.glob("*.png")), images / "zz_new.png")
    with ProjectStore.open(db) as store:
        store.rescan()
    return db, images


def _check(fault: str, name: str, rc: int, err: str) -> None:
    assert "Traceback" not in err, f"{fault}/{name}:\n{err}"
    lines = [ln for ln in err.splitlines() if ln.startswith("hglabel ")]
    if name in WORKS.get(fault, ()):
        assert rc == 0, f"{fault}/{name}: exit {rc}: {err}"
        return
    assert rc == 2 and len(lines) == 1, f"{fault}/{name}: exit {rc}: {err}"
    if name == "train" and fault in WORKS:  # it read the project; --resume on an empty --out stops it
        assert "nothing to resume" in lines[0], f"{fault}/{name}: {lines[0]}"
    elif name in PROJECT_COMMANDS:
        assert SAYS[fault] in lines[0], f"{fault}/{name}: {lines[0]}"


def _in_process(fault: str, commands: dict, capsys) -> None:
    for name, argv in commands.items():
        rc = main(argv)
        _check(fault, name, rc, capsys.readouterr().err)


@pytest.mark.parametrize("fault", ["truncated", "bit-flipped", "locked"])
def test_fault_matrix(fault, openfield, tmp_path, capsys, monkeypatch):
    db, images = _project(openfield, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    if fault == "truncated":
        os.truncate(db, db.stat().st_size // 2)
    elif fault == "bit-flipped":
        patch_bytes(db, b"done", b"donu")
    holder = None
    if fault == "locked":  # another process's import --replace holds the write lock
        monkeypatch.setattr(schema, "BUSY_TIMEOUT_S", 0.2)
        holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        holder.create_function("hg_crc", -1, schema.row_crc)
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE images SET width = width")
    try:
        _in_process(fault, _commands(db, images, out, openfield), capsys)
    finally:
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()


def _unprivileged() -> list[str]:
    """Command prefix that runs as an ordinary user (file modes mean nothing to root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "running as root needs setpriv (util-linux) to test a read-only project"
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_fault_matrix_read_only(openfield):
    base = Path(tempfile.mkdtemp(prefix="hglabel-ro-"))
    try:
        os.chmod(base, 0o755)
        db, images = _project(openfield, base)
        out = base / "out"
        out.mkdir()
        os.chmod(out, 0o777)
        for path in (db, db.parent, images):
            os.chmod(path, 0o555 if path.is_dir() else 0o444)
        env = dict(os.environ, PYTHONPATH=str(REPO), HOME=str(out))
        for name, argv in _commands(db, images, out, openfield).items():
            proc = subprocess.run([*_unprivileged(), sys.executable, "-m", "model.cli", *argv], env=env,
                                  capture_output=True, text=True, timeout=120, cwd=str(out))
            _check("read-only", name, proc.returncode, proc.stderr)
    finally:
        for path in base.rglob("*"):
            if path.is_dir():
                os.chmod(path, 0o755)
        shutil.rmtree(base, ignore_errors=True)
