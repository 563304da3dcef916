"""hglabel's Qt-free core: annotations, project store, files, codec, network, inference, training."""
