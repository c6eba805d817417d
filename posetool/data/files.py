"""Reading the text and JSON files of the dataset formats, with one clear error for any unreadable file.

Every reader of a text format goes through :func:`read_text` (and JSON ones through
:func:`read_json`), so that a missing file, a folder, a binary file given where text belongs
(a video or ``.npz`` passed as ``--gt``) or broken JSON each fail with one line naming the file,
instead of a ``UnicodeDecodeError`` from deep inside a reader.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from posetool.errors import PosetoolError


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The UTF-8 text of ``path``; ``what`` names the expected format in messages ("a COCO JSON file")."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PosetoolError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise PosetoolError(f"{p}: is a folder; expected {what}") from None
    except UnicodeDecodeError as exc:
        raise PosetoolError(f"{p}: not a text file (byte 0x{exc.object[exc.start]:02x} at offset {exc.start} is not "
                            f"UTF-8); expected {what}") from None
    except OSError as exc:
        raise PosetoolError(f"{p}: cannot read: {exc.strerror or exc}") from None


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """The parsed JSON of ``path`` (see :func:`read_text`); an empty file is reported as empty."""
    text = read_text(path, what)
    if not text.strip():
        raise PosetoolError(f"{Path(path)}: the file is empty; expected {what}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PosetoolError(f"{Path(path)}: not valid JSON ({exc.msg} at line {exc.lineno}); expected {what}") from None
