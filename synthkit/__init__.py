"""synthkit: explainable tabular synthetic data for finance."""

from synthkit.errors import SynthkitError

__version__ = "0.1.0"

__all__ = ["SynthkitError", "__version__"]
