"""hglabel's Qt layer: the annotation window over the model core."""
