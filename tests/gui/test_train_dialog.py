"""Model → Train: the dialog runs `hglabel train` in a QProcess, plots its curves, cancels cleanly, and loads
the new model into the session, which re-predicts the images not yet done."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QProcess, Qt

from gui.training.options import EXPORT_NAME, DataChoice, TrainOptions, plan_training
from gui.training.runner import LineBuffer, Outcome
from model.annotations.types import ReviewStatus
from model.infer.checkpoint import load_checkpoint
from tests.gui.helpers import open_folder
from tests.helpers import labelled_folder

LABELLED, UNLABELLED = 6, 2
# what the form does not show: a small, quiet child process (the test machine is shared)
HIDDEN = TrainOptions(device="cpu", threads=1, workers=0)
CHILD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture
def project_folder(tmp_path: Path, openfield: Path) -> Path:
    """8 openfield images; the first 6 imported from COCO (so done), the last 2 unlabelled."""
    return labelled_folder(tmp_path, openfield, LABELLED, UNLABELLED)


def open_train_dialog(qtbot, window, folder: Path):
    """Open the folder, trigger Model → Train, make the run tiny; returns the dialog once counted."""
    open_folder(qtbot, window, folder)
    window.actions_by_id["train"].trigger()
    dialog = window.train_window
    assert dialog is not None and dialog.isVisible()
    dialog.form.hidden = HIDDEN
    dialog.runner.env_overrides = dict(CHILD_ENV)
    dialog.runner.kill_after_ms = 20_000
    qtbot.waitUntil(lambda: "instances" in dialog.form.summary_label.text()
                    and "counting" not in dialog.form.summary_label.text(), timeout=5000)
    form = dialog.form
    form.fresh.setChecked(True)
    form.stacks.setValue(1)
    form.features.setValue(8)
    form.input_size.setValue(64)
    form.batch_size.setValue(2)
    form.val_share.setValue(20)
    form.minutes.setValue(0)  # by epochs: a few steps, the same on a busy machine
    return dialog


def test_line_buffer_keeps_partial_lines_and_skips_text() -> None:
    buf = LineBuffer()
    assert buf.feed(b'{"event": "step", "step": 1, "lo') == []
    (first, _), (second, text) = buf.feed(b'ss": 0.5}\nwrote 3 annotations\n{"event": "epo')
    assert first == {"event": "step", "step": 1, "loss": 0.5}
    assert second is None and text == "wrote 3 annotations"
    epoch = '{"event": "epoch", "epoch": 1}'
    assert buf.feed(b'ch", "epoch": 1}\r\n[1, 2]\n') == [(json.loads(epoch), epoch), (None, "[1, 2]")]
    assert buf.flush() == []
    buf.feed(b'{"event": "done"}')
    assert buf.flush() == [({"event": "done"}, '{"event": "done"}')]


def test_plan_exports_done_images_or_trains_on_the_project(tmp_path: Path) -> None:
    project, root, out = tmp_path / "p/project.db", tmp_path / "imgs", tmp_path / "p/models/run"
    done = plan_training(project, root, out, TrainOptions(minutes=None, epochs=3, batch_size=4, features=8,
                                                          input_size=64))
    export, train = done.commands
    assert export == ("export", str(project), "--out", str(out / EXPORT_NAME))
    assert train[:4] == ("train", str(out / EXPORT_NAME), "--images", str(root))
    flags = train[4:]
    assert flags[flags.index("--features") + 1] == "8" and flags[flags.index("--epochs") + 1] == "3"
    assert flags[flags.index("--out") + 1] == str(out)
    init = tmp_path / "current.pt"
    whole = plan_training(project, root, out, TrainOptions(data=DataChoice.CONFIRMED, init=init))
    (only,) = whole.commands
    assert only[:2] == ("train", str(project)) and only[only.index("--init") + 1] == str(init)
    assert "--features" not in only and "--input-size" not in only  # the checkpoint's own shape
    assert only[only.index("--minutes") + 1] == "5.0" and "--epochs" not in only  # by the clock by default
    fresh = plan_training(project, root, out, TrainOptions()).commands[-1]
    assert fresh[fresh.index("--init") + 1] == "none" and "--stacks" not in fresh  # the plan chooses
    with pytest.raises(ValueError, match="multiple of 64"):
        TrainOptions(input_size=100)


def test_train_run_plots_curves_and_new_model_repredicts(qtbot, window, project_folder: Path) -> None:
    dialog = open_train_dialog(qtbot, window, project_folder)
    assert dialog.form.summary_label.text().startswith(f"{LABELLED} done images, {LABELLED} instances")
    assert not dialog.form.from_current.isEnabled()  # no model loaded yet: fresh only
    dialog.form.epochs.setValue(3)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.runner.stage == "export" and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.curves.loss_points()[0].size > 0, timeout=60_000)
    dialog.curves.redraw()
    xs, ys = dialog.curves.loss_curve.getData()
    assert xs is not None and len(xs) >= 1 and np.all(np.isfinite(ys))
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=60_000)
    outcome = dialog.outcome
    assert outcome.status == Outcome.COMPLETED, (outcome.message, dialog.log_view.toPlainText())
    steps, losses = dialog.curves.loss_points()
    assert steps.tolist() == list(range(1, len(steps) + 1)) and len(steps) == dialog.progress.maximum()
    assert dialog.progress.value() == dialog.progress.maximum()
    epochs, errors = dialog.curves.val_points("mean_px_error")
    assert epochs.tolist() == [1.0, 2.0, 3.0] and np.all(errors > 0)
    store = window.session.store
    assert outcome.out_dir.parent == store.image_root / "hglabel-models"  # visible, beside the images
    assert outcome.checkpoint == outcome.out_dir / "best.pt" and (outcome.out_dir / EXPORT_NAME).is_file()
    bundle = load_checkpoint(outcome.checkpoint)
    cfg = bundle.config
    assert (cfg.stacks, cfg.features, cfg.input_size, cfg.num_keypoints) == (1, 8, (64, 64), 4)
    assert bundle.meta["train_instances"] + bundle.meta["val_instances"] == LABELLED

    assert dialog.offer.isVisible() and f"the {UNLABELLED} images not yet done" in dialog.offer_label.text()
    session = window.session
    messages: list[str] = []
    session.message.connect(messages.append)
    qtbot.mouseClick(dialog.load_button, Qt.MouseButton.LeftButton)

    def loaded() -> None:
        info = session.predictions.model_info
        assert info is not None and Path(info.path) == outcome.checkpoint, (messages,
                                                                            dialog.status_label.text())

    qtbot.waitUntil(loaded, timeout=60_000)
    todo = [r.id for r in session.records if r.status != ReviewStatus.DONE]
    assert len(todo) == UNLABELLED
    qtbot.waitUntil(lambda: all(store.image(i).status != ReviewStatus.UNLABELLED for i in todo),
                    timeout=30_000)
    assert all(store.instances(i) for i in todo)  # the new model's predictions were written
    assert dialog.form.from_current.isEnabled() and dialog.form.current_checkpoint == outcome.checkpoint


def test_cancel_stops_the_process_and_keeps_last_checkpoint(qtbot, window, project_folder: Path) -> None:
    dialog = open_train_dialog(qtbot, window, project_folder)
    dialog.form.data_box.setCurrentIndex(dialog.form.data_box.findData(DataChoice.CONFIRMED))
    dialog.form.epochs.setValue(500)
    assert dialog.start()
    assert dialog.runner.stage == "train"  # the project itself is the data: no export step
    qtbot.waitUntil(lambda: dialog.curves.loss_points()[0].size >= 2, timeout=60_000)
    process, pid = dialog.runner.process, dialog.runner.last_pid
    assert process.state() == QProcess.ProcessState.Running and pid > 0
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.text() == "Kill Now"
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=15_000)
    assert process.state() == QProcess.ProcessState.NotRunning
    assert not Path(f"/proc/{pid}").exists()  # reaped: no zombie left
    outcome = dialog.outcome
    assert outcome.status == Outcome.CANCELLED and outcome.exit_code == 130  # stopped by SIGTERM, not killed
    assert outcome.done is not None and outcome.done["stopped"] is True
    assert outcome.done["step"] < dialog.progress.maximum()
    last = outcome.out_dir / "last.pt"
    assert load_checkpoint(last).meta["step"] == outcome.done["step"]  # written on SIGTERM: resumable
    # a cancelled run is never offered as the new model
    assert outcome.checkpoint is None and not dialog.offer.isVisible()
    assert "the current model stays" in dialog.status_label.text()
    assert dialog.start_button.isEnabled() and dialog.form.isEnabled()


def test_cli_error_is_shown(qtbot, window, project_folder: Path) -> None:
    dialog = open_train_dialog(qtbot, window, project_folder)
    dialog.form.data_box.setCurrentIndex(dialog.form.data_box.findData(DataChoice.CONFIRMED))
    dialog.form.hidden = TrainOptions(device="cpu", threads=1, workers=0, extra=("--rotation", "500"))
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30_000)
    assert dialog.outcome.status == Outcome.FAILED and dialog.outcome.exit_code == 2
    assert "--rotation must be within [0, 180]" in dialog.status_label.text()
    assert dialog.log_view.isVisible() and "--rotation" in dialog.log_view.toPlainText()
    assert not dialog.offer.isVisible() and dialog.outcome.checkpoint is None


def test_form_shows_the_current_models_network_and_no_steps_before_start(qtbot, window, project_folder: Path,
                                                                         demo_eval: Path) -> None:
    open_folder(qtbot, window, project_folder)
    window.session.predictions.load_checkpoint(str(demo_eval / "checkpoint.pt"))
    qtbot.waitUntil(lambda: window.session.predictions.model_info is not None, timeout=60_000)
    window.actions_by_id["train"].trigger()
    dialog = window.train_window
    form = dialog.form
    assert form.from_current.isChecked()
    shown = (form.stacks.value(), form.features.value(), form.input_size.value())
    assert shown == (2, 64, 128) and not form.features.isEnabled()  # the demo model, not 128 / 256
    assert "steps" not in dialog.progress.text() and dialog.progress.format() == ""
    form.fresh.setChecked(True)
    assert form.features.isEnabled() and form.features.text() == "auto", form.features.text()
    options = form.options()
    assert options.init is None and options.features is None and options.minutes == pytest.approx(5.0)


def test_worse_fine_tune_keeps_the_current_model(qtbot, window, project_folder: Path,
                                                 demo_eval: Path) -> None:
    open_folder(qtbot, window, project_folder)
    session = window.session
    session.predictions.load_checkpoint(str(demo_eval / "checkpoint.pt"))
    qtbot.waitUntil(lambda: session.predictions.model_info is not None, timeout=60_000)
    before = {r.id: session.store.instances(r.id) for r in session.records if r.status != ReviewStatus.DONE}
    window.actions_by_id["train"].trigger()
    dialog = window.train_window
    dialog.form.hidden = TrainOptions(device="cpu", threads=1, workers=0, extra=("--lr", "0.05"))
    dialog.runner.env_overrides = dict(CHILD_ENV)
    qtbot.waitUntil(lambda: "counting" not in dialog.form.summary_label.text(), timeout=5000)
    form = dialog.form
    assert form.from_current.isChecked()
    form.minutes.setValue(0)
    form.epochs.setValue(2)
    form.batch_size.setValue(2)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=180_000)
    outcome = dialog.outcome
    assert outcome.status == Outcome.COMPLETED, (outcome.message, dialog.log_view.toPlainText())
    assert outcome.checkpoint is None and not dialog.offer.isVisible()
    assert dialog.status_label.text().startswith("kept the current model: ")
    assert "px on 2 validation frames" in dialog.status_label.text()
    assert Path(session.predictions.model_info.path) == demo_eval / "checkpoint.pt"
    assert {i: session.store.instances(i) for i in before} == before  # nothing re-predicted


def test_a_fine_tune_on_3_frames_the_model_already_knows_keeps_it_and_says_why(
        qtbot, window, tmp_path: Path, openfield: Path, demo_eval: Path) -> None:
    folder = labelled_folder(tmp_path, openfield, 3, 2)
    open_folder(qtbot, window, folder)
    session = window.session
    session.predictions.load_checkpoint(str(demo_eval / "checkpoint.pt"))
    qtbot.waitUntil(lambda: session.predictions.model_info is not None, timeout=60_000)
    before = {r.id: session.store.instances(r.id) for r in session.records}
    window.actions_by_id["train"].trigger()
    dialog = window.train_window
    dialog.form.hidden = HIDDEN
    dialog.runner.env_overrides = dict(CHILD_ENV)
    qtbot.waitUntil(lambda: "counting" not in dialog.form.summary_label.text(), timeout=5000)
    assert dialog.form.from_current.isChecked()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=120_000)
    outcome = dialog.outcome
    assert outcome.status == Outcome.COMPLETED, (outcome.message, dialog.log_view.toPlainText())
    assert outcome.checkpoint is None and not dialog.offer.isVisible()
    assert dialog.status_label.text().startswith(
        "kept the current model: it already places every labelled keypoint of these 3 frames")
    assert "label 6 or more" in dialog.status_label.text()
    assert Path(session.predictions.model_info.path) == demo_eval / "checkpoint.pt"
    assert {r.id: session.store.instances(r.id) for r in session.records} == before


def test_loss_curve_draws_every_step(qtbot) -> None:
    from gui.training.curves import TrainCurves

    curves = TrainCurves()
    qtbot.addWidget(curves)
    curves.resize(300, 200)
    curves.show()
    for step in range(1, 2001):
        curves.add_step({"step": step, "loss": 1.0 / step + (step % 7) * 1e-4})
    curves.redraw()
    qtbot.wait(50)
    xs, _ys = curves.loss_curve.curve.getData()  # what is drawn, after any clipping/downsampling
    assert len(xs) == 2000
