"""File formats: image decoding and COCO import/export."""
