"""The image track: vision datasets, convolutional networks and disentanglement methods built on synthkit.core."""
