"""The time plan: network/input from the device and instance sizes, steps fitted to the measured step
time, a run that ends on its budget with warm-up and decay, and one-line refusals of useless runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import model.train.plan as plan
from model.train.plan import Budget, PlanError, choose_arch
from tests.model.train.conftest import run, tiny


def test_cpu_gets_a_smaller_network_and_input_than_a_gpu() -> None:
    boxes = np.array([[0, 0, 180, 150], [10, 10, 200, 170]], float)
    cpu = choose_arch("cpu", boxes, None, None, None, None, None)
    gpu = choose_arch("cuda", boxes, None, None, None, None, None)
    assert (cpu.stacks, cpu.features, cpu.input_size) == (2, 64, 128)
    assert (gpu.features, gpu.input_size) == (128, 256)
    assert "CPU" in cpu.reason and "190 px" in cpu.reason
    small = choose_arch("cpu", np.array([[0, 0, 40, 30]], float), None, None, None, None, None)
    assert small.input_size == 64
    given = choose_arch("cuda", boxes, 1, 1, 32, 96, None)
    assert (given.stacks, given.features, given.input_size) == (1, 32, 96)
    assert choose_arch("cuda", boxes, None, None, None, None, 64).features == 64  # keeps init weights usable


def test_budget_fits_steps_to_the_measured_step_time(monkeypatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(plan.time, "monotonic", lambda: clock[0])
    budget = Budget(60.0, probe_s=5.0)
    for step in range(1, 8):
        clock[0] += 3.0 if step == 1 else 0.5  # a slow first step, then 0.5 s each
        budget.record(step)
    assert budget.probe_done()
    assert budget.step_time() == pytest.approx(0.5)
    # 6 s used, 54 s left, 4 s kept for validations: 100 more steps
    assert budget.fit(7, overhead_s=4.0) == 7 + 100
    resumed = Budget(60.0, elapsed_before=50.0)
    assert resumed.left() == pytest.approx(10.0)


class VirtualClock:
    """time.monotonic for the trainer: each optimiser step takes `per_step` seconds, nothing else takes
    time, so the plan sees the same step time however busy the machine is."""

    def __init__(self, per_step: float) -> None:
        self.now, self.per_step = 1000.0, per_step

    def __call__(self) -> float:
        return self.now

    def hook(self, event: str, _fields: dict) -> None:
        if event == "step":
            self.now += self.per_step


def test_minutes_run_ends_on_its_budget_with_warmup_and_decay(mouse12, tmp_path: Path, monkeypatch) -> None:
    skeleton, items = mouse12
    clock = VirtualClock(0.1)
    monkeypatch.setattr(plan.time, "monotonic", clock)  # the time module that plan and loop share
    cfg = tiny(tmp_path / "run", epochs=None, minutes=0.1, lr=1e-2)  # 6 s: 60 steps of 0.1 s
    _, result, rec = run(cfg, skeleton, items[:8], val=items[8:], hook=clock.hook)
    (planned,) = rec.of("plan")
    steps = rec.of("step")
    assert planned["step_time_s"] == pytest.approx(0.1)
    assert 50 <= planned["total_steps"] <= 60 and planned["warmup_steps"] == 5
    done = rec.events[-1]
    assert done["event"] == "done" and not done["stopped"] and done["elapsed_s"] <= 6.0 + 1e-6
    assert len(steps) == planned["total_steps"]
    lrs = [e["lr"] for e in steps]
    peak = int(np.argmax(lrs))
    assert 0 < peak < len(lrs) - 1 and lrs[0] < 0.5 * lrs[peak] and lrs[-1] < 0.05 * lrs[peak]
    assert len(rec.of("epoch")) >= 2 and result.best is not None  # validated on the way and at the end


def test_budget_too_short_is_refused_in_one_line(mouse12, tmp_path: Path, monkeypatch) -> None:
    skeleton, items = mouse12
    clock = VirtualClock(1.0)
    monkeypatch.setattr(plan.time, "monotonic", clock)
    with pytest.raises(PlanError, match=r"allows only \d+ optimiser steps at 1.00 s .*give at least 0.5 min"):
        run(tiny(tmp_path / "run", epochs=None, minutes=0.2), skeleton, items[:8], hook=clock.hook)
