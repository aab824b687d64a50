"""Settings for the whole test suite.

Fits are MLflow runs by default (synthkit.tracking). Tests must never write runs into the
working copy's mlruns/, so tracking is off unless a test turns it on with its own temporary
store (tests/test_tracking.py and tests/test_serving.py do).
"""

from __future__ import annotations

import os

os.environ.setdefault("SYNTHKIT_TRACKING", "off")
