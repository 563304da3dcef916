"""Training loop on real frames with a tiny network: the loss falls, runs are deterministic, a stopped
run resumes to the same weights, unlabelled keypoints carry no loss, --init transfers weights."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from model.annotations.skeleton import Skeleton
from model.infer.checkpoint import load_checkpoint, save_checkpoint
from model.infer.normalization import Normalization
from model.nn.hourglass import HourglassConfig, build_hourglass
from model.train.augment import AugmentConfig
from model.train.config import ArchOptions, TrainConfig
from model.train.data import TrainItem, items_from_coco
from model.train.loop import StopFlag, Trainer, state_digest
from model.train.loss import heatmap_loss
from model.train.progress import Progress
from model.train.state import BEST, LAST, STATE, init_model
from model.train.validate import keypoint_errors, pck_metrics, validate
from tests.helpers import subset_coco


@pytest.fixture(scope="module")
def mouse(openfield: Path, tmp_path_factory) -> tuple[Skeleton, list[TrainItem]]:
    path = subset_coco(openfield, tmp_path_factory.mktemp("coco"), 8)
    return items_from_coco(path, openfield / "images")


def tiny(out: Path, **kw) -> TrainConfig:
    base = TrainConfig(out_dir=out, epochs=2, batch_size=4, lr=2e-3, warmup_steps=1, val_fraction=0.0,
                       seed=0, device="cpu", workers=0, arch=ArchOptions(1, 1, 8, 64))
    return replace(base, **kw)


class Recorder(Progress):
    """Keeps every event; optionally requests a stop after a given step."""

    def __init__(self, stop: StopFlag | None = None, stop_after: int | None = None) -> None:
        super().__init__(enabled=True, out=io.StringIO(), err=io.StringIO(), bar=False)
        self.stop, self.stop_after = stop, stop_after
        self.events: list[dict] = []

    def emit(self, event: str, **fields) -> None:
        super().emit(event, **fields)
        self.events.append(json.loads(self.out.getvalue().splitlines()[-1]))
        if self.stop is not None and event == "step" and fields["step"] == self.stop_after:
            self.stop.requested = True

    def losses(self) -> list[float]:
        return [e["loss"] for e in self.events if e["event"] == "step"]


def run(cfg: TrainConfig, skeleton, items, val=(), stop_after: int | None = None):
    stop = StopFlag()
    rec = Recorder(stop, stop_after)
    trainer = Trainer(cfg, skeleton, list(items), list(val), progress=rec, stop=stop)
    return trainer, trainer.run(), rec


def test_loss_falls_on_real_frames(mouse, tmp_path: Path) -> None:
    skeleton, items = mouse
    cfg = tiny(tmp_path / "run", epochs=3, lr=1e-2, augment=AugmentConfig(enabled=False))
    _, result, rec = run(cfg, skeleton, items[:4] * 6)  # 6 steps per epoch
    losses = rec.losses()
    assert len(losses) == 18 and not result.stopped
    # Zero-initialised heads start at the "predict nothing" error (mean square of the targets, ≈ π σ² / 16²
    # per map); learning the peaks must take it clearly below that.
    assert losses[0] == pytest.approx(np.pi / 256, rel=0.1)
    assert np.mean(losses[-3:]) < 0.65 * losses[0], losses
    kinds = [e["event"] for e in rec.events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("epoch") == 3
    assert (cfg.out_dir / LAST).is_file() and (cfg.out_dir / BEST).is_file()


def test_same_seed_same_weights(mouse, tmp_path: Path) -> None:
    skeleton, items = mouse
    digests = [state_digest(run(tiny(tmp_path / f"r{i}", epochs=1, seed=s), skeleton, items)[0].net)
               for i, s in enumerate((5, 5, 6))]
    assert digests[0] == digests[1]
    assert digests[0] != digests[2]


def test_stopped_run_resumes_to_the_uninterrupted_weights(mouse, tmp_path: Path) -> None:
    skeleton, items = mouse
    straight, _, _ = run(tiny(tmp_path / "a"), skeleton, items)
    cfg = tiny(tmp_path / "b")
    _, stopped, rec = run(cfg, skeleton, items, stop_after=1)  # mid-way through epoch 0
    assert stopped.stopped and rec.events[-1]["event"] == "done" and rec.events[-1]["stopped"] is True
    assert (cfg.out_dir / STATE).is_file() and not (cfg.out_dir / BEST).exists()
    assert load_checkpoint(cfg.out_dir / LAST).meta["batch_in_epoch"] == 1
    resumed, result, rec2 = run(replace(cfg, resume=True), skeleton, items)
    assert [e["step"] for e in rec2.events if e["event"] == "step"] == [2, 3, 4]
    assert not result.stopped and result.position.epoch == 2
    assert state_digest(resumed.net) == state_digest(straight.net)


def test_resume_without_a_run_is_refused(mouse, tmp_path: Path) -> None:
    from model.train.state import ResumeError

    skeleton, items = mouse
    with pytest.raises(ResumeError, match="nothing to resume"):
        run(tiny(tmp_path / "empty", resume=True), skeleton, items)


def test_unlabelled_keypoint_contributes_no_loss(mouse, tmp_path: Path) -> None:
    out = [torch.randn(2, 4, 8, 8, requires_grad=True) for _ in range(2)]
    target, weight = torch.rand(2, 4, 8, 8), torch.tensor([[1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0]])
    heatmap_loss(out, target, weight).backward()
    for o in out:
        assert o.grad[0, 1].abs().max() == 0 and o.grad[1, 3].abs().max() == 0
        assert o.grad[0, 0].abs().max() > 0
    # End to end: moving an unlabelled (v = 0) keypoint anywhere changes nothing in training.
    skeleton, items = mouse
    def with_snout(xy0):
        return [TrainItem(it.image_path, np.vstack([xy0, it.xy[1:]]), np.array([0, 2, 2, 2], np.int8),
                          it.box, it.image_key, it.image_size) for it in items]
    a = run(tiny(tmp_path / "a", epochs=1), skeleton, with_snout([[5.0, 5.0]]))[0]
    b = run(tiny(tmp_path / "b", epochs=1), skeleton, with_snout([[300.0, 200.0]]))[0]
    c = run(tiny(tmp_path / "c", epochs=1), skeleton, items)[0]
    assert state_digest(a.net) == state_digest(b.net) != state_digest(c.net)


def test_validation_metrics(mouse, tmp_path: Path) -> None:
    errors = keypoint_errors(np.array([[[0, 0], [3, 4]]]), np.zeros((1, 2, 2)), np.array([[2, 0]]))
    assert errors[0, 0] == 0 and np.isnan(errors[0, 1])
    m = pck_metrics(np.array([[1.0, 6.0, 12.0, np.nan]]), np.array([[0, 0, 60.0, 80.0]]))  # diagonal 100
    assert m == {"PCK@0.05": pytest.approx(1 / 3), "PCK@0.1": pytest.approx(2 / 3),
                 "mean_px_error": pytest.approx(19 / 3)}
    skeleton, items = mouse
    net = build_hourglass(HourglassConfig(num_keypoints=4, stacks=1, features=8, input_size=(64, 64)))
    net.train()
    metrics = validate(net, items[:2], net.config, skeleton, Normalization(), "cpu")
    assert set(metrics) == {"PCK@0.05", "PCK@0.1", "mean_px_error", "oks_ap"}
    assert net.training  # the live network keeps its mode


def test_init_transfers_weights_and_refits_heads(tmp_path: Path) -> None:
    mpii = Skeleton("m16", tuple(f"k{i}" for i in range(16)))
    src_cfg = HourglassConfig(num_keypoints=16, stacks=1, features=8, input_size=(64, 64))
    torch.manual_seed(1)
    src = build_hourglass(src_cfg)
    save_checkpoint(tmp_path / "src.pt", src, src_cfg, mpii, Normalization.imagenet())
    four = Skeleton("four", ("a", "b", "c", "d"))
    cfg = tiny(tmp_path / "x", init=tmp_path / "src.pt")
    net, config, norm = init_model(cfg, four)
    assert config.num_keypoints == 4 and config.features == 8 and norm == Normalization.imagenet()
    key = "hg.0.hg.0.0.0.conv2.weight"
    assert torch.equal(net.state_dict()[key], src.state_dict()[key])
    assert net.score[0].weight.shape[0] == 4 and net.score[0].weight.abs().max() == 0  # refitted head


def test_progress_writes_json_lines_and_a_bar_only_for_terminals() -> None:
    out, err = io.StringIO(), io.StringIO()
    prog = Progress(out=out, err=err, bar=True)
    prog.set_total_steps(4)
    prog.emit("step", epoch=0, step=1, loss=0.5, lr=1e-3)
    prog.emit("epoch", epoch=1, step=4, loss=0.25, val={"mean_px_error": float("nan"), "PCK@0.1": 0.5})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {"event": "step", "epoch": 0, "step": 1, "loss": 0.5, "lr": 1e-3}
    assert lines[1]["val"] == {"mean_px_error": None, "PCK@0.1": 0.5}  # NaN is not JSON
    assert "\r[#######" in err.getvalue() and "step 1/4" in err.getvalue()
    quiet_err = io.StringIO()
    Progress(out=io.StringIO(), err=quiet_err).emit("step", epoch=0, step=1, loss=0.5)
    assert quiet_err.getvalue() == ""  # a StringIO is not a terminal
    silent = io.StringIO()
    Progress(enabled=False, out=silent, err=io.StringIO(), bar=True).emit("done")
    assert silent.getvalue() == ""  # other ranks of a distributed run
