"""The one error type of the image datasets.

``synthkit.errors.SynthkitError`` lives outside ``synthkit.core``, which is all the image track may import
(tests/image_track/test_boundaries.py), so the datasets have their own. It subclasses ``ValueError`` so callers that
catch bad arguments as ``ValueError`` catch these too; every message is one line and names the path or option at
fault.
"""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset cannot be built or read: a missing or malformed file, an unknown name, a bad option."""
