"""Runs a training plan's `hglabel` commands in a QProcess, one after the other, without blocking the GUI.

stdout is read as JSON lines (model.train.progress): partial lines wait for their end, lines that
are not a JSON object go to the log. Events come out as Qt signals; stderr goes to the log. Cancel
sends SIGTERM (the trainer finishes its step, writes last.pt and reports "done" with "stopped") and
SIGKILL if the process is still there after `kill_after_ms`; a second cancel kills at once.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from gui.training.options import REPO_ROOT, TrainPlan, model_program

log = logging.getLogger(__name__)

BEST, LAST = "best.pt", "last.pt"  # the files `hglabel train` writes into --out


class LineBuffer:
    """Bytes in, complete lines out: each as (event dict or None, text). A partial line is kept."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[tuple[dict | None, str]]:
        lines = (self._pending + bytes(data)).split(b"\n")
        self._pending = lines.pop()
        return [parse_line(line) for line in lines if line.strip()]

    def flush(self) -> list[tuple[dict | None, str]]:
        rest, self._pending = self._pending, b""
        return [parse_line(rest)] if rest.strip() else []


def parse_line(line: bytes) -> tuple[dict | None, str]:
    """(the JSON object with an "event" key, or None; the line as text)."""
    text = line.decode("utf-8", errors="replace").rstrip("\r\n")
    try:
        value = json.loads(text)
    except ValueError:
        return None, text
    if isinstance(value, dict) and isinstance(value.get("event"), str):
        return value, text
    return None, text


class Outcome(StrEnum):
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class TrainOutcome:
    """How a run ended; `checkpoint` is the model to offer: best.pt of a completed run that beat the
    starting model, else None."""

    status: Outcome
    out_dir: Path
    checkpoint: Path | None
    done: dict | None  # the "done" event, if the trainer got that far
    exit_code: int | None
    message: str


def child_environment(overrides: dict[str, str] | None = None) -> QProcessEnvironment:
    """This process's environment + the repository on PYTHONPATH, unbuffered output, and overrides."""
    env = QProcessEnvironment.systemEnvironment()
    path = env.value("PYTHONPATH", "")
    env.insert("PYTHONPATH", str(REPO_ROOT) + (os.pathsep + path if path else ""))
    env.insert("PYTHONUNBUFFERED", "1")
    for key, value in (overrides or {}).items():
        env.insert(key, value)
    return env


class TrainRunner(QObject):
    """One run at a time. `start(plan)`, then signals; `finished` carries a TrainOutcome."""

    event = Signal(dict)  # every progress event: start, step, epoch, done
    log_text = Signal(str)  # stderr text and stdout lines that are not events
    stage_changed = Signal(str)  # the subcommand now running ("export", "train"), "" when idle
    finished = Signal(object)  # TrainOutcome

    def __init__(self, parent: QObject | None = None, env: dict[str, str] | None = None,
                 kill_after_ms: int = 30_000) -> None:
        super().__init__(parent)
        self.env_overrides = dict(env or {})
        self.kill_after_ms = kill_after_ms
        self.process: QProcess | None = None
        self.plan: TrainPlan | None = None
        self.last_pid = 0
        self._queue: list[tuple[str, ...]] = []
        self._stage = ""
        self._lines = LineBuffer()
        self._stderr_tail: list[str] = []
        self._done: dict | None = None
        self._cancelled = False
        self._kill_timer = QTimer(self, singleShot=True)
        self._kill_timer.timeout.connect(self._kill)

    # ---- control --------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    @property
    def stage(self) -> str:
        return self._stage

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def start(self, plan: TrainPlan) -> None:
        """Run plan's commands in order; refuses (RuntimeError) while a run is going on."""
        if self._stage:
            raise RuntimeError("a training run is already going on")
        self.plan, self._queue = plan, list(plan.commands)
        self._done, self._cancelled, self._stderr_tail = None, False, []
        try:
            plan.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._finish(Outcome.FAILED, None, f"{plan.out_dir}: cannot create the run folder: {exc}")
            return
        self._next()

    def cancel(self) -> None:
        """Ask the running command to stop (SIGTERM); kill it if it is still there later or if asked twice."""
        if not self.is_running():
            return
        if self._cancelled:
            self._kill()
            return
        self._cancelled = True
        self._queue.clear()
        self.log_text.emit("Stopping: the trainer finishes its step and writes last.pt …\n")
        self.process.terminate()
        self._kill_timer.start(self.kill_after_ms)

    def shutdown(self, wait_ms: int = 10_000) -> None:
        """For application exit only: stop the run and wait for it (this blocks the caller)."""
        if not self.is_running():
            return
        self._cancelled = True
        self._queue.clear()
        proc = self.process
        proc.terminate()
        if not proc.waitForFinished(wait_ms):
            proc.kill()
            proc.waitForFinished(2000)

    # ---- process --------------------------------------------------------------------------------
    def _next(self) -> None:
        args = self._queue.pop(0)
        program, lead = model_program()
        if self.process is not None:  # the previous command's process has ended; kept until now
            self.process.deleteLater()
        proc = QProcess(self)
        proc.setProcessEnvironment(child_environment(self.env_overrides))
        proc.readyReadStandardOutput.connect(lambda p=proc: self._read_stdout(p))
        proc.readyReadStandardError.connect(lambda p=proc: self._read_stderr(p))
        proc.finished.connect(lambda code, status, p=proc: self._on_finished(p, code, status))
        proc.errorOccurred.connect(lambda error, p=proc: self._on_error(p, error))
        self.process, self._lines = proc, LineBuffer()
        self._set_stage(args[0])
        self.log_text.emit(f"$ hglabel {' '.join(args)}\n")
        proc.start(program, [*lead, *args])
        self.last_pid = int(proc.processId())

    def _read_stdout(self, proc: QProcess) -> None:
        self._dispatch(self._lines.feed(proc.readAllStandardOutput().data()))

    def _read_stderr(self, proc: QProcess) -> None:
        text = proc.readAllStandardError().data().decode("utf-8", errors="replace")
        if text:
            self._stderr_tail = (self._stderr_tail + text.splitlines())[-20:]
            self.log_text.emit(text)

    def _dispatch(self, items: list[tuple[dict | None, str]]) -> None:
        for event, text in items:
            if event is None:
                self.log_text.emit(text + "\n")
                continue
            if event["event"] == "done":
                self._done = event
            self.event.emit(event)

    def _on_error(self, proc: QProcess, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and proc is self.process:
            self._kill_timer.stop()
            self._finish(Outcome.FAILED, None, f"cannot start {model_program()[0]}: {proc.errorString()}")

    def _on_finished(self, proc: QProcess, code: int, status: QProcess.ExitStatus) -> None:
        if proc is not self.process:
            return
        self._read_stderr(proc)
        self._read_stdout(proc)
        self._dispatch(self._lines.flush())
        self._kill_timer.stop()
        crashed = status == QProcess.ExitStatus.CrashExit
        exit_code = None if crashed else int(code)
        if exit_code == 0 and self._queue and not self._cancelled:
            self._next()
            return
        self._finish(*self._judge(exit_code), exit_code=exit_code)

    def _judge(self, exit_code: int | None) -> tuple[Outcome, Path | None, str]:
        """(status, the model to offer, a sentence). Only a completed run's best.pt is offered: a
        cancelled run's last.pt is for --resume, and a run that kept the current model offers nothing."""
        done = self._done or {}
        stopped = bool(done.get("stopped"))
        if exit_code == 0 and self._done is not None and not stopped:
            best = self._best()
            if done.get("kept") or best is None:
                return Outcome.COMPLETED, None, done.get("message") or "No model better than the current one"
            return Outcome.COMPLETED, best, done.get("message") or f"Finished at step {done.get('step')}"
        if self._cancelled:
            where = f" at step {done.get('step')}" if self._done else ""
            return Outcome.CANCELLED, None, (f"Stopped{where}; the current model stays (continue the run "
                                             f"with hglabel train --resume --out {self.plan.out_dir})")
        errors = [line for line in self._stderr_tail if "error" in line.lower()]
        if errors:
            reason = errors[-1].strip()
        elif exit_code is None:
            reason = f"hglabel {self._stage} was killed"
        else:
            reason = f"hglabel {self._stage} exited with code {exit_code}"
        return Outcome.FAILED, None, reason

    def _best(self) -> Path | None:
        named = (self._done or {}).get("best")
        for path in (Path(named) if named else None, self.plan.out_dir / BEST):
            if path is not None and path.is_file():
                return path
        return None

    def _finish(self, status: Outcome, checkpoint: Path | None, message: str,
                exit_code: int | None = None) -> None:
        self._queue.clear()
        self._set_stage("")
        outcome = TrainOutcome(status, self.plan.out_dir, checkpoint, self._done, exit_code, message)
        log.info("training run %s: %s (%s)", status.value, message, checkpoint)
        self.finished.emit(outcome)

    def _set_stage(self, stage: str) -> None:
        self._stage = stage
        self.stage_changed.emit(stage)

    def _kill(self) -> None:
        if self.is_running():
            self.log_text.emit("Killing the training process\n")
            self.process.kill()
