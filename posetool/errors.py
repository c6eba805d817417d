"""Exceptions that the CLI turns into one clear error line and an exit code.

Library code raises these with a message that names the file, record, frame or field at fault
and what to do; the CLI prints ``posetool <command>: error: <message>`` and exits with
:attr:`PosetoolError.exit_code`. Anything else is a bug and shows a traceback only with ``--debug``.
"""

from __future__ import annotations


class PosetoolError(Exception):
    """A runtime failure the user can act on (bad input, missing weights, ...). Exit code 1."""

    exit_code = 1


class UsageError(PosetoolError):
    """Options that contradict each other or name things that do not exist. Exit code 2."""

    exit_code = 2


class StreamError(PosetoolError):
    """A pose stream that cannot be read: bad encoding, malformed or out-of-order records."""


class VideoError(PosetoolError):
    """A video or image folder that is missing, unreadable or corrupt."""


class WeightsError(PosetoolError):
    """Weights that are missing, corrupt, or do not match the model."""


class NotAvailableError(PosetoolError):
    """A command or backend that this version of posetool does not provide yet."""
