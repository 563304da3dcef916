"""Background threads: inference (owns the network), image decode and prefetch, thumbnails."""
