"""Numpy-only geometry: heatmap encode/decode, crop affines, flips."""
