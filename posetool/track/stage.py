"""The ``track`` stage: a pose stream in, the same stream with ``track_id`` per instance out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from posetool.engine.flush import flush_on_error
from posetool.stream import make_stage
from posetool.track.tracker import Tracker, TrackerOptions

Record = dict[str, Any]


@dataclass
class TrackStep:
    """Track ids by assignment (a :class:`posetool.engine.chain.Step`; see :mod:`posetool.track.tracker`)."""

    options: TrackerOptions | None = None
    name: str = "track"

    def start(self, header: Record) -> None:
        """Set up the tracker for the stream's skeleton and append the provenance entry."""
        self.options = self.options or TrackerOptions()
        self.tracker = Tracker(self.options, header.get("skeleton"))
        header.setdefault("stages", []).append(make_stage("track", model=None, params=asdict(self.options)))

    def frames(self, records: Iterator[Record], video: Any = None) -> Iterator[Record]:
        """Tracked frames; if the input breaks, the frames still buffered come out before the error."""
        return flush_on_error(records, self._track)

    def _track(self, records: Iterator[Record]) -> Iterator[Record]:
        for rec in records:
            yield from self.tracker.push(rec)
        yield from self.tracker.flush()
