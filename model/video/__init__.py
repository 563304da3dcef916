"""Working with videos and other frame sequences: choosing frames to label."""
