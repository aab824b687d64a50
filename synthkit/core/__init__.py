"""The core shared by the tabular and image tracks: objectives, layers, trainer, registry."""
