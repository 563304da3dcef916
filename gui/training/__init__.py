"""Model → Train: a dialog that runs `hglabel train` in a QProcess and plots its JSON-lines progress."""
