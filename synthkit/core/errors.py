"""The user-facing error both tracks raise (:class:`SynthkitError`), defined in the core so that the image track,
which imports nothing of synthkit but the core, raises the same type the CLI prints as one line."""

from __future__ import annotations


class SynthkitError(Exception):
    """A user-facing error with a one-line message naming the culprit."""

    def __init__(self, message: str) -> None:
        # One line, always: the CLI prints it as-is.
        super().__init__(" ".join(str(message).split()))
