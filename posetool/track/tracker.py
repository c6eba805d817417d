"""The online tracker: assignment per frame, track lifecycle, delayed output for the filters.

Per frame t: similarities between every live track's last pose and each person of t
(:mod:`similarity`), assignment (Hungarian by default) with a gate, new tracks for unmatched
people that have enough confident keypoints, and removal of tracks unseen for more than
``patience`` frames (until then they stay candidates, so a person who reappears gets the old id).

Output is delayed by a fixed number of frames (``lag``) so that
- ids of tracks that never reach ``min_length`` detections are cleared (``track_id: null``;
  the instance itself is kept),
- short gaps (≤ ``max_gap`` frames) can be filled by linear interpolation,
and then optional smoothing runs in frame order: One-Euro (``smooth="online"``), the two-sided
local quadratic of :mod:`offline` (``smooth="offline"``, output delayed by its window) or SmoothNet
(``smooth="smoothnet"``, :mod:`learned`, output delayed by its window T − 1). Memory is
bounded by the live tracks, the re-identification gallery and ``lag`` frames.

Three options make tracks trustworthy over long videos:

- ``lr_repair``: each pose assigned to a track has its left/right groups flipped where the flipped
  labels continue the straight-line motion of the track's last clean frames better
  (:mod:`leftright`).
- ``lr_consistency="offline"``: once ``lr_lookahead`` frames follow a buffered
  frame, each of its tracked poses gets the left/right labels of the cheapest path through the
  track's poses in those frames (:func:`leftright.consistent_labels`: exchanging a pose's labels
  is priced by the pose model's ``lr_doubt`` (``lr_doubt`` weight) or ``lr_cost``, the path between
  poses by their points' acceleration (``lr_order`` 2) or displacement), before smoothing reads them.
  ``lr_consistency="learned"``: the same delay, but the network of :mod:`labeller` reads the
  track's poses as the pose model labelled them ``lr_lookahead`` frames each side and exchanges
  the groups it finds the wrong way round, along a Viterbi path that also weighs the motion
  (``lr_motion``, 16 by default; 0: the network's decision frame by frame). ``"auto"`` (the
  default) is learned when the Tracker is given the network and the poses are COCO-17
  (``posetool track`` and ``run`` load it), offline otherwise.
- ``reid="appearance"``: per-person appearance embeddings (:mod:`appearance`, computed by the
  caller from the video and passed to :meth:`Tracker.push`) keep a running mean per track. A
  person who would start a new track is first compared with the *gallery*: every track not
  matched in this frame and last seen at most ``reid_window`` frames ago (lost tracks move there
  when their ``patience`` ends). Gallery tracks and such people are paired by Hungarian
  assignment on the appearance distance, accepting pairs at most ``reid_thr`` apart whose box
  moved a plausible distance (:func:`plausible_move`); the person takes the old id. A person
  entering the view is only partly visible at first, so a track started anyway stays *young*
  for ``reid_delay`` frames: each frame its mean embedding is compared with the gallery tracks
  last seen before it was born (the same Hungarian assignment and gates), and a match gives all
  its frames the old id. The output is delayed by ``reid_delay`` frames so that none of them has
  been written yet. A young track without any clean view (a sliver at the border as someone
  leaves) is stitched to a track lost at most 2 frames before it started, half a box height away.
  Someone entering the view half visible often fails the frame-to-frame gate, so an entrance
  comes as a chain of short young tracks: a young track born at most 2 frames after another young
  track was last seen, half a box height away, continues it (:meth:`Tracker._stitch_young`), and
  a young track that ends where a person is re-identified gives its frames that person's id.

Output delay and memory: frames come out ``lag`` = max(``min_length`` − 1, ``interpolate``,
``smooth_window`` (offline smoothing), ``lr_lookahead`` + that window (left/right consistency),
``reid_delay`` (re-identification)) frames after they go in, and every relabelling touches only buffered frames. Memory: the ``lag`` buffered frames, the
live tracks, the gallery (tracks lost in the last ``reid_window`` frames, each a mean embedding
and at most 8 exemplars) and ``smooth_window`` raw poses per track.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from posetool.errors import OptionError
from posetool.skeletons import get_skeleton
from posetool.stream.encoding import points_array
from posetool.track.appearance import appearance_distance, merge
from posetool.track.assignment import MATCHERS
from posetool.track.leftright import (LR_ORDERS, MAX_LINK, LeftRightHistory, confident_xy, consistency_groups, consistent_labels,
                                      flip_groups, flip_path, pose_height)
from posetool.pose2d.flip import flip_permutation
from posetool.track.labeller import group_columns
from posetool.track.offline import smooth_at
from posetool.track.similarity import MatchInputs, SimilarityWeights, similarity_matrix
from posetool.track.smoothing import OneEuroFilter

if TYPE_CHECKING:
    from posetool.track.labeller import LearnedLabeller
    from posetool.track.learned import LearnedSmoother

# The smallest allowed value of each integer option.
_MINIMUM = {"patience": 0, "min_length": 1, "interpolate": 0, "min_keypoints": 0, "smooth_window": 1, "lr_lookahead": 0,
            "smooth_degree": 0,
            "reid_window": 0, "reid_delay": 0}
SMOOTHERS = ("none", "online", "offline", "smoothnet")  # smoothnet: learned (learned.py), needs its model
LR_CONSISTENCY = ("auto", "offline", "learned", "none")  # learned: labeller.py, needs its model; auto: resolve_lr_consistency
REIDS = ("none", "appearance", "features")  # features: the correspondence backbone (track/features.py)
# Re-identification: how far the running mean of a track's embedding moves towards each new one
# (a young track averages its first embeddings equally).
_EMBED_RATE = 0.1
# Exemplars kept per track, and how many embeddings apart they are taken.
_EXEMPLARS = 8
_EXEMPLAR_EVERY = 10
# A young track never seen clearly continues a track lost at most this many frames before it started.
_STITCH_FRAMES = 2
# A person moves at most this many box heights per second (a sprint is ~5 m/s, 3 heights/s) plus
# one height of slack: a longer jump cannot be the same person.
_MAX_HEIGHTS_PER_S = 3.0


@dataclass(frozen=True)
class TrackerOptions:
    """Tracker settings; checked on construction (:class:`OptionError` naming the field)."""

    similarity: str = "oks"          # corr | oks | iou | a weighted mix such as corr:0.5,oks:0.5 | auto
    gate: float = 0.3                # minimum similarity of an accepted match
    matcher: str = "hungarian"       # hungarian | greedy
    kp_thr: float = 0.1              # keypoint confidence counted as present
    corr_thr: float = 0.1            # correspondence value counted as a hit
    min_keypoints: int = 3           # confident keypoints needed to start a track
    patience: int = 10               # frames a lost track stays re-identifiable
    min_length: int = 1              # detections a track needs to keep its id
    interpolate: int = 0             # fill gaps of at most this many frames (0: off)
    smooth: str = "offline"          # none | online (One-Euro) | offline (local quadratic) | smoothnet (needs the loaded model: the commands' default)
    smooth_min_cutoff: float = 1.0   # One-Euro minimum cutoff (Hz)
    smooth_beta: float = 0.007       # One-Euro speed coefficient
    smooth_window: int = 3           # offline: half-width W of the window (frames); output delayed by W
    smooth_degree: int = 2           # offline: degree of the local polynomial
    smooth_fit: float = 0.2          # offline: narrow the window where the fit misses by > this × person size (0: off)
    smooth_model: str = "smoothnet_synth"  # smoothnet: the registered model (the track stage loads it)
    smooth_max_move: float = 0.08    # smoothnet: keep the polynomial where the network moves a point > this × person size (0: off)
    lr_repair: bool = False          # flip left/right groups whose labels break the track's motion
    lr_consistency: str = "auto"     # auto: learned where the Tracker is given the network and poses are COCO-17, else offline | offline: labels decided along the track (Viterbi over a look-ahead) | learned (network over the track) | none
    lr_model: str = "leftright_synth"  # learned: the registered model (the track stage loads it)
    lr_motion: float = 16.0          # learned: weight of the path's motion (person heights) per nat of the network's evidence (0: its decision alone; 16 chosen on development clips, docs/track.md)
    lr_margin: float = 0.0           # learned: exchange a group where its pairs' summed logit exceeds this (0: more likely wrong than right)
    lr_cost: float = 0.1             # offline consistency: price of flipping one pose (person heights of point motion)
    lr_order: int = 1                # offline consistency: judge paths by displacement (1) or acceleration (2)
    lr_doubt: float = 0.0            # offline consistency: price limb labels by the pose model's lr_doubt (× −ln doubt; 0: lr_cost)
    lr_lookahead: int = 25           # offline consistency: poses after a frame that decide its labels (output delay)
    lr_min_sep: float = 0.1          # pairs closer than this × person height carry no left/right evidence
    lr_ratio: float = 0.8            # flip when the flipped labels fit below this × the kept ones
    reid: str = "none"               # none | appearance (colour) | features (correspondence backbone); reads video
    reid_window: int = 250           # frames a lost track stays in the re-identification gallery
    reid_thr: float = 0.5            # largest appearance distance of a re-identification
    reid_delay: int = 50             # frames a new track may still take a lost track's id (output delay)
    fps: float = 25.0                # frame rate, for the plausible-move gate of re-identification

    def __post_init__(self) -> None:
        if isinstance(self.smooth, bool):  # the old boolean option: True meant One-Euro
            object.__setattr__(self, "smooth", "online" if self.smooth else "none")
        self.validate()

    def validate(self) -> None:
        """Raise :class:`OptionError` naming the first field with a bad value."""
        if self.similarity != "auto":  # auto: the track stage picks from the stream (engine.presets.auto_similarity)
            SimilarityWeights.parse(self.similarity)
        if self.matcher not in MATCHERS:
            raise OptionError("matcher", f"must be one of {', '.join(MATCHERS)}, got {self.matcher!r}")
        for name, least in _MINIMUM.items():
            if getattr(self, name) < least:
                raise OptionError(name, f"must be ≥ {least}")
        if self.smooth not in SMOOTHERS:
            raise OptionError("smooth", f"must be one of {', '.join(SMOOTHERS)}, got {self.smooth!r}")
        if self.reid not in REIDS:
            raise OptionError("reid", f"must be one of {', '.join(REIDS)}, got {self.reid!r}")
        if self.lr_consistency not in LR_CONSISTENCY:
            raise OptionError("lr_consistency", f"must be one of {', '.join(LR_CONSISTENCY)}, got {self.lr_consistency!r}")
        if self.lr_order not in LR_ORDERS:
            raise OptionError("lr_order", f"must be one of {', '.join(map(str, LR_ORDERS))}, got {self.lr_order!r}")
        if not self.lr_motion >= 0:
            raise OptionError("lr_motion", "must be ≥ 0")
        if not np.isfinite(self.lr_margin):
            raise OptionError("lr_margin", "must be a finite number")
        if not self.lr_doubt >= 0:
            raise OptionError("lr_doubt", "must be ≥ 0")
        if not self.lr_cost >= 0:  # also NaN
            raise OptionError("lr_cost", "must be ≥ 0")
        if not 0 < self.lr_ratio <= 1:
            raise OptionError("lr_ratio", "must be in (0, 1]")
        if self.lr_min_sep < 0:
            raise OptionError("lr_min_sep", "must be ≥ 0")
        if not self.smooth_fit >= 0:  # also NaN
            raise OptionError("smooth_fit", "must be ≥ 0")
        if not self.smooth_max_move >= 0:
            raise OptionError("smooth_max_move", "must be ≥ 0")
        if self.smooth_degree > 2 * self.smooth_window:  # more coefficients than frames in the window
            raise OptionError("smooth_degree", f"{self.smooth_degree} needs a window of at least {(self.smooth_degree + 1) // 2} "
                              f"frames per side (smooth_window is {self.smooth_window})")
        if self.fps <= 0:
            raise OptionError("fps", "must be positive")


@dataclass
class Track:
    """A live track: id and its last instance (with that instance's frame and index in the frame).

    ``embedding`` is the running mean of its appearance embeddings (re-identification), ``lr`` the
    recent repaired poses that left/right repair continues.
    """

    track_id: int
    last: dict[str, Any]
    last_frame: int
    last_index: int
    embedding: np.ndarray | None = None
    embedded: int = 0  # embeddings merged into ``embedding``
    # A few past embeddings (one every `_EXEMPLAR_EVERY`), so that a person seen from another side
    # or with a contaminated running mean still matches one of their earlier looks.
    exemplars: list[np.ndarray] = field(default_factory=list)
    born: int = -1  # frame the track started; -1 for a track re-identified (no longer young)
    lr: LeftRightHistory | None = None


def _confident(inst: dict, kp_thr: float) -> int:
    kps = inst.get("keypoints")
    if kps is None:
        return -1  # a box-only person
    return sum(1 for p in kps if p[2] is not None and p[2] > kp_thr)


def _lerp_instance(a: dict, b: dict, w: float) -> dict:
    """An instance between ``a`` (w = 0) and ``b`` (w = 1): boxes and keypoints interpolated."""
    out: dict[str, Any] = {"origin": "interpolated", "score": min(a.get("score") or 0.0, b.get("score") or 0.0)}
    if a.get("bbox") is not None and b.get("bbox") is not None:
        out["bbox"] = ((1 - w) * np.asarray(a["bbox"], float) + w * np.asarray(b["bbox"], float)).tolist()
    for key in ("keypoints", "keypoints_3d"):
        if a.get(key) is not None and b.get(key) is not None and len(a[key]) == len(b[key]):
            pa = points_array(a[key])
            pb = points_array(b[key])
            mix = (1 - w) * pa + w * pb
            if key == "keypoints":
                mix[:, 2] = np.minimum(pa[:, 2], pb[:, 2])
            out[key] = mix
    return out


def resolve_lr_consistency(mode: str, skeleton: str | None) -> str:
    """``auto`` → ``learned`` for COCO-17 poses (the labeller's layout), ``offline`` for other skeletons."""
    if mode != "auto":
        return mode
    return "learned" if (skeleton or "coco17") == "coco17" else "offline"


class Tracker:
    """Online multi-person tracker; feed frames with :meth:`push`, drain with :meth:`flush`."""

    def __init__(self, options: TrackerOptions, skeleton: str | None, smoother: LearnedSmoother | None = None,
                 labeller: LearnedLabeller | None = None) -> None:
        """``smoother``: the loaded network that ``smooth="smoothnet"`` runs; ``labeller``: the one
        ``lr_consistency="learned"`` runs (the track stage loads both)."""
        if options.lr_consistency == "auto":  # learned where its network was given and the layout is COCO-17
            learned = labeller is not None and resolve_lr_consistency("auto", skeleton) == "learned"
            options = replace(options, lr_consistency="learned" if learned else "offline")
        self.opt = options  # valid: TrackerOptions checks itself when built
        if options.smooth == "smoothnet" and smoother is None:
            raise OptionError("smooth", "smoothnet needs its loaded model (posetool.track.learned.LearnedSmoother)")
        if options.lr_consistency == "learned" and labeller is None:
            raise OptionError("lr_consistency", "learned needs its loaded model (posetool.track.labeller.LearnedLabeller)")
        if options.lr_consistency == "learned" and (skeleton or "coco17") != "coco17":
            raise OptionError("lr_consistency", f"learned reads COCO-17 poses, the stream's skeleton is {skeleton}; "
                                                "use --lr-consistency offline")
        self.smoother = smoother if options.smooth == "smoothnet" else None
        self.labeller = labeller if options.lr_consistency == "learned" else None
        self.weights = SimilarityWeights.parse(options.similarity)
        self.match = MATCHERS[options.matcher]
        self.skeleton = skeleton or "coco17"
        self.tracks: dict[int, Track] = {}
        self.next_id = 0
        # Track id → detections so far. Kept by id, not on Track, because a track removed after
        # `patience` may still have frames in the buffer whose output needs its count.
        self.hits: dict[int, int] = {}
        self.buffer: deque[dict] = deque()
        # offline: the polynomial's half-width; smoothnet: every window containing a frame must be complete
        # (T − 1 frames after it), and frames no window covers fall back to the polynomial
        smooth_lag = {"offline": options.smooth_window,
                      "smoothnet": max(self.smoother.window - 1, options.smooth_window) if self.smoother else 0}.get(options.smooth, 0)
        self.smooth_reach = smooth_lag
        self.lr_offline = options.lr_consistency in ("offline", "learned")  # both decide with a look-ahead
        # a frame's labels are decided once `lr_lookahead` frames follow it, before smoothing reads it
        self.lag = max(options.min_length - 1, options.interpolate, smooth_lag,
                       options.lr_lookahead + smooth_lag if self.lr_offline else 0,
                       options.reid_delay if options.reid != "none" else 0)
        self.filters: dict[int, OneEuroFilter] = {}
        self.groups = flip_groups(self.skeleton)
        # Tracks past their patience, kept for re-identification until `reid_window` ends.
        self.gallery: dict[int, Track] = {}
        self.first: dict[int, dict] = {}  # young track → its first instance (the re-identification's move gate)
        # Offline smoothing: per track, the raw (frame, keypoints) of the last `smooth_window` output frames.
        self.raw_history: dict[int, deque[tuple[int, np.ndarray]]] = {}
        # Left/right consistency: the newest buffered frames whose labels are not decided yet, and per
        # track its last two decided poses ((frame, (K, 2) points, NaN where not confident, height)).
        self.lr_groups = consistency_groups(self.skeleton)
        self.lr_group_pairs = dict(self.lr_groups)  # name → pairs, for the pairs a decision exchanged
        self.flip_pairs = tuple(tuple(pair) for pair in get_skeleton(self.skeleton).flip_pairs)
        self.lr_pending = 0
        self.lr_anchors: dict[int, deque[tuple[int, np.ndarray, float]]] = {}  # per track: its last two decided poses
        # Learned labels: per track, its last `lr_lookahead` decided poses as the pose model gave them
        # (frame, (K, 3) keypoints, (4,) box, (P,) doubts): the network reads labels before any exchange.
        self.lr_raw: dict[Any, deque[tuple[int, np.ndarray, np.ndarray, np.ndarray]]] = {}
        self.lr_learned_groups = group_columns(list(self.groups.items()), self.flip_pairs) if self.labeller else []

    # --- per-frame assignment -----------------------------------------------------------------
    def _assign(self, frame: dict, embeddings: list[np.ndarray | None] | None = None) -> None:
        t = frame["frame"]
        people = frame["instances"]
        embeddings = embeddings if embeddings is not None else [None] * len(people)
        corr = {c["source"]: c for c in frame.get("correspondences") or [] if "source" in c}
        live = sorted(self.tracks.values(), key=lambda tr: tr.track_id)
        inputs = MatchInputs(
            tracks=[tr.last for tr in live], people=people,
            sources=[tr.last_index if tr.last_frame == t - 1 else None for tr in live],
            correspondences=corr, skeleton=self.skeleton, kp_thr=self.opt.kp_thr, corr_thr=self.opt.corr_thr)
        sim = similarity_matrix(inputs, self.weights)
        assigned: dict[int, tuple[Track, float]] = {}
        for r, c in self.match(sim, self.opt.gate):
            assigned[c] = (live[r], float(sim[r, c]))
        starters = [j for j in range(len(people)) if j not in assigned and self._can_start(people[j])]
        if self.opt.reid != "none":
            taken = {tr.track_id for tr, _ in assigned.values()}
            for j, (track, score) in self._reidentify(t, people, embeddings, starters, taken).items():
                assigned[j] = (track, score)
                track.born = -1
                self.tracks[track.track_id] = self.gallery.pop(track.track_id, track)
            busy = {tr.track_id for tr, _ in assigned.values()}
            for j, (track, _) in list(assigned.items()):
                if track.born == -1 and track.last_frame < t and j in starters:  # re-identified just now
                    self._absorb_fragment(track, people[j], t, busy)
            starters = [j for j in starters if j not in assigned]
        for j, inst in enumerate(people):
            if j in assigned:
                track, score = assigned[j]
                gap = t - track.last_frame - 1
                if self.opt.lr_repair:
                    self._repair(track, inst, t)
                if 0 < gap <= self.opt.interpolate:
                    self._fill_gap(track, inst, t)
                # a copy: smoothing later replaces the instance's keypoints, and matching must see the raw ones
                track.last, track.last_frame, track.last_index = dict(inst), t, j
                self.hits[track.track_id] += 1
                inst["track_id"] = track.track_id
                inst["track_score"] = round(score, 6)
            elif j in starters:
                track = Track(self.next_id, dict(inst), t, j, born=t)
                self.tracks[track.track_id] = track
                if self.opt.reid != "none":
                    self.first[track.track_id] = inst
                self.hits[track.track_id] = 1
                self.next_id += 1
                inst["track_id"] = track.track_id
                inst["track_score"] = None
                if self.opt.lr_repair:
                    self._repair(track, inst, t)
            else:
                inst["track_id"] = None
            if inst.get("track_id") is not None and embeddings[j] is not None:
                tr = self.tracks[inst["track_id"]]
                tr.embedding = merge(tr.embedding, embeddings[j], max(_EMBED_RATE, 1.0 / (tr.embedded + 1)))
                if tr.embedded % _EXEMPLAR_EVERY == 0:
                    tr.exemplars = [*tr.exemplars, embeddings[j]][-_EXEMPLARS:]
                tr.embedded += 1
        if self.opt.reid != "none":
            self._reidentify_young(t)
        for tid in [tid for tid, tr in self.tracks.items() if t - tr.last_frame > self.opt.patience]:
            if self.opt.reid != "none" and self.tracks[tid].embedding is not None:
                self.gallery[tid] = self.tracks[tid]
            del self.tracks[tid]
        for tid in [tid for tid, tr in self.gallery.items() if t - tr.last_frame > self.opt.reid_window]:
            del self.gallery[tid]
        for tid in [tid for tid in self.first
                    if tid not in self.tracks or t - self.tracks[tid].born >= self.opt.reid_delay]:
            del self.first[tid]

    def _can_start(self, inst: dict) -> bool:
        """Whether an unmatched person may start a track (a box-only person always may)."""
        n = _confident(inst, self.opt.kp_thr)
        return n == -1 or n >= self.opt.min_keypoints

    def _repair(self, track: Track, inst: dict, t: int) -> None:
        """Flip ``inst``'s left/right groups where that continues ``track`` better (see :mod:`leftright`)."""
        if inst.get("keypoints") is None:
            return
        if track.lr is None:
            track.lr = LeftRightHistory(self.groups, self.opt.kp_thr, self.opt.lr_min_sep, self.opt.lr_ratio)
        kps = points_array(inst["keypoints"])
        box = np.asarray(inst["bbox"], dtype=np.float64) if inst.get("bbox") is not None else None
        flipped = track.lr.repair(kps, box, t)
        if flipped:
            inst["keypoints"] = kps
            inst["lr_flipped"] = flipped
            self._doubt_after_exchange(inst, [pair for name in flipped for pair in self.groups[name]])

    def _absorb_fragment(self, track: Track, inst: dict, t: int, busy: set[int]) -> None:
        """``track`` was re-identified in frame ``t`` at ``inst``: a young track last seen at most
        ``_STITCH_FRAMES`` frames before, within half a box height, was the same person entering the
        view (see :meth:`_stitch_young`); its buffered instances take ``track``'s id. Only a fragment
        born after ``track`` was last seen can be it: one that overlaps ``track`` in time is someone else
        (taking the id would put it twice in a frame)."""
        frags = [tr for tr in self.tracks.values() if 0 <= t - tr.born < self.opt.reid_delay and tr.born >= 0
                 and tr.born > track.last_frame
                 and tr.track_id != track.track_id and tr.track_id not in busy
                 and tr.last_frame < t and t - tr.last_frame <= _STITCH_FRAMES + 1
                 and plausible_move(tr.last, inst, 0.0, 0.5)]
        # One person's fragments follow each other: the latest and nearest first, then only those
        # that overlap none already taken (two fragments in one frame are two people).
        frags.sort(key=lambda tr: (-tr.last_frame, box_shift(tr.last, inst)))
        spans: list[tuple[int, int]] = []
        for frag in frags:
            if any(frag.born <= b and a <= frag.last_frame for a, b in spans):
                continue
            spans.append((frag.born, frag.last_frame))
            for frame in self.buffer:
                for other in frame["instances"]:
                    if other.get("track_id") == frag.track_id:
                        other["track_id"] = track.track_id
            self.hits[track.track_id] = self.hits.get(track.track_id, 0) + self.hits.pop(frag.track_id, 0)
            del self.tracks[frag.track_id]
            self.first.pop(frag.track_id, None)

    def _stitch_young(self, t: int) -> None:
        """Join fragments of one person entering the view: a young track born at most ``_STITCH_FRAMES``
        frames after another young track was last seen, within half a box height of it, continues it
        (the pose of someone half in view often fails the frame-to-frame gate, so an entrance comes as
        a chain of short tracks; only the chain as a whole can be re-identified)."""
        young = sorted((tr for tr in self.tracks.values() if tr.born >= 0 and t - tr.born < self.opt.reid_delay),
                       key=lambda tr: tr.born)
        for new in young:
            first = self.first.get(new.track_id)
            if first is None or new.born != t:
                continue
            olds = [old for old in young if old.track_id in self.tracks and old.track_id != new.track_id
                    and old.last_frame < new.born and new.born - old.last_frame <= _STITCH_FRAMES
                    and plausible_move(old.last, first, 0.0, 0.5)]
            if olds:
                old = max(olds, key=lambda tr: tr.last_frame)
                born = old.born
                self._merge(old, new)
                old.born = born  # still young: the joined track may yet take a lost track's id
                self.first[old.track_id] = self.first.get(old.track_id, first)

    def _reidentify_young(self, t: int) -> None:
        """Give young tracks (see module docstring) the id of the lost track they match, if any."""
        self._stitch_young(t)
        young = [tr for tr in self.tracks.values() if tr.born >= 0 and t - tr.born < self.opt.reid_delay]
        if not young:
            return
        ids = {tr.track_id for tr in young}
        cands = [tr for tr in [*self.tracks.values(), *self.gallery.values()]
                 if tr.track_id not in ids and tr.last_frame < max(y.born for y in young)
                 and t - tr.last_frame <= self.opt.reid_window]
        if not cands:
            return
        cost = np.full((len(cands), len(young)), np.inf)
        for r, old in enumerate(cands):
            for c, new in enumerate(young):
                first = self.first.get(new.track_id)
                if first is None or old.last_frame >= new.born:
                    continue
                if new.embedding is None:
                    # never seen clearly (a sliver at the border as someone leaves): only a track lost
                    # right before, where it appeared, continues in it
                    if new.born - old.last_frame <= _STITCH_FRAMES and plausible_move(old.last, first, 0.0, 0.5):
                        cost[r, c] = self.opt.reid_thr
                elif old.embedding is not None and plausible_move(old.last, first,
                                                                   (new.born - old.last_frame) / self.opt.fps):
                    cost[r, c] = track_distance(old, new.embedding)
        allowed = cost <= self.opt.reid_thr
        if not allowed.any():
            return
        rows, cols = linear_sum_assignment(np.where(allowed, cost, 1e6))
        for r, c in zip(rows, cols):
            if allowed[r, c]:
                self._merge(cands[r], young[c])

    def _merge(self, old: Track, new: Track) -> None:
        """``new`` (young) was ``old`` all along: its buffered instances take ``old``'s id, ``old`` its state."""
        for frame in self.buffer:
            for inst in frame["instances"]:
                if inst.get("track_id") == new.track_id:
                    inst["track_id"] = old.track_id
        old.last, old.last_frame, old.last_index, old.lr = new.last, new.last_frame, new.last_index, new.lr
        if new.embedding is not None:
            old.embedding = new.embedding if old.embedding is None else merge(old.embedding, new.embedding, 0.5)
        old.exemplars = [*old.exemplars, *new.exemplars][-_EXEMPLARS:]
        old.born = -1
        self.hits[old.track_id] = self.hits.get(old.track_id, 0) + self.hits.pop(new.track_id, 0)
        del self.tracks[new.track_id]
        self.first.pop(new.track_id, None)
        self.gallery.pop(old.track_id, None)
        self.tracks[old.track_id] = old

    def _reidentify(self, t: int, people: list[dict], embeddings: list[np.ndarray | None], starters: list[int],
                    taken: set[int]) -> dict[int, tuple[Track, float]]:
        """Person index → (gallery track, 1 − distance) for people re-identified in frame ``t``.

        Candidates: tracks in the gallery and live tracks neither matched in this frame nor seen
        in it, last seen at most ``reid_window`` frames ago, with an embedding.
        """
        cands = [tr for tr in [*self.tracks.values(), *self.gallery.values()]
                 if tr.track_id not in taken and tr.last_frame < t and t - tr.last_frame <= self.opt.reid_window
                 and tr.embedding is not None]
        cols = [j for j in starters if embeddings[j] is not None]
        if not cands or not cols:
            return {}
        cost = np.full((len(cands), len(cols)), np.inf)
        for r, tr in enumerate(cands):
            for c, j in enumerate(cols):
                if plausible_move(tr.last, people[j], (t - tr.last_frame) / self.opt.fps):
                    cost[r, c] = track_distance(tr, embeddings[j])  # type: ignore[arg-type]
        allowed = cost <= self.opt.reid_thr
        if not allowed.any():
            return {}
        rows, sel = linear_sum_assignment(np.where(allowed, cost, 1e6))
        return {cols[c]: (cands[r], round(1.0 - float(cost[r, c]), 6)) for r, c in zip(rows, sel) if allowed[r, c]}

    def _fill_gap(self, track: Track, inst: dict, t: int) -> None:
        """Interpolate ``track`` into the buffered frames between its last detection and ``t``."""
        start = track.last_frame
        for frame in self.buffer:
            f = frame["frame"]
            # a frame the track is already in (a fragment re-identified into the gap) needs no fill
            if start < f < t and all(other.get("track_id") != track.track_id for other in frame["instances"]):
                new = _lerp_instance(track.last, inst, (f - start) / (t - start))
                new["track_id"] = track.track_id
                frame["instances"].append(new)

    # --- delayed output -------------------------------------------------------------------------
    def _finalise(self, frame: dict) -> dict:
        for inst in frame["instances"]:
            tid = inst.get("track_id")
            if tid is None:
                continue
            if self.hits.get(tid, 0) < self.opt.min_length:
                inst["track_id"] = None
                inst["track_score"] = None
                continue
            if self.opt.smooth == "online" and inst.get("keypoints") is not None:
                filt = self.filters.setdefault(tid, OneEuroFilter(self.opt.smooth_min_cutoff, self.opt.smooth_beta))
                kps = points_array(inst["keypoints"])
                t = frame.get("t")
                t = float(t) if t is not None else float(frame["frame"])
                kps[:, :2] = filt(kps[:, :2], t)
                inst["keypoints"] = kps
            elif self.opt.smooth in ("offline", "smoothnet") and inst.get("keypoints") is not None:
                self._smooth_offline(frame["frame"], inst)
        live = set(self.tracks) | set(self.gallery)
        for tid in [tid for tid in self.filters if tid not in live]:
            del self.filters[tid]
        for tid in [tid for tid, h in self.raw_history.items() if tid not in live and h[-1][0] < frame["frame"]]:
            del self.raw_history[tid]
            if self.smoother is not None:  # its cached windows live as long as its raw history
                self.smoother.forget(tid)
        return frame

    def _decide_labels(self, i: int) -> None:
        """Decide the left/right labels of buffered frame ``i``'s tracked poses with the poses of the
        same tracks in the (at most ``lr_lookahead``) frames after it (:func:`consistent_labels`)."""
        if self.labeller is not None:
            self._learned_labels(i)
            return
        frame = self.buffer[i]
        f = frame["frame"]
        # per track of this frame: its (pose, frame, height, doubts) in this frame and every later buffered one
        windows: dict[Any, list[tuple[np.ndarray, int, float, np.ndarray]]] = {}
        for inst in frame["instances"]:
            if inst.get("track_id") is not None and inst.get("keypoints") is not None:
                kps, height = _pose_and_height(inst)
                windows[inst["track_id"]] = [(kps, f, height, self._doubts(inst))]
        for later in itertools.islice(self.buffer, i + 1, None):
            for other in later["instances"]:
                tid = other.get("track_id")
                if tid in windows and other.get("keypoints") is not None:
                    pts, h = _pose_and_height(other)
                    if pts.shape == windows[tid][0][0].shape:
                        windows[tid].append((pts, later["frame"], h, self._doubts(other)))
        for inst in frame["instances"]:
            tid = inst.get("track_id")
            if tid not in windows or inst.get("keypoints") is None:
                continue
            poses, frames, heights, doubts = zip(*windows[tid])
            anchors = self.lr_anchors.setdefault(tid, deque(maxlen=2))
            pose, flipped = consistent_labels(list(poses), np.array(heights), np.array(frames), self.lr_groups,
                                              self.opt.lr_cost, self.opt.kp_thr, list(anchors), self.opt.lr_order,
                                              np.stack(doubts), self.flip_pairs, self.opt.lr_doubt)
            if flipped:
                inst["keypoints"] = pose
                inst["lr_flipped"] = [*(inst.get("lr_flipped") or []), *flipped]
                self._doubt_after_exchange(inst, [pair for name in flipped for pair in self.lr_group_pairs[name]])
            anchors.append((f, confident_xy(pose, self.opt.kp_thr), heights[0]))
        self.lr_pending -= 1
        for tid in [tid for tid, anchors in self.lr_anchors.items() if f - anchors[-1][0] > MAX_LINK]:
            del self.lr_anchors[tid]  # too old to link (bounded memory)

    def _learned_labels(self, i: int) -> None:
        """``lr_consistency="learned"``: the labels of buffered frame ``i``'s tracked poses from the
        network (:mod:`posetool.track.labeller`), read over the track's poses as the pose model gave
        them in frames f − ``lr_lookahead`` … f + ``lr_lookahead``; a group is exchanged where its
        pairs' summed logit exceeds ``lr_margin`` (0: where the network finds the labels more likely
        wrong than right)."""
        frame = self.buffer[i]
        f, half = frame["frame"], self.opt.lr_lookahead
        current = {inst["track_id"]: inst for inst in frame["instances"]
                   if inst.get("track_id") is not None and inst.get("keypoints") is not None}
        rows = {tid: list(self.lr_raw.get(tid, ())) for tid in current}  # earlier frames, as the model gave them
        for later in itertools.islice(self.buffer, i, None):  # this frame and later ones: not decided yet
            for other in later["instances"]:
                if other.get("track_id") in rows and other.get("keypoints") is not None:
                    rows[other["track_id"]].append(self._raw_row(later["frame"], other))
        tids = list(current)
        windows = [self._window(rows[tid], f, half) for tid in tids]
        logits = self.labeller.logits(windows) if tids else np.zeros((0, len(self.flip_pairs), 2 * half + 1))  # type: ignore[union-attr]
        for tid, window, logit in zip(tids, windows, logits):
            inst = current[tid]
            raw = next(row for row in rows[tid] if row[0] == f)  # this pose as the model gave it (gathered above)
            if self.opt.lr_motion > 0:
                flipped = self._learned_path(tid, window, logit, f, half)
            else:
                flipped = [name for name, cols in self.lr_learned_groups if logit[cols, half].sum() > self.opt.lr_margin]
            if flipped:
                kps = points_array(inst["keypoints"])
                pairs = [pair for name in flipped for pair in self.groups[name]]
                kps = kps[flip_permutation(len(kps), pairs)]
                inst["keypoints"] = kps
                inst["lr_flipped"] = [*(inst.get("lr_flipped") or []), *flipped]
                self._doubt_after_exchange(inst, pairs)
            if self.opt.lr_motion > 0:
                self.lr_anchors.setdefault(tid, deque(maxlen=2)).append(
                    (f, confident_xy(points_array(inst["keypoints"]), self.opt.kp_thr), pose_height(raw[1], raw[2])))
            self.lr_raw.setdefault(tid, deque(maxlen=half)).append(raw)
        self.lr_pending -= 1
        for tid in [tid for tid, past in self.lr_raw.items() if not past or f - past[-1][0] >= half]:
            del self.lr_raw[tid]  # out of every later window (bounded memory)
        for tid in [tid for tid, anchors in self.lr_anchors.items() if f - anchors[-1][0] > MAX_LINK]:
            del self.lr_anchors[tid]

    def _learned_path(self, tid: Any, window: tuple[np.ndarray, np.ndarray, np.ndarray], logit: np.ndarray,
                      f: int, half: int) -> list[str]:
        """``lr_motion`` > 0: each group's labels along the track's poses in frames f … f + half as a
        Viterbi path (:func:`flip_path`) that prices a pose's labels kept / exchanged by the network's
        evidence (−ln of its probability that they are right / wrong, ÷ ``lr_motion``) and the path
        between poses by their motion (``lr_order``), from the track's last decided poses. Returns the
        groups exchanged at f. ``window``: the track's raw (T, K, 3), (T, 4), (T, P); ``logit``: (P, T)."""
        kps, boxes = window[0][half:], window[1][half:]
        have = np.isfinite(boxes).all(axis=1)
        frames = np.flatnonzero(have) + f
        kps = kps[have]
        heights = np.array([pose_height(k, b) for k, b in zip(kps, boxes[have])])
        xy = confident_xy(kps, self.opt.kp_thr)
        anchors = list(self.lr_anchors.get(tid, ()))
        flipped = []
        for name, cols in self.lr_learned_groups:
            evidence = logit[cols][:, half:][:, have].sum(axis=0) - self.opt.lr_margin  # (N,) summed logit: labels exchanged
            unary = np.stack([np.logaddexp(0.0, evidence), np.logaddexp(0.0, -evidence)], axis=1) / self.opt.lr_motion
            path = flip_path(xy, heights, frames, self.groups[name], 0.0, anchors, self.opt.lr_order, unary)
            if path[0]:
                flipped.append(name)
        return flipped

    def _raw_row(self, f: int, inst: dict) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        """(frame, (K, 3) keypoints, (4,) box, (P,) doubts) of an instance as it stands."""
        kps = np.array(points_array(inst["keypoints"])[:, :3], dtype=np.float64)
        box = inst.get("bbox")
        if box is None:
            ok = np.isfinite(kps[:, :2]).all(axis=1)
            box = np.concatenate([kps[ok, :2].min(0), kps[ok, :2].max(0)]) if ok.sum() >= 2 else np.full(4, np.nan)
        return f, kps, np.asarray(box, dtype=np.float64), self._doubts(inst)

    def _window(self, rows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]], f: int,
                half: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A track's rows placed in frames f − half … f + half (NaN where it has no pose)."""
        t, k = 2 * half + 1, len(rows[-1][1])
        kps, boxes = np.full((t, k, 3), np.nan), np.full((t, 4), np.nan)
        doubts = np.full((t, len(self.flip_pairs)), np.nan)
        for g, kp, box, doubt in rows:
            j = g - f + half
            if 0 <= j < t and kp.shape == (k, 3):
                kps[j], boxes[j], doubts[j] = kp, box, doubt
        return kps, boxes, doubts

    def _doubt_after_exchange(self, inst: dict, pairs: list[tuple[int, int]]) -> None:
        """Keep ``inst``'s ``lr_doubt`` true after its ``pairs`` were exchanged (a pair listed twice is
        back as the model gave it): an exchanged pair's labels the other way round are the pose
        model's own, which its heatmaps support at least as much, so its doubt becomes 1."""
        doubt = inst.get("lr_doubt")
        if doubt is None or len(doubt) != len(self.flip_pairs):
            return
        doubt = list(doubt)
        for j, pair in enumerate(self.flip_pairs):
            if sum(tuple(p) == pair for p in pairs) % 2:
                doubt[j] = 1.0
        inst["lr_doubt"] = doubt

    def _doubts(self, inst: dict) -> np.ndarray:
        """(P,) the pose model's ``lr_doubt`` of an instance per flip pair, NaN where not given (or
        not one per pair: a stream from another model)."""
        doubt = inst.get("lr_doubt")
        if doubt is None or len(doubt) != len(self.flip_pairs):
            return np.full(len(self.flip_pairs), np.nan)
        return np.array([np.nan if d is None else d for d in doubt], dtype=np.float64)

    def _smooth_offline(self, f: int, inst: dict) -> None:
        """Smooth ``inst`` (frame ``f``) over its track's raw keypoints around f: the local polynomial
        over f − W … f + W, or (``smooth="smoothnet"``) the network over f − (T − 1) … f + (T − 1),
        with the polynomial for frames no full window of the network covers."""
        tid, w = inst["track_id"], self.opt.smooth_window
        raw = points_array(inst["keypoints"])
        hist = self.raw_history.setdefault(tid, deque())
        while hist and hist[0][0] < f - self.smooth_reach:
            hist.popleft()
        window = [*hist, (f, raw)]
        for later in self.buffer:  # frames after f (f itself was taken off the buffer)
            if later["frame"] > f + self.smooth_reach:
                break
            for other in later["instances"]:
                if other.get("track_id") == tid and other.get("keypoints") is not None:
                    window.append((later["frame"], points_array(other["keypoints"])))
        hist.append((f, raw))
        window = [(g, k) for g, k in window if k.shape == raw.shape]
        out = raw.copy()
        refined = self.smoother.refine(tid, f, window) if self.smoother is not None else None
        near = [(g, k) for g, k in window if abs(g - f) <= w]
        if len(near) >= 3 and (refined is None or self.opt.smooth_max_move > 0):
            pts = np.stack([k for _, k in near])
            limit = self.opt.smooth_fit * pose_height(raw, None) if self.opt.smooth_fit > 0 else None
            out[:, :2] = smooth_at(pts[:, :, :2], np.array([g - f for g, _ in near]), pts[:, :, 2], w,
                                   self.opt.smooth_degree, limit)
        if refined is not None:
            if self.opt.smooth_max_move > 0:
                # where the network moves a point farther from the pose model's answer than this, it
                # overrides evidence (a foot strike) rather than removing jitter: the polynomial's value stays
                moved = np.linalg.norm(refined - raw[:, :2], axis=1) > self.opt.smooth_max_move * pose_height(raw, None)
                refined[moved] = out[moved, :2]
            out[:, :2] = refined
        inst["keypoints"] = out

    def push(self, frame: dict, embeddings: list[np.ndarray | None] | None = None) -> Iterator[dict]:
        """Track one frame (edits its instances in place); yields frames whose output is final.

        ``embeddings``: one appearance embedding (or ``None``) per instance, for ``reid="appearance"``.
        """
        self.buffer.append(frame)  # first: a re-identification in this frame relabels it with the buffered ones
        self._assign(frame, embeddings)
        if self.lr_offline:
            self.lr_pending += 1
            while self.lr_pending > self.opt.lr_lookahead:
                self._decide_labels(len(self.buffer) - self.lr_pending)
        while len(self.buffer) > self.lag:
            yield self._finalise(self.buffer.popleft())
        if len(self.hits) > 2 * len(self.tracks) + 64:  # prune now and then, not every frame
            self._forget_hits()

    def flush(self) -> Iterator[dict]:
        """Yield the buffered frames at the end of the stream."""
        while self.lr_pending:
            self._decide_labels(len(self.buffer) - self.lr_pending)
        while self.buffer:
            yield self._finalise(self.buffer.popleft())
        self._forget_hits()  # the buffer is empty: only live tracks keep their counts

    def _forget_hits(self) -> None:
        """Drop hit counts of ended tracks that no buffered frame refers to (bounded memory)."""
        referenced = {i.get("track_id") for f in self.buffer for i in f["instances"]}
        for tid in [tid for tid in self.hits if tid not in self.tracks and tid not in self.gallery
                    and tid not in referenced]:
            del self.hits[tid]


def _pose_and_height(inst: dict) -> tuple[np.ndarray, float]:
    """An instance's (K, 3) keypoints and the person's height in px (its box, else its keypoints)."""
    kps = points_array(inst["keypoints"])
    box = inst.get("bbox")
    return kps, pose_height(kps, None if box is None else np.asarray(box, dtype=np.float64))


def track_distance(track: Track, embedding: np.ndarray) -> float:
    """Appearance distance of ``embedding`` to a track: the smallest over its running mean and exemplars."""
    looks = [e for e in (track.embedding, *track.exemplars) if e is not None]
    return min((appearance_distance(e, embedding) for e in looks), default=1.0)


def box_shift(last: dict, inst: dict) -> float:
    """Distance between the box centres of two instances, in box heights (the larger); 0 without boxes."""
    a, b = last.get("bbox"), inst.get("bbox")
    if a is None or b is None:
        return 0.0
    height = max(a[3] - a[1], b[3] - b[1], 1.0)
    return float(np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2) / height)


def plausible_move(last: dict, inst: dict, seconds: float, slack: float = 1.0) -> bool:
    """Whether a person could have moved from ``last``'s box to ``inst``'s in ``seconds``: centre
    displacement ≤ (``slack`` + 3 · seconds) box heights (the larger of the two heights). True
    without boxes."""
    return box_shift(last, inst) <= slack + _MAX_HEIGHTS_PER_S * seconds
