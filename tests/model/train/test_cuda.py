"""Training on CUDA: autocast steps with the GradScaler, DDP on nccl (one rank, two where there are two
GPUs), `hglabel train` under torchrun. Needs a GPU: skipped elsewhere by the `cuda` marker; bench/gpu.sh
runs it (`pytest -m cuda`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from model.nn.hourglass import HourglassConfig, build_hourglass
from model.train.config import ArchOptions, TrainConfig
from model.train.data import items_from_coco
from model.train.loop import Trainer
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.cuda
GPUS = [1, 2] if torch.cuda.is_available() and torch.cuda.device_count() >= 2 else [1]


def test_autocast_training_steps(openfield: Path, tmp_path: Path) -> None:
    skeleton, items = items_from_coco(openfield / "annotations.json", openfield / "images")
    cfg = TrainConfig(out_dir=tmp_path, epochs=1, batch_size=4, val_fraction=0.0, seed=0, device="cuda",
                      workers=0, precision="auto", arch=ArchOptions(stacks=2, features=32, input_size=128))
    tr = Trainer(cfg, skeleton, items, [])
    assert tr.mixed and tr.dev.type == "cuda" and tr.scaler.is_enabled()
    before = [p.detach().clone() for p in tr.net.parameters()]
    tr.dataset.set_epoch(0)
    losses = [tr.train_step(batch) for _, batch in zip(range(3), tr.loader, strict=False)]
    assert len(losses) == 3 and all(np.isfinite(v) and v > 0 for v in losses), losses
    params = list(tr.net.parameters())
    assert all(p.dtype == torch.float32 and p.is_cuda for p in params)  # fp32 master weights
    assert any(not torch.equal(a, b) for a, b in zip(before, params, strict=True))


def test_ddp_on_nccl_one_rank(tmp_path: Path) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group("nccl", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        assert dist.get_backend() == "nccl"
        torch.manual_seed(0)
        net = build_hourglass(HourglassConfig(num_keypoints=4, stacks=2, features=16, input_size=(64, 64)))
        model = DistributedDataParallel(net.cuda().to(memory_format=torch.channels_last), device_ids=[0])
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        x = torch.randn(4, 3, 64, 64, device="cuda").contiguous(memory_format=torch.channels_last)
        target = torch.rand(4, 4, 16, 16, device="cuda")
        losses = []
        for _ in range(3):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = sum(torch.nn.functional.mse_loss(o.float(), target) for o in model(x))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss))
        assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("ranks", GPUS)
def test_train_command_under_torchrun(openfield: Path, tmp_path: Path, ranks: int) -> None:
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks),
           "-m", "model.cli", "train", str(openfield / "annotations.json"), "--images",
           str(openfield / "images"), "--out", str(out), "--stacks", "1", "--features", "16", "--input-size",
           "64", "--batch-size", "2", "--epochs", "1", "--val-fraction", "0", "--device", "cuda",
           "--workers", "0", "--seed", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=REPO_ROOT, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds.count("start") == 1 and kinds.count("done") == 1  # rank 0 only
    assert events[0]["world_size"] == ranks
    assert (out / "last.pt").is_file()
