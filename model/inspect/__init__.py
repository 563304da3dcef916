"""Heatmap inspection without Qt: uncertainty scores, heatmap memory cache, overlay geometry, rendering."""
