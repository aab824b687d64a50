"""The core shared by the tabular and image tracks: objectives, layers, trainers, the method contract and registry."""
