"""Qt item models: the lazy image list with thumbnails and review-status colours."""
