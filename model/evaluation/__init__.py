"""Accuracy metrics: OKS AP via pycocotools, PCK, pixel error."""
