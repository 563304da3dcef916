"""Rebindable shortcuts: the user's keys per action (kept in QSettings by AppSettings), conflict checks,
and putting them on the window's QActions. Defaults are gui.actions' table."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from gui.actions import ACTIONS, SELECT_KEYPOINT_KEYS, action_name

Bindings = dict[str, tuple[str, ...]]
RESERVED = {key: "Select Keypoint k" for key in SELECT_KEYPOINT_KEYS}


def defaults() -> Bindings:
    return {a.id: tuple(a.shortcuts) for a in ACTIONS}


def normalized(keys) -> tuple[str, ...]:
    """Portable text of each key sequence ('ctrl+shift+e' → 'Ctrl+Shift+E'); empty ones dropped."""
    out = []
    for key in keys:
        text = QKeySequence(key).toString(QKeySequence.SequenceFormat.PortableText)
        if text and text not in out:
            out.append(text)
    return tuple(out)


def effective(overrides: Bindings) -> Bindings:
    """Defaults with the user's overrides (unknown ids ignored)."""
    result = defaults()
    for action_id, keys in overrides.items():
        if action_id in result:
            result[action_id] = normalized(keys)
    return result


def conflicts(bindings: Bindings) -> list[str]:
    """One line per key used twice ('Ctrl+E: Export COCO and Evaluate on Done Images'); [] if none."""
    names = {a.id: action_name(a) for a in ACTIONS}
    owner: dict[str, str] = dict(RESERVED)
    lines = []
    for action_id, keys in bindings.items():
        for key in normalized(keys):
            if key in owner:
                lines.append(f"{key}: {owner[key]} and {names.get(action_id, action_id)}")
            else:
                owner[key] = names.get(action_id, action_id)
    return lines


def overrides_of(bindings: Bindings) -> Bindings:
    """Only the entries that differ from the defaults (what is stored)."""
    base = defaults()
    return {i: normalized(k) for i, k in bindings.items()
            if i in base and normalized(k) != normalized(base[i])}


def apply_bindings(actions_by_id: dict, bindings: Bindings) -> None:
    """Put the keys on the window's QActions."""
    for action_id, action in actions_by_id.items():
        keys = bindings.get(action_id)
        if keys is not None:
            action.setShortcuts([QKeySequence(k) for k in keys])
