"""Training: dataset of confirmed instances, the loop, distributed runs."""
