"""The main window: wiring of canvas, image list, menus (from gui.actions), status bar and the session."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QToolBar

from gui.actions import MENUS, SELECT_KEYPOINT_KEYS, build_actions, spec
from gui.dialogs.evaluate import EvaluateDialog
from gui.dialogs.export import ExportDialog
from gui.dialogs.keybindings import ShortcutKeys
from gui.dialogs.new_project import NewProjectDialog
from gui.dialogs.settings import SettingsDialog
from gui.dialogs.shortcuts import ShortcutsDialog
from gui.folders import default_export_path, models_dir
from gui.heap import freeze_startup_heap
from gui.import_coco import ImportCocoFlow
from gui.inspector.controller import InspectorController
from gui.item_models.image_list import ImageListModel
from gui.keypoint_panel import KeypointPanel
from gui.panels import ImageListPanel, StatusPanel, ThresholdControl
from gui.project_open import ProjectOpener, has_project, orphaned_project
from gui.session import Session
from gui.settings import AppSettings
from gui.skeleton_edit import SkeletonEditFlow
from gui.tracks import TrackActions
from gui.training.dialog import TrainDialog
from gui.video import VideoController, with_timeline
from gui.views.canvas import ImageCanvas
from gui.workers.inference import InferenceClient, ModelInfo
from gui.workers.thumbnails import ThumbnailLoader
from model.annotations.review import ReviewPolicy
from model.annotations.skeleton import Skeleton

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """One project at a time. `session` holds the state; this class connects it to the widgets."""

    def __init__(self, settings: AppSettings | None = None) -> None:
        freeze_startup_heap()
        super().__init__()
        self.settings = settings or AppSettings()
        self.session = Session(parent=self)
        self.session.set_style(self.settings.style())
        self.session.set_review(self.settings.review())
        self.inference = InferenceClient(lambda: self.session.store, parent=self)
        self.session.predictions.attach(self.inference)
        self.thumbnails = ThumbnailLoader(parent=self)
        self.list_model = ImageListModel(self.thumbnails, self)
        self.opener = ProjectOpener(self)
        self.canvas = ImageCanvas()
        self.canvas.keep_zoom = self.settings.keep_zoom()
        self.list_panel = ImageListPanel(self.list_model)
        dock = QDockWidget("Images", self, objectName="images_dock")
        dock.setWidget(self.list_panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.status = StatusPanel(self)
        self.setStatusBar(self.status)
        self.inspector = InspectorController(self)  # heatmap dock, overlay, uncertainty
        self.video = VideoController(self)  # timeline under the canvas for video frames
        self.setCentralWidget(with_timeline(self.canvas, self.video.timeline))
        self.keypoint_panel = KeypointPanel(self.session, self.inspector.uncertainty_scores, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.keypoint_panel)
        self.skeleton_flow = SkeletonEditFlow(self)
        self.import_flow = ImportCocoFlow(self)
        self.evaluate_window: EvaluateDialog | None = None
        self.tracks = TrackActions(self.session, self)
        self.actions_by_id = build_actions(self, self._handlers())
        self.keys = ShortcutKeys(self)  # the user's bindings (Settings → Keyboard Shortcuts)
        self._build_menus()
        self._build_toolbar()
        self._connect()
        self._add_panel_toggles()
        self._pending_checkpoint: str | None = None
        self.export_window: ExportDialog | None = None
        self.error_box: QMessageBox | None = None
        self.train_window: TrainDialog | None = None
        self.assist = None  # gui.training.assist.Assist, made when first switched on
        self.update_title()
        self.resize(1400, 900)
        self._size_docks()

    def _size_docks(self) -> None:
        """Start with narrow side docks so the canvas gets most of the width."""
        docks = self.findChildren(QDockWidget)
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        widths = [290 if self.dockWidgetArea(d) == left else 380 for d in docks]
        self.resizeDocks(docks, widths, Qt.Orientation.Horizontal)

    # ---- construction ---------------------------------------------------------------------------
    def _handlers(self) -> dict:
        s, e, q = self.session, self.session.editor, self.session.predictions
        return {
            "open_folder": self.choose_folder, "export_coco": self.export_dialog,
            "settings": self.settings_dialog, "quit": self.close,
            "undo": s.undo_stack.undo, "redo": s.undo_stack.redo,
            "cycle_visibility": e.cycle_visibility, "delete_keypoint": e.delete_keypoint,
            "accept_prediction": e.accept_prediction, "delete_instance": e.delete_instance,
            "mark_done": e.mark_done, "skip_image": e.skip_image,
            "next_image": lambda: s.step(1), "previous_image": lambda: s.step(-1),
            "next_review": s.next_needing_review, "next_instance": e.next_instance,
            "fit_view": self.canvas.fit,
            "load_checkpoint": self.choose_checkpoint, "predict_image": q.predict_current,
            "predict_all": q.predict_unlabelled, "cancel_prediction": q.cancel_batch,
            "train": self.train_dialog, "toggle_flip_test": q.toggle_flip_test,
            "toggle_assist": self.toggle_assist,
            "next_maximum": lambda: e.tab_maximum(1), "previous_maximum": lambda: e.tab_maximum(-1),
            "swap_flip": e.swap_flip,
            "shortcuts": self.shortcuts_dialog, **self.inspector.handlers(),
            "edit_skeleton": self.skeleton_flow.open,
            "import_coco": self.import_flow.choose, "evaluate": self.evaluate_dialog,
            "previous_keypoint": lambda: self.keypoint_panel.step(-1),
            "next_keypoint": lambda: self.keypoint_panel.step(1),
            **self.video.handlers(), **self.tracks.handlers(),
        }

    def _build_menus(self) -> None:
        menus = self.menus = {name: self.menuBar().addMenu("&" + name) for name in MENUS}
        for action_id, action in self.actions_by_id.items():
            menus[spec(action_id).menu].addAction(action)
            self.addAction(action)
        self.recent_menu = menus["File"].addMenu("Recent Folders")
        menus["File"].insertMenu(self.actions_by_id["export_coco"], self.recent_menu)
        self._fill_recent()
        for i, key in enumerate(SELECT_KEYPOINT_KEYS):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.activated.connect(lambda k=i: self.session.editor.select_keypoint(k))

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self, objectName="main_toolbar")
        for action_id in ("open_folder", "predict_image", "predict_all", "accept_prediction", "mark_done"):
            bar.addAction(self.actions_by_id[action_id])
        bar.addSeparator()
        self.threshold = ThresholdControl(self.session.review.threshold)
        bar.addWidget(self.threshold)
        self.addToolBar(bar)

    def _add_panel_toggles(self) -> None:
        """View menu: one check item per dock and toolbar, so a closed panel comes back from the menu."""
        view = self.menus["View"]
        view.addSeparator()
        for widget in (*self.findChildren(QDockWidget), *self.findChildren(QToolBar)):
            toggle = widget.toggleViewAction()
            suffix = " Toolbar" if isinstance(widget, QToolBar) else ""
            toggle.setText(f"Show {widget.windowTitle()}{suffix}")
            view.addAction(toggle)

    def _connect(self) -> None:
        s, c, q = self.session, self.canvas, self.session.predictions
        c.view_box.clicked.connect(s.editor.place_keypoint)
        c.view_box.box_drawn.connect(s.editor.add_instance)
        c.layer.keypoint_pressed.connect(s.editor.press_keypoint)
        c.layer.keypoint_dragged.connect(s.editor.move_keypoint)
        c.layer.instance_clicked.connect(lambda i: s.select(i, None))
        c.layer.box_edited.connect(s.editor.set_box)
        s.image_changed.connect(self._on_image_changed)
        s.pixels_ready.connect(self._on_pixels)
        s.annotations_changed.connect(self.refresh_overlay)
        q.result_arrived.connect(lambda _r: self.keypoint_panel.refresh())
        s.record_changed.connect(self.list_model.update_record)
        s.progress_changed.connect(self._on_progress)
        s.message.connect(lambda text: self.status.showMessage(text, 6000))
        s.problem.connect(self.status.show_problem)
        q.model_changed.connect(self._on_model)
        q.batch_progress.connect(self.status.show_progress)
        q.batch_finished.connect(lambda _cancelled: self.status.hide_progress())
        s.undo_stack.indexChanged.connect(lambda _i: self._update_undo_texts())
        self.status.cancel_clicked.connect(q.cancel_batch)
        self.list_panel.image_activated.connect(s.show_image)
        self.list_panel.filter_changed.connect(s.set_filter)
        self.threshold.changed.connect(self._on_threshold)
        self.opener.opened.connect(self._on_opened)
        self.opener.failed.connect(self._open_failed)
        self.opener.warned.connect(self.status.show_problem)

    # ---- project --------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open image folder")
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path, skeleton: Skeleton | None = None,
                    checkpoint: str | None = None, video: Path | None = None) -> bool:
        """Open (or create, asking for the skeleton) the folder's project, off the GUI thread."""
        folder = Path(folder)
        if not folder.is_dir():
            project = orphaned_project(folder)
            if project is not None:
                self._offer_relink(folder, project)
            else:
                self._open_failed(f"{folder}: not a folder")
            return False
        if skeleton is None and not has_project(folder):
            dialog = NewProjectDialog(folder, self)
            if dialog.exec() != NewProjectDialog.DialogCode.Accepted:
                return False
            skeleton = dialog.skeleton()
        self._pending_checkpoint = checkpoint
        self.status.showMessage(f"Opening {folder} …")
        self.video.pending = video
        self.opener.open(folder, skeleton, video)
        return True

    def _on_opened(self, store, records, first_image=None) -> None:
        self.thumbnails.clear()
        self.canvas.forget_zoom()
        self.list_model.set_records(store.image_root, records)
        self.session.open_project(store, records, first_image)
        self.video.opened()
        self.settings.add_recent_folder(store.image_root)
        self._fill_recent()
        checkpoint = self._pending_checkpoint or self.settings.checkpoint_for(store.path)
        if checkpoint and Path(checkpoint).is_file():
            self.session.predictions.load_checkpoint(checkpoint)
        self.status.showMessage(f"Opened {store.image_root} ({len(records)} images)", 6000)
        self.update_title()

    def _offer_relink(self, folder: Path, project: Path) -> None:
        """The folder moved but its labels survived (per-user project): offer to re-attach them."""
        text = (f"{folder} is gone (moved or renamed?). Its labels are kept in {project}. Choose the "
                "folder's new place to re-attach them; the images there are checked first.")
        self.status.showMessage(f"{folder}: not a folder", 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Image folder missing", text, parent=self)
        self.error_box = box
        relink = box.addButton("Relink…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        relink.clicked.connect(lambda: self._relink(project))
        box.open()

    def _relink(self, project: Path) -> None:
        folder = QFileDialog.getExistingDirectory(self, "New place of the image folder")
        if folder:
            self.status.showMessage(f"Relinking {project} to {folder} …")
            self.opener.relink(project, folder)

    def _open_failed(self, text: str) -> None:
        """Status bar plus a message box that does not block (the event loop keeps running)."""
        log.warning(text)
        self.status.showMessage(text, 10000)
        if self.isVisible():
            self.error_box = QMessageBox(QMessageBox.Icon.Warning, "Cannot open", text, parent=self)
            self.error_box.open()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for folder in self.settings.recent_folders():
            action = QAction(folder, self.recent_menu)
            action.triggered.connect(lambda _c=False, f=folder: self.open_folder(f))
            self.recent_menu.addAction(action)
        self.recent_menu.setEnabled(bool(self.settings.recent_folders()))

    # ---- model ----------------------------------------------------------------------------------
    def choose_checkpoint(self) -> None:
        if self.session.store is None:
            self.status.showMessage("Open a folder first", 5000)
            return
        kinds = "Checkpoints (*.pt *.pth *.tar);;All files (*)"
        start = str(models_dir(self.session.store, self.settings))
        path, _ = QFileDialog.getOpenFileName(self, "Load checkpoint", start, kinds)
        if path:
            self.session.predictions.load_checkpoint(path)

    def _on_model(self, info: ModelInfo) -> None:
        self.status.set_model(info.name, info.device, info.precision)
        if self.session.store is not None:
            self.settings.set_checkpoint_for(self.session.store.path, info.path)

    # ---- views ----------------------------------------------------------------------------------
    def _on_image_changed(self, image_id: int) -> None:
        if self.session.pixels is None:
            self.canvas.set_image(None)
            self.canvas.layer.set_data(None, [], (None, None), self.session.style, self.session.review)
        self.list_panel.show_current(image_id)
        self._update_image_label()

    def _update_image_label(self) -> None:
        rec = self.session.current
        if rec is not None:
            where = f"{self.session.row + 1}/{len(self.session.records)}"
            self.status.image_label.setText(f"{rec.path} · {where} · {rec.status.value.replace('_', ' ')}")

    def _on_pixels(self, item) -> None:
        self.canvas.set_loaded(item)
        self.refresh_overlay()

    def refresh_overlay(self) -> None:
        s = self.session
        if s.pixels is None or s.skeleton is None:
            return
        s_index = s.selected_index
        self.canvas.layer.set_data(s.skeleton, s.instances, (s_index, s.selected_k), s.style, s.review)

    def _on_progress(self, _done: int, _total: int) -> None:
        self.list_panel.set_counts(self.session.counts())
        self.update_title()
        self._update_image_label()

    def _on_threshold(self, value: float) -> None:
        review = ReviewPolicy(value)
        self.session.set_review(review)
        self.settings.set_review(review)

    def _update_undo_texts(self) -> None:
        stack = self.session.undo_stack
        self.actions_by_id["undo"].setText(f"&Undo {stack.undoText()}".rstrip())
        self.actions_by_id["redo"].setText(f"&Redo {stack.redoText()}".rstrip())

    def update_title(self) -> None:
        store = self.session.store
        if store is None:
            self.setWindowTitle("hglabel")
            return
        done, total = self.session.progress()
        self.setWindowTitle(f"hglabel — {store.image_root.name} — {done} / {total} done")

    # ---- dialogs --------------------------------------------------------------------------------
    def export_dialog(self) -> ExportDialog | None:
        store = self.session.store
        if store is None:
            self.status.showMessage("Open a folder first", 5000)
            return None
        dialog = ExportDialog(store, default_export_path(store, self.settings), self)
        dialog.exported.connect(lambda r: self._exported(store, r))
        dialog.show()
        self.export_window = dialog
        return dialog

    def _exported(self, store, report) -> None:
        self.settings.set_path_for("exports", store.path, report.path)
        self.status.showMessage(f"Exported {report.images} images to {report.path}", 8000)

    def evaluate_dialog(self) -> EvaluateDialog | None:
        """Model → Evaluate: the current model on the done images, computed in child processes."""
        info = self.session.predictions.model_info
        if self.session.store is None or info is None:
            self.status.showMessage("Open a folder and load a checkpoint first", 5000)
            return None
        if not self.session.predictions.fits():
            self.status.showMessage(self.session.predictions.mismatch_text(), 8000)
            return None
        if self.evaluate_window is not None:
            self.evaluate_window.close()
        flip = self.session.predictions.flip_test
        self.evaluate_window = EvaluateDialog(self.session.store, info.path, flip, self)
        self.evaluate_window.show()
        self.evaluate_window.start()
        return self.evaluate_window

    def toggle_assist(self) -> bool:
        """Model → Assist: the background fine-tune loop on or off; returns the new state."""
        if self.assist is None:
            from gui.training.assist import Assist

            self.assist = Assist(self.session, parent=self)
            self.assist.status.connect(lambda text: self.status.showMessage(text, 15000))
        self.assist.set_enabled(not self.assist.enabled)
        return self.assist.enabled

    def train_dialog(self) -> TrainDialog | None:
        """Model → Train (one dialog per window; closing it hides it and a run goes on)."""
        if self.session.store is None:
            self.status.showMessage("Open a folder first", 5000)
            return None
        if self.train_window is None:
            self.train_window = TrainDialog(self.session, self)
        self.train_window.show()
        self.train_window.raise_()
        self.train_window.activateWindow()
        return self.train_window

    def settings_dialog(self) -> SettingsDialog:
        dialog = SettingsDialog(self.session.style, self, keep_zoom=self.canvas.keep_zoom,
                                review=self.session.review)
        dialog.accepted.connect(lambda: self.apply_style(dialog.style(), dialog.review()))
        dialog.accepted.connect(lambda: self.set_keep_zoom(dialog.keep_zoom()))
        dialog.shortcuts_requested.connect(self.keys.edit)
        dialog.show()
        return dialog

    def set_keep_zoom(self, on: bool) -> None:
        self.canvas.keep_zoom = on
        self.settings.set_keep_zoom(on)

    def apply_style(self, style, review: ReviewPolicy | None = None) -> None:
        self.session.set_style(style)
        self.settings.set_style(style)
        if review is not None:
            self.session.set_review(review)
            self.settings.set_review(review)
            self.threshold.set_value(review.threshold)

    def shortcuts_dialog(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self, self.keys.bindings)
        dialog.show()
        return dialog

    # ---- shutdown -------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if self.train_window is not None:
            self.train_window.shutdown()  # a run stops after writing last.pt
        if self.assist is not None:
            self.assist.runner.shutdown()
        self.session.close_project()
        self.inference.shutdown()
        self.thumbnails.shutdown()
        self.session.loader.shutdown()
        self.settings.sync()
        super().closeEvent(event)
