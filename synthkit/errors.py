"""Errors a user can cause.

Every error a user can trigger (a bad file, a bad option, a column that cannot be
modelled) is raised as :class:`SynthkitError` with a one-line message that names the
file, column or option at fault. The CLI prints the message and exits with status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SynthkitError(Exception):
    """A user-facing error with a one-line message naming the culprit."""

    def __init__(self, message: str) -> None:
        # One line, always: the CLI prints it as-is.
        super().__init__(" ".join(str(message).split()))
