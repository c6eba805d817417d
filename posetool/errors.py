"""Exceptions that the CLI turns into one clear error line and an exit code.

Library code raises these with a message that names the file, record, frame or field at fault
and what to do; the CLI prints ``posetool <command>: error: <message>`` and exits with
:attr:`PosetoolError.exit_code`. Anything else is a bug and shows a traceback only with ``--debug``.
A bad parameter value is an :class:`OptionError`: the library names the parameter, the CLI the flag.
"""

from __future__ import annotations


class PosetoolError(Exception):
    """A runtime failure the user can act on (bad input, missing weights, ...). Exit code 1."""

    exit_code = 1


class UsageError(PosetoolError):
    """Options that contradict each other or name things that do not exist. Exit code 2."""

    exit_code = 2


class OptionError(ValueError):
    """A bad value of one named parameter (``chunk``, ``similarity``, ...).

    Library code names the parameter, never a command-line flag. A command that has that
    option reports the error as a :class:`UsageError` under the flag's name (``--chunk``; see
    :func:`posetool.cli.common.command`); anywhere else it stays a ``ValueError`` (norfair's
    convention), because then the value did not come from the user's flags.
    """

    def __init__(self, option: str, problem: str, *, sep: str = " ") -> None:
        """``problem`` follows the name after ``sep``: ``"must be ≥ 1"`` or (``sep=": "``) ``"unknown kind 'x'"``."""
        self.option = option
        self.problem = problem
        self.sep = sep
        super().__init__(self.naming(option))

    def naming(self, label: str) -> str:
        """The message with the option called ``label`` (its parameter name or its flag)."""
        return f"{label}{self.sep}{self.problem}"


class StreamError(PosetoolError):
    """A pose stream that cannot be read: bad encoding, malformed or out-of-order records."""


class VideoError(PosetoolError):
    """A video or image folder that is missing, unreadable or corrupt."""


class WeightsError(PosetoolError):
    """Weights that are missing, corrupt, or do not match the model."""


class NotAvailableError(PosetoolError):
    """A command or backend that this version of posetool does not provide yet."""


class OutputError(PosetoolError):
    """An output that cannot be written: a missing folder, no permission, a full disk."""
