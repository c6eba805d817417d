"""A command's outputs never overwrite its inputs.

Opening an output truncates it before the input has been read, so ``posetool cat f.jsonl -o
f.jsonl`` would destroy ``f.jsonl`` and then blame it for being short. Every command claims the
files it reads (:func:`claim_input`; :func:`posetool.cli.common.open_reader` does it for stream
inputs) and every output is checked against them (:func:`check_output`; ``open_writer`` does it
for streams) by file identity (device and inode), so any other name for the same file is caught
too: a relative path, a symlink, a hard link, ``/dev/stdout`` or a shell redirection onto it.

Refusing beats writing a temporary file and renaming it over the input at the end: stages
flush every frame so that a reader can follow the output live, and a stage that fails leaves
a valid stream up to its last frame. A rename would give up both, and a failed run would have
to either replace the input with a partial stream anyway or leave no output at all.
"""

from __future__ import annotations

import os
import stat
import sys

from posetool.errors import PosetoolError, UsageError

# (device, inode) -> how the command named the input; reset by each command (posetool.cli.common.command)
_inputs: dict[tuple[int, int], str] = {}


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of a regular file or folder at ``path`` (``-``: stdin/stdout by the caller), else None.

    Devices, pipes and sockets are left out: writing to them cannot destroy what was read.
    """
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) else None


def _fd_identity(fd: int) -> tuple[int, int] | None:
    """(device, inode) of the regular file open as ``fd`` (stdin/stdout redirected to a file), else None."""
    try:
        st = os.fstat(fd)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISREG(st.st_mode) else None


def _std_fd(stream: object) -> int | None:
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None


def reset() -> None:
    """Forget the inputs of an earlier command (one process may run several, e.g. in tests)."""
    _inputs.clear()


def claim_input(path: str | None) -> None:
    """Remember that the command reads ``path`` (a file, a folder, or ``-`` for stdin)."""
    if not path:
        return
    if path == "-":
        fd = _std_fd(sys.stdin)
        ident = None if fd is None else _fd_identity(fd)
    else:
        ident = _identity(path)
    if ident is not None:
        _inputs.setdefault(ident, "stdin" if path == "-" else path)


def check_output(path: str | None, folder: bool = False) -> None:
    """Refuse an output that is one of the command's inputs, or that cannot be created where it is named.

    Args:
        path: an output file, ``-`` for stdout, or with ``folder`` an output folder (created later).

    Raises:
        UsageError: ``path`` is an input of this command (exit 2).
        PosetoolError: the output file's folder does not exist, or ``path`` is a folder (exit 1).
    """
    if not path:
        return
    if path == "-":
        fd = _std_fd(sys.stdout)
        ident = None if fd is None else _fd_identity(fd)
        shown = "stdout"
    else:
        ident = _identity(path)
        shown = path
    if ident is not None and ident in _inputs:
        source = _inputs[ident]
        same = "" if source == path else f" (the same file as the input {source})"
        raise UsageError(f"{shown}: the output is this command's input{same}; writing it would destroy the input "
                         f"before it is read. Write to another file and rename it afterwards")
    if path == "-" or folder:
        return
    if os.path.isdir(path):
        raise PosetoolError(f"{path}: is a folder; name an output file")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise PosetoolError(f"{path}: output folder {parent} does not exist")
