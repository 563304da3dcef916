"""Issue 9 case 6: a run's weights and its training state are one atomic unit (last.state.pt), written
on a time interval as well as at validation, so a kill at any moment leaves a run that resumes to the
same weights as an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import model.train.loop as loop_module
from model.train.loop import state_digest
from model.train.state import LAST, STATE
from tests.model.train.conftest import run, tiny


class KilledError(Exception):
    """Stands for SIGKILL: the loop gets no chance to save anything more."""


def _items(mouse12):
    skeleton, items = mouse12
    return skeleton, items[:8]  # 2 steps per epoch at batch 4


def test_kill_between_state_and_last_pt_still_resumes(mouse12, tmp_path: Path, monkeypatch) -> None:
    skeleton, items = _items(mouse12)
    straight, _, _ = run(tiny(tmp_path / "a"), skeleton, items)
    cfg = tiny(tmp_path / "b", save_every_s=0.0)  # the resumable unit after every step
    real_save = loop_module.save_checkpoint

    def save(path, *args, **kwargs):  # dies after last.state.pt of step 3, before its last.pt
        if Path(path).name == LAST and kwargs.get("meta", args[-1] if args else {}).get("step") == 3:
            raise KilledError
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(loop_module, "save_checkpoint", save)
    with pytest.raises(KilledError):
        run(cfg, skeleton, items)
    monkeypatch.setattr(loop_module, "save_checkpoint", real_save)
    state = torch.load(cfg.out_dir / STATE, weights_only=True)
    assert state["step"] == 3 and torch.load(cfg.out_dir / LAST, weights_only=True)["meta"]["step"] == 2
    resumed, result, rec = run(tiny(tmp_path / "b", resume=True), skeleton, items)
    assert [e["step"] for e in rec.of("step")] == [4]
    assert not result.stopped and state_digest(resumed.net) == state_digest(straight.net)


def test_state_is_saved_on_a_time_interval_mid_epoch(mouse12, tmp_path: Path) -> None:
    skeleton, items = _items(mouse12)
    straight, _, _ = run(tiny(tmp_path / "a"), skeleton, items)
    cfg = tiny(tmp_path / "b", save_every_s=0.0)

    def kill_at_step_2(event, fields):  # step 2 is reported before it is saved: step 1's unit is on disk
        if event == "step" and fields["step"] == 2:
            raise KilledError

    with pytest.raises(KilledError):
        run(cfg, skeleton, items, hook=kill_at_step_2)
    assert torch.load(cfg.out_dir / STATE, weights_only=True)["batch_in_epoch"] == 1  # before any epoch end
    resumed, _, rec = run(tiny(tmp_path / "b", resume=True), skeleton, items)
    assert [e["step"] for e in rec.of("step")] == [2, 3, 4]
    assert state_digest(resumed.net) == state_digest(straight.net)


def test_state_of_another_network_is_refused_in_one_line(mouse12, tmp_path: Path) -> None:
    from model.train.config import ArchOptions
    from model.train.state import ResumeError

    skeleton, items = _items(mouse12)
    cfg = tiny(tmp_path / "r", epochs=1)
    run(cfg, skeleton, items)
    with pytest.raises(ResumeError, match="same network options"):
        run(tiny(tmp_path / "r", resume=True, arch=ArchOptions(1, 1, 16, 64)), skeleton, items)
