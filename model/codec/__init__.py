"""Numpy-only geometry: heatmap encode/decode, crop affines, flips.

One pixel convention throughout (details in ``model.codec.transforms``): integer coordinates are
pixel centres (OpenCV's warpAffine convention); a heatmap of stride s maps to its input by
``x_in = s * u + (s - 1) / 2``; a horizontal flip of a width-W image is ``x' = W - 1 - x``.
Affines are (2, 3) float64 forward maps.
"""
