"""The Stacked Hourglass network and its named configurations."""
