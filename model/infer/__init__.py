"""Inference: safe checkpoint I/O and the batched predictor."""
