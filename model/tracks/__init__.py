"""Identity through time: instances of consecutive frames matched into tracks (Hungarian assignment)."""
