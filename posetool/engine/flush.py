"""Stages hand on every complete frame before an upstream error surfaces.

A stage that buffers (crops batched across frames in ``detect`` and ``pose2d``, lifting windows in
``lift3d``, the tracker's look-ahead) holds frames that are complete when its input breaks: a
stream cut mid-record, a corrupt image in a folder, a video that ends early. Were the error to run
straight through the stage's generator, those frames would die with it, and the stage would write
none of them. :func:`flush_on_error` instead shows the stage a normal end of input, so it drains
its buffers exactly as at the end of a stream, and raises the error once the stage's last frame
is out; :func:`posetool.stream.write_stream` then writes the end record with ``finished: false``.

Only :class:`~posetool.errors.PosetoolError` is held back: anything else is a bug and must not
be dressed up as a clean end of input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from posetool.errors import PosetoolError

T = TypeVar("T")
R = TypeVar("R")


class HeldUpstream(Generic[T]):
    """Iterates ``upstream``; a :class:`PosetoolError` from it ends the iteration and is kept in :attr:`error`."""

    def __init__(self, upstream: Iterable[T]) -> None:
        self._it = iter(upstream)
        self.error: PosetoolError | None = None

    def __iter__(self) -> HeldUpstream[T]:
        return self

    def __next__(self) -> T:
        if self.error is not None:
            raise StopIteration
        try:
            return next(self._it)
        except PosetoolError as exc:
            self.error = exc
            raise StopIteration from None


def flush_on_error(upstream: Iterable[T], stage: Callable[[Iterator[T]], Iterable[R]]) -> Iterator[R]:
    """``stage(upstream)``, except that an upstream error is raised only after the stage's last output.

    Args:
        upstream: what the stage consumes (frame records, video frames, or (record, image) pairs).
        stage: builds the stage's output iterator from its input iterator.

    If the stage itself fails after the upstream error (it saw an input end it did not expect),
    the upstream error is raised: it is the cause the user can act on.
    """
    held: HeldUpstream[T] = HeldUpstream(upstream)
    try:
        yield from stage(held)
    except PosetoolError:
        if held.error is not None:
            raise held.error  # noqa: B904 - the stage's own error is its context, shown with --debug
        raise
    if held.error is not None:
        raise held.error
