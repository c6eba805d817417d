"""One decoded video shared by several stages of one process (``posetool run``).

:class:`FrameTee` decodes each frame once and keeps only the most recent ``keep`` frames, so the
chain's memory stays bounded however long the video; every stage iterates its own
:class:`FrameView` over it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from posetool.errors import PosetoolError
from posetool.video.sources import Frame, FrameSource


class FrameTee:
    """Shares one decoded video between several consumers, keeping the last ``keep`` frames."""

    def __init__(self, source: FrameSource, keep: int = 96) -> None:
        self.source = source
        self.path = source.path
        self._it = iter(source)
        self._cache: OrderedDict[int, Frame] = OrderedDict()
        self._last = -1
        self._done = False
        self.keep = keep

    def get(self, index: int) -> Frame | None:
        """Frame ``index`` (decoding up to it), or None past the end of the video."""
        while not self._done and self._last < index:
            try:
                frame = next(self._it)
            except StopIteration:
                self._done = True
                break
            self._cache[frame.index] = frame
            self._last = frame.index
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
        if index in self._cache:
            return self._cache[index]
        if index <= self._last and self._cache and index < next(iter(self._cache)):
            raise PosetoolError(f"frame {index} left the shared frame buffer ({self.keep} frames); raise --frame-buffer")
        return None

    def view(self) -> FrameView:
        return FrameView(self)


class FrameView:
    """An iterable over the tee's frames in order (what stages take as their ``video``)."""

    def __init__(self, tee: FrameTee) -> None:
        self.tee = tee
        self.path = tee.path

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        while (frame := self.tee.get(index)) is not None:
            yield frame
            index += 1


def frames_of(video: object) -> object:
    """The frames a stage iterates: a fresh view of a shared tee, or the video source itself."""
    return video.view() if isinstance(video, FrameTee) else video
