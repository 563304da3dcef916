"""The one table of user actions and their shortcuts: menus, the Help dialog and the README come from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence


@dataclass(frozen=True)
class ActionSpec:
    """One user action: its id (handler name), menu, label, shortcuts (first is the primary) and help."""

    id: str
    menu: str
    text: str
    shortcuts: tuple[str, ...] = ()
    tip: str = ""


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open_folder", "File", "&Open Folder…", ("Ctrl+O",), "Open an image folder as a project"),
    ActionSpec("export_coco", "File", "&Export COCO…", ("Ctrl+E",), "Write the labels as COCO keypoints"),
    ActionSpec("import_coco", "File", "&Import COCO…", ("Ctrl+I",),
               "COCO keypoints into this project (checked as by hglabel import; one undo step)"),
    ActionSpec("settings", "File", "&Settings…", ("Ctrl+,",), "Threshold, colours, point size"),
    ActionSpec("quit", "File", "&Quit", ("Ctrl+Q",), "Close the window (everything is already saved)"),
    ActionSpec("edit_skeleton", "Edit", "S&keleton…", ("Ctrl+K",),
               "Names, order, edges, flip pairs, colours, OKS sigmas; labels migrate (one undo step)"),
    ActionSpec("undo", "Edit", "&Undo", ("Ctrl+Z",), "Undo the last change"),
    ActionSpec("redo", "Edit", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the last undone change"),
    ActionSpec("cycle_visibility", "Edit", "Cycle &Visibility", ("V",),
               "Selected keypoint: visible (2) → occluded (1) → not labelled (0) → visible again at its "
               "last spot (or click to place it)"),
    ActionSpec("delete_keypoint", "Edit", "&Delete Keypoint", ("Delete", "Backspace"),
               "Clear the selected keypoint (v = 0)"),
    ActionSpec("accept_prediction", "Edit", "&Accept Prediction", ("E",),
               "Confirm every predicted keypoint of the selected instance"),
    ActionSpec("delete_instance", "Edit", "Delete &Instance", ("Shift+Delete",),
               "Remove the selected instance"),
    ActionSpec("mark_done", "Edit", "Mark Image &Done", ("Space", "Ctrl+Return"),
               "Set the image's review status to done"),
    ActionSpec("skip_image", "Edit", "S&kip Image", ("X",), "Mark the image skipped (left out of exports)"),
    ActionSpec("track_identities", "Edit", "&Track Identities", ("Ctrl+Shift+T",),
               "Match the instances of this sequence (a video or a folder of numbered frames) into tracks "
               "(one undo step)"),
    ActionSpec("swap_tracks", "Edit", "S&wap Identities From Here On", ("Ctrl+Shift+W",),
               "The selected instance and the frame's other tracked one exchange tracks on this and every "
               "later frame (one undo step)"),
    ActionSpec("assign_track", "Edit", "This Is Track &N…", ("Ctrl+Shift+N",),
               "Give the selected instance track N; the frame's instance that had N takes its old track"),
    ActionSpec("next_image", "Go", "&Next Image", ("D", "Right"), "Show the next image in the list"),
    ActionSpec("previous_image", "Go", "&Previous Image", ("A", "Left"), "Show the previous image"),
    ActionSpec("next_review", "Go", "Next Needing &Review", ("N",),
               "Next image that is predicted or has keypoints below the review threshold"),
    ActionSpec("next_instance", "Go", "Next &Instance", ("I",), "Select the next instance of this image"),
    ActionSpec("previous_keypoint", "Go", "Previous &Keypoint", ("Up",),
               "Select the previous keypoint of the selected instance (Keypoints panel)"),
    ActionSpec("next_keypoint", "Go", "Next Keypoint", ("Down",),
               "Select the next keypoint of the selected instance (any of K, not only 1–9)"),
    ActionSpec("fit_view", "View", "&Fit Image", ("F",), "Zoom to show the whole image"),
    ActionSpec("load_checkpoint", "Model", "&Load Checkpoint…", ("Ctrl+L",),
               "hglabel or pytorch-pose checkpoint; remembered per project"),
    ActionSpec("predict_image", "Model", "Predict &This Image", ("P",), "Run the network on this image"),
    ActionSpec("predict_all", "Model", "Predict &All Unlabelled", ("Shift+P",),
               "Run the network on every unlabelled image (cancel from the status bar)"),
    ActionSpec("cancel_prediction", "Model", "&Cancel Prediction", ("Esc",), "Stop a running batch"),
    ActionSpec("toggle_flip_test", "Model", "&Flip Test On/Off", ("Ctrl+Shift+F",),
               "Also predict the mirrored image; flags keypoints where the two passes disagree"),
    ActionSpec("evaluate", "Model", "&Evaluate on Done Images…", ("Ctrl+Shift+E",),
               "Score the current model on the done images: OKS AP, PCK, pixel error per keypoint"),
    ActionSpec("train", "Model", "&Train…", ("Ctrl+T",),
               "Fine-tune the network on the done images (runs hglabel train; live curves, cancel)"),
    ActionSpec("toggle_assist", "Model", "A&ssist On/Off", ("Ctrl+Shift+A",),
               "Every 10 newly done images: a 2-minute background fine-tune, loaded only when better"),
    ActionSpec("shortcuts", "Help", "&Keyboard Shortcuts", ("F1",), "This list"),
    # heatmap inspector (gui.inspector.controller)
    ActionSpec("next_maximum", "Edit", "Next Heatmap &Maximum", ("Tab",),
               "Move the selected keypoint to the next local maximum of its final heatmap (highest first; "
               "a prediction stays a prediction)"),
    ActionSpec("previous_maximum", "Edit", "Previous Heatmap Maximum", ("Shift+Tab",),
               "Move the selected keypoint to the previous local maximum of its final heatmap"),
    ActionSpec("swap_flip", "Edit", "&Swap Left/Right", ("S",),
               "Swap the selected keypoint with its flip partner (left/right mix-up)"),
    ActionSpec("next_uncertain", "Go", "Next &Uncertain Image", ("U",),
               "Next image in uncertainty order (worst keypoint first; done images skipped)"),
    ActionSpec("toggle_heatmap_overlay", "View", "Heatmap &Overlay", ("H",),
               "Show the chosen stack's heatmap on the canvas, over the crop it came from"),
    ActionSpec("sort_uncertainty", "View", "Sort Images by &Uncertainty", ("Ctrl+U",),
               "Order the image list by the worst keypoint's uncertainty score"),
    ActionSpec("filter_uncertain", "View", "Only Uncertain Images", ("Ctrl+Shift+U",),
               "List only images with a keypoint scoring above 1"),
    ActionSpec("open_video", "File", "Open &Video…", ("Ctrl+Shift+O",),
               "Open a video (mp4, avi, mov, mkv): its folder becomes the project, every frame an image"),
    ActionSpec("open_demo_video", "File", "Open &Demo Video", ("Ctrl+Alt+D",),
               "The bundled open-field recording (2 330 frames) with the demo model"),
    ActionSpec("copy_previous", "Edit", "&Copy Previous Frame's Instances", ("C",),
               "Start this frame from the nearest earlier labelled frame (one undo step)"),
    ActionSpec("frame_forward", "Video", "Next &Frame", (".",), "One frame forward on the timeline"),
    ActionSpec("frame_back", "Video", "Previous F&rame", (",",), "One frame back on the timeline"),
    ActionSpec("frame_forward_10", "Video", "&10 Frames Forward", ("Shift+Right", "Shift+D"),
               "Ten frames forward on the timeline"),
    ActionSpec("frame_back_10", "Video", "10 Frames &Back", ("Shift+Left", "Shift+A"),
               "Ten frames back on the timeline"),
    ActionSpec("next_picked", "Video", "Next &Picked Frame", ("]",),
               "Jump to the next frame picked to label"),
    ActionSpec("previous_picked", "Video", "Previous Picked Frame", ("[",),
               "Jump to the previous frame picked to label"),
    ActionSpec("play_pause", "Video", "Play / &Pause", ("K",), "Play the video at its frame rate"),
    ActionSpec("pick_frames", "Video", "Pick &Frames…", ("Ctrl+Shift+K",),
               "Choose frames to label: uniform, k-means on thumbnails, or where the model is least sure"),
)

SELECT_KEYPOINT_KEYS = tuple(str(i) for i in range(1, 10))
MENUS = ("File", "Edit", "Go", "View", "Video", "Model", "Help")


def spec(action_id: str) -> ActionSpec:
    for item in ACTIONS:
        if item.id == action_id:
            return item
    raise KeyError(action_id)


def build_actions(parent: QObject, handlers: dict[str, Callable[[], object]]) -> dict[str, QAction]:
    """One QAction per spec, triggering handlers[id]; shortcuts live on the window (WindowShortcut)."""
    actions: dict[str, QAction] = {}
    for item in ACTIONS:
        action = QAction(item.text, parent)
        action.setObjectName(item.id)
        action.setShortcuts([QKeySequence(s) for s in item.shortcuts])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(item.tip)
        action.setStatusTip(item.tip)
        handler = handlers.get(item.id)
        if handler is None:
            raise KeyError(f"no handler for action {item.id!r}")
        action.triggered.connect(lambda _checked=False, h=handler: h())
        actions[item.id] = action
    return actions


def action_name(item: ActionSpec) -> str:
    return item.text.replace("&", "").rstrip("…")


def shortcut_rows(bindings: dict[str, tuple[str, ...]] | None = None) -> list[tuple[str, str, str]]:
    """(keys, action, description) for every action, plus the keypoint selection keys.

    bindings: the user's keys per action id (gui.keybindings); missing ids keep their defaults.
    """
    bindings = bindings or {}
    rows = [(" / ".join(bindings.get(a.id, a.shortcuts)) or "(none)", action_name(a), a.tip) for a in ACTIONS]
    rows.append(("1 … 9", "Select Keypoint k", "Select keypoint k of the selected instance"))
    rows.append(("Mouse wheel / right or middle drag", "Zoom / Pan", "Navigate the image"))
    rows.append(("Left drag on empty image", "New Instance", "Draw a box to add an instance"))
    rows.append(("Left click on image", "Place Keypoint", "Place the selected keypoint, then the next"))
    return rows


def markdown_table() -> str:
    """The shortcut table as Markdown (for the README)."""
    lines = ["| Keys | Action | What it does |", "|---|---|---|"]
    lines += [f"| {keys} | {name} | {tip} |" for keys, name, tip in shortcut_rows()]
    return "\n".join(lines)
