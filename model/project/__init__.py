"""Project store: folder scan and the SQLite file that holds every label."""
