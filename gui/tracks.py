"""The window's track actions: track this sequence, swap identities from here on, "this is track N".

Each builds its edit with model.tracks.project (one Batch of SetTrack edits) and commits it through
the session as one undo step; the canvas then shows every instance in its track's colour and name.
"""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QWidget

from gui.session import Session
from model.tracks.project import assign_track, next_track_id, swap_from_here, track_sequence


class TrackActions:
    """Handlers of the track actions of one window."""

    def __init__(self, session: Session, parent: QWidget) -> None:
        self.session, self.parent = session, parent

    def handlers(self) -> dict:
        return {"track_identities": self.track_identities, "swap_tracks": self.swap_from_here,
                "assign_track": self.ask_track}

    def _ready(self) -> bool:
        return self.session.store is not None and self.session.current is not None

    def track_identities(self) -> bool:
        """Match the instances of the current image's sequence into tracks."""
        if not self._ready():
            return False
        edit = track_sequence(self.session.store, self.session.current.id)
        if edit is None:
            self.session.message.emit("Tracks are up to date for this sequence")
            return False
        return self.session.commit(edit, "Track identities", by_person=False)

    def swap_from_here(self) -> bool:
        """The selected instance and the frame's other tracked instance exchange tracks from here on."""
        s = self.session
        if not self._ready():
            return False
        inst = s.selected_instance
        others = [i for i in s.instances if i.track_id is not None and inst is not None
                  and i.instance_id != inst.instance_id]
        if inst is None or inst.track_id is None or not others:
            s.message.emit("Select a tracked instance on a frame with another tracked instance")
            return False
        other = min(others, key=lambda i: abs(i.box[0] - inst.box[0]) + abs(i.box[1] - inst.box[1]))
        edit = swap_from_here(s.store, s.current.id, inst.track_id, other.track_id)
        text = f"Swap tracks {inst.track_id} ↔ {other.track_id} from here"
        return edit is not None and s.commit(edit, text, by_person=False)

    def assign(self, track: int) -> bool:
        """'This is track N' for the selected instance."""
        s = self.session
        inst = s.selected_instance if self._ready() else None
        if inst is None:
            s.message.emit("Select an instance first")
            return False
        edit = assign_track(s.store, s.current.id, inst.instance_id, int(track))
        return edit is not None and s.commit(edit, f"This is track {track}", by_person=False)

    def ask_track(self) -> bool:
        if not self._ready() or self.session.selected_instance is None:
            self.session.message.emit("Select an instance first")
            return False
        s = self.session
        current = s.selected_instance.track_id or next_track_id(s.store, s.current.id)
        value, ok = QInputDialog.getInt(self.parent, "This is track N", "Track:", current, 1, 1_000_000)
        return bool(ok) and self.assign(value)
