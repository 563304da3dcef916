"""The README's shortcut table is the one gui.actions generates (menus and Help → Keyboard Shortcuts)."""

from __future__ import annotations

from gui.actions import ACTIONS, markdown_table
from tests.conftest import REPO_ROOT


def test_readme_shows_the_generated_shortcut_table():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, (
        "README.md's shortcut table is out of date: regenerate it with "
        "python -c \"from gui.actions import markdown_table; print(markdown_table())\""
    )
    assert "docs/screenshot.png" in readme and (REPO_ROOT / "docs" / "screenshot.png").is_file()


def test_no_two_actions_share_a_key():
    from gui.actions import SELECT_KEYPOINT_KEYS

    keys = [k for a in ACTIONS for k in a.shortcuts] + list(SELECT_KEYPOINT_KEYS)
    assert all(a.shortcuts for a in ACTIONS)
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
