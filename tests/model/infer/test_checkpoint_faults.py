"""Case 9: crafted checkpoint headers are refused before anything is allocated; clear messages for a
folder or FIFO named x.pt, `depth: 50` and a raw pickle (no "file an issue")."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from model.infer.checkpoint import CheckpointError, load_checkpoint
from tests.conftest import DEMO_DIR


def _with_config(tmp_path, name, **changes):
    raw = torch.load(DEMO_DIR / "checkpoint.pt", weights_only=True)
    raw["config"] = dict(raw["config"], **changes)
    torch.save(raw, tmp_path / name)
    return tmp_path / name


@pytest.mark.parametrize(("change", "says"), [
    ({"input_size": [65536, 65536]}, r"input_size \[65536, 65536\] must be two sides of 1\.\.4096"),
    ({"depth": 50}, r"depth 50 is outside 1\.\.8"),
    ({"features": 1 << 20}, r"features 1048576 is outside"),
    ({"stacks": True}, r"stacks True is outside"),
])
def test_header_bounds_refused_before_allocation(tmp_path, change, says):
    path = _with_config(tmp_path, "crafted.pt", **change)
    with pytest.raises(CheckpointError, match=rf"crafted\.pt: checkpoint header: {says}"):
        load_checkpoint(path)


def test_folder_fifo_and_raw_pickle_get_their_own_message(tmp_path):
    (tmp_path / "dir.pt").mkdir()
    os.mkfifo(tmp_path / "fifo.pt")  # opening it for reading would block: must be refused unopened
    with open(tmp_path / "raw.pt", "wb") as handle:
        pickle.dump({"state_dict": {"a": [1, 2]}}, handle, protocol=4)
    for name, says in [("dir.pt", "is a folder"), ("fifo.pt", "not a regular file"),
                       ("raw.pt", "a plain Python pickle, not a file written by torch.save")]:
        with pytest.raises(CheckpointError, match=f"{name}: {says}") as info:
            load_checkpoint(tmp_path / name)
        assert "file an issue" not in str(info.value)
