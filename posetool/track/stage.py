"""The ``track`` stage: a pose stream in, the same stream with ``track_id`` per instance out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from posetool.engine.flush import flush_on_error
from posetool.engine.presets import AUTO, SYNTH, auto_similarity
from posetool.errors import OptionError
from posetool.stream import make_stage
from posetool.stream.encoding import points_array
from posetool.track.appearance import clean_view, describe, occluders
from posetool.track.tracker import Tracker, TrackerOptions, resolve_lr_consistency
from posetool.video.align import frames_with_images
from posetool.video.tee import frames_of

Record = dict[str, Any]


@dataclass
class TrackStep:
    """Track ids by assignment (a :class:`posetool.engine.chain.Step`; see :mod:`posetool.track.tracker`)."""

    options: TrackerOptions | None = None
    name: str = "track"
    reid_model: str | None = SYNTH.correspond  # reid="features": the correspondence model
    device: str = "auto"
    smooth_weights: str | None = None  # smooth="smoothnet": a weights file instead of the registered one
    lr_weights: str | None = None  # lr_consistency="learned": a weights file instead of the registered one

    def start(self, header: Record) -> None:
        """Set up the tracker for the stream's skeleton and append the provenance entry.

        Similarity ``auto`` becomes :func:`~posetool.engine.presets.auto_similarity` of the header
        (the mix with correspondences when a correspond stage ran, else oks); provenance records
        the similarity used.

        The frame rate of the header's ``source`` (when given) replaces the options' ``fps``: the
        re-identification gate converts frame gaps to seconds with it.
        """
        self.options = self.options or TrackerOptions()
        if self.options.similarity == AUTO:  # the rule `posetool run` follows too, so pipe and run agree
            self.options = replace(self.options, similarity=auto_similarity(header))
        fps = (header.get("source") or {}).get("fps")
        if isinstance(fps, (int, float)) and fps > 0 and fps != self.options.fps:
            self.options = replace(self.options, fps=float(fps))
        lr = resolve_lr_consistency(self.options.lr_consistency, header.get("skeleton"))
        if self.lr_weights and lr != "learned":  # the weights would go unused
            why = (f"auto runs {lr} for this stream's skeleton {header.get('skeleton')} (the labeller reads COCO-17)"
                   if self.options.lr_consistency == AUTO else f"they are for learned, not {lr}")
            raise OptionError("lr_weights", f"lr_consistency {why}", sep=": ")
        if lr != self.options.lr_consistency:  # provenance records what ran
            self.options = replace(self.options, lr_consistency=lr)
        models = []
        smoother = None
        if self.options.smooth == "smoothnet":
            from posetool.hub.loader import load_model
            from posetool.track.learned import LearnedSmoother

            smoother = LearnedSmoother(load_model(self.options.smooth_model, task="smooth", weights=self.smooth_weights,
                                                  device=self.device))
            models.append(smoother.name)
        labeller = None
        if self.options.lr_consistency == "learned":
            from posetool.hub.loader import load_model
            from posetool.track.labeller import LearnedLabeller

            labeller = LearnedLabeller(load_model(self.options.lr_model, task="leftright", weights=self.lr_weights,
                                                  device=self.device))
            models.append(labeller.name)
        self.tracker = Tracker(self.options, header.get("skeleton"), smoother, labeller)
        self.describe = describe  # the colour descriptor; reid="features" loads the correspondence model here
        if self.options.reid == "features":
            from posetool.hub.loader import load_model
            from posetool.track.features import FeatureEmbedder

            loaded = load_model(self.reid_model, task="correspond", device=self.device)
            self.describe = FeatureEmbedder(loaded).describe
            models.append(loaded.name)
        header.setdefault("stages", []).append(make_stage("track", model=", ".join(models) or None,
                                                          params=asdict(self.options)))

    @property
    def needs_video(self) -> bool:
        """Whether this step reads pixels (re-identification by appearance); the default path needs none."""
        return (self.options or TrackerOptions()).reid != "none"

    def frames(self, records: Iterator[Record], video: Any = None) -> Iterator[Record]:
        """Tracked frames; if the input breaks, the frames still buffered come out before the error.

        With ``reid`` on, ``video`` gives each frame's image (a frame source, as for pose2d).
        """
        if self.needs_video and video is None:
            raise OptionError("reid", "re-identification by appearance needs the video (the stream header's, or --video)")
        return flush_on_error(records, lambda recs: self._track(recs, video if self.needs_video else None))

    def _track(self, records: Iterator[Record], video: Any) -> Iterator[Record]:
        if video is None:
            for rec in records:
                yield from self.tracker.push(rec)
        else:
            kp_thr = max(self.tracker.opt.kp_thr, 0.2)  # only fairly sure keypoints place the samples
            for rec, image in frames_with_images(records, frames_of(video)):  # a shared tee in `posetool run`
                boxes = [_box(inst) for inst in rec["instances"]]
                embeddings = [self.describe(image, _points(inst.get("keypoints")), boxes[i], kp_thr, occluders(boxes, i))
                              if clean_view(boxes[i], image.shape[1]) else None
                              for i, inst in enumerate(rec["instances"])]
                yield from self.tracker.push(rec, embeddings)
        yield from self.tracker.flush()


@contextmanager
def reid_video(header: Record, video: str | None, reid: str) -> Iterator[tuple[str, Any]]:
    """Open the video that re-identification reads, once, and resolve ``--reid auto``.

    Yields (the ``reid`` to track with, the opened video source or None). ``auto`` becomes
    ``appearance`` when the stream's video (``video``, else the header's) opens, else ``none`` with a
    note on stderr — re-identification keeps ids across absences (README's trust table: 85 % of
    2–5 s re-entries kept, none without) but needs the pixels. ``none`` opens nothing; ``appearance``
    and ``features`` must open it.

    Raises:
        VideoError: the video does not open and ``reid`` needs it, or ``video`` was given (``--video``).
    """
    from posetool import console
    from posetool.errors import VideoError
    from posetool.video.sources import video_for_stream

    if reid == "none":
        yield "none", None
        return
    with ExitStack() as stack:
        try:
            source = stack.enter_context(video_for_stream(header, video))
        except VideoError as exc:
            if reid != AUTO or video:  # it is needed, or the user named it: say what is wrong with it
                raise
            console.info(f"track: re-identification off (--reid auto, {exc}); ids of people who leave and come back are not kept")
            source = None
        yield ("appearance" if reid == AUTO else reid) if source is not None else "none", source


def _points(kps: Any) -> np.ndarray | None:
    return None if kps is None else points_array(kps)


def _box(inst: Record) -> np.ndarray | None:
    return None if inst.get("bbox") is None else np.asarray(inst["bbox"], dtype=np.float64)
