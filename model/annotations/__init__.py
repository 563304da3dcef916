"""Value types of the annotation domain: skeletons, keypoints, instances, edits."""
