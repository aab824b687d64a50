"""Errors a user can cause.

Every error a user can trigger (a bad file, a bad option, a column that cannot be
modelled) is raised as :class:`SynthkitError` with a one-line message that names the
file, column or option at fault. The CLI prints the message and exits with status 2;
anything else is a bug and keeps its traceback.

The class lives in :mod:`synthkit.core.errors` (the image track raises it too); this is its
historic address.
"""

from __future__ import annotations

from synthkit.core.errors import SynthkitError

__all__ = ["SynthkitError"]
