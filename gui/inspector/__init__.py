"""The heatmap inspector: per-stack heatmap dock, canvas overlay, peak path, uncertainty marks."""
