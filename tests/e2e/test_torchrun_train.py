"""`hglabel train` under torchrun with 2 CPU processes (DDP, gloo): both ranks end with identical weights,
only rank 0 reports and writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from model.infer.checkpoint import load_checkpoint
from model.train.loop import DIGEST_ENV
from tests.conftest import REPO_ROOT
from tests.helpers import subset_coco


def test_two_process_ddp_keeps_ranks_identical(openfield: Path, tmp_path: Path) -> None:
    coco = subset_coco(openfield, tmp_path, 8)
    digests, out = tmp_path / "digests", tmp_path / "run"
    digests.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1", **{DIGEST_ENV: str(digests)})
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "model.cli", "train", str(coco), "--images", str(openfield / "images"), "--out", str(out),
           "--stacks", "1", "--features", "8", "--input-size", "64", "--batch-size", "2", "--epochs", "1",
           "--val-fraction", "0", "--threads", "1", "--device", "cpu", "--workers", "0", "--seed", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds.count("start") == 1 and kinds.count("done") == 1  # rank 0 only
    start = events[0]
    assert start["world_size"] == 2 and start["steps_per_epoch"] == 2  # 8 images / 2 ranks / batch 2
    assert kinds.count("step") == 2
    rank0 = (digests / "rank0.sha256").read_text().split()
    rank1 = (digests / "rank1.sha256").read_text().split()
    assert rank0 == rank1 and rank0[1] == "2"  # same weights after the same 2 steps
    assert load_checkpoint(out / "last.pt").meta["step"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "last.pt", "last.state.pt"]
