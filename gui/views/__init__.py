"""Graphics views: the image canvas, the keypoint layer with draggable points, instance boxes."""
