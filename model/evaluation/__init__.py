"""Accuracy metrics: OKS AP via pycocotools, PCK, pixel error."""

from model.evaluation.evaluate import evaluate

__all__ = ["evaluate"]
