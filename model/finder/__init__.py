"""The instance finder: a small hourglass that predicts every instance's centre as one heatmap."""
