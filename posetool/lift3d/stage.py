"""The ``posetool lift3d`` stage: every track lifted as its own sequence, frames written in order.

Whole-sequence lifting needs future frames (``pad`` of them for a non-causal model), so the
stage buffers. Memory stays bounded because each track is lifted in chunks of ``chunk`` output
frames whose inputs overlap by ``receptive_field - 1`` frames: a chunk runs as soon as its last
input frame has arrived (or the track ended), which gives exactly the whole-sequence result, and
a frame record is written once every instance in it has been lifted. A frame is therefore held
back at most ``chunk + pad + max_gap + 1`` frames; only that many frame records and, per live
track, ``chunk + receptive_field`` input frames are kept.

Tracks and gaps: a track's sequence is its frames in order. A gap of at most ``max_gap`` frames
is filled by linear interpolation of the 2D input (as VideoPose3D's custom-video preparation
does for missed detections; no output is written for the missing frames); a longer gap ends the
sequence, and the track's later frames start a new one. An instance without ``track_id`` is
lifted alone (a one-frame sequence, edge padded). Keypoints that are null are filled with the
same joint of the track's previous frame, else with the mean of the frame's known keypoints.
Instances without keypoints are passed through unchanged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posetool.engine.flush import flush_on_error
from posetool.engine.presets import SYNTH
from posetool.errors import OptionError, PosetoolError, StreamError, UsageError
from posetool.lift3d.camera import normalize_screen_coordinates
from posetool.lift3d.infer import SequenceLifter
from posetool.lift3d.windows import pad_edge
from posetool.lift3d.world import WorldFrame, add_world, world_from_header
from posetool.nn.videopose3d import VideoPose3D
from posetool.stream import make_stage
from posetool.stream.encoding import points_array

Record = dict[str, Any]


def check_has_keypoints(header: Record) -> None:
    """A stream without a 2D layout (boxes only, from ``detect``) has nothing to lift: bad input (exit 1)."""
    if header.get("skeleton") is None:
        raise StreamError(
            "the input stream has no 2D keypoints (its header names no skeleton; boxes alone cannot be lifted); "
            "run pose2d and track first: posetool detect VIDEO | posetool pose2d | posetool track | posetool lift3d"
        )


def check_input_skeleton(header: Record, model: VideoPose3D, model_name: str) -> None:
    """The stream's 2D layout must be the one the model was trained on (no silent remapping)."""
    check_has_keypoints(header)
    skel = header.get("skeleton")
    if skel != model.in_skeleton:
        raise UsageError(
            f"input stream has {skel} 2D keypoints but model {model_name} was trained on {model.in_skeleton} input; "
            f"use a lifter trained on {skel} (posetool train lift3d) or a stream in {model.in_skeleton}"
        )


def frame_size(header: Record) -> tuple[float, float]:
    """(width, height) from the header's ``source``; lifting normalises by them."""
    src = header.get("source") or {}
    w, h = src.get("width"), src.get("height")
    if not isinstance(w, (int, float)) or not isinstance(h, (int, float)) or w <= 0 or h <= 0:
        raise StreamError("header: source width/height are missing; lift3d normalises keypoints by the frame size")
    return float(w), float(h)


@dataclass
class _Track:
    """One live sequence of a track: normalised inputs from ``base`` on, outputs from ``next_out``."""

    start: int  # absolute frame of the sequence's first frame
    last: int  # last frame the track was seen
    base: int  # absolute frame of inputs[0]
    inputs: list[np.ndarray] = field(default_factory=list)
    next_out: int = 0
    prev: np.ndarray | None = None  # last raw (J, F) input, for filling null keypoints

    def __post_init__(self) -> None:
        self.next_out = self.start


@dataclass
class _Pending:
    frame: Record
    waits: list[tuple[int, Any, int]]  # (instance index, track key, frame)


class LiftStage:
    """Turns 2D frames into lifted frames (see module docstring).

    Args:
        lifter: a :class:`SequenceLifter` (model, flip, device).
        width, height: the frame size used for normalisation.
        chunk: output frames per forward pass and track (>= 1).
        max_gap: longest gap (frames) bridged by interpolation inside one sequence.
    """

    def __init__(self, lifter: SequenceLifter, width: float, height: float, *, chunk: int = 2048, max_gap: int = 10) -> None:
        if chunk < 1:
            raise OptionError("chunk", f"must be at least 1, got {chunk}")
        if max_gap < 0:
            raise OptionError("max_gap", f"must be >= 0, got {max_gap}")
        self.lifter = lifter
        self.model = lifter.model
        self.w, self.h = width, height
        self.chunk = chunk
        self.max_gap = max_gap
        self.left, self.right = lifter.left_pad, lifter.right_pad
        self.rf = lifter.rf
        self.nj = self.model.model_pos.num_joints_in
        self.nf = self.model.model_pos.in_features
        self.tracks: dict[Any, _Track] = {}
        self.results: dict[tuple[Any, int], tuple[np.ndarray, np.ndarray | None]] = {}
        self.pending: deque[_Pending] = deque()
        self.passes = 0

    # --- input preparation ---------------------------------------------------------------
    def _input(self, inst: Record, where: str, prev: np.ndarray | None) -> np.ndarray | None:
        kps = inst.get("keypoints")
        if kps is None:
            return None
        arr = points_array(kps)
        if arr.ndim != 2 or arr.shape[0] != self.nj:
            raise StreamError(f"{where}: {arr.shape[0] if arr.ndim == 2 else '?'} keypoints, the lifter needs {self.nj}")
        xy = arr[:, :2]
        bad = ~np.isfinite(xy).all(axis=1)
        if bad.all():
            return None
        xy = normalize_screen_coordinates(xy, self.w, self.h)
        if bad.any():
            if prev is not None:
                xy[bad] = prev[bad, :2]
            else:
                xy[bad] = xy[~bad].mean(axis=0)
        if self.nf == 2:
            return xy.astype(np.float32)
        conf = arr[:, 2:3] if arr.shape[1] > 2 else np.ones((self.nj, 1))
        conf = np.where(np.isfinite(conf), conf, 0.0)
        return np.concatenate([xy, conf], axis=1).astype(np.float32)

    # --- per-track lifting ----------------------------------------------------------------
    def _run(self, key: Any, tr: _Track, end: int, final: bool) -> None:
        """Compute outputs for frames [tr.next_out, end) of track ``key``."""
        if end <= tr.next_out:
            return
        seq_lo = tr.next_out - self.left  # first input frame needed (may precede the sequence)
        seq_hi = end + self.right  # one past the last input frame needed
        lo, hi = max(seq_lo, tr.start), min(seq_hi, tr.last + 1)
        window = np.stack(tr.inputs[lo - tr.base : hi - tr.base])
        window = pad_edge(window, lo - seq_lo, seq_hi - hi)
        if not final and seq_hi - hi:
            raise AssertionError("lifting a chunk before its inputs arrived")
        out = self.lifter.lift_padded(window)
        self.passes += 1
        for k in range(end - tr.next_out):
            f = tr.next_out + k
            self.results[(key, f)] = (out.pose[k], out.root[k] if out.root is not None else None)
        tr.next_out = end
        # keep only the inputs later chunks can still reach
        keep_from = max(tr.base, tr.next_out - self.left)
        del tr.inputs[: keep_from - tr.base]
        tr.base = keep_from

    def _advance(self, key: Any, tr: _Track) -> None:
        """Run every full chunk whose inputs have all arrived."""
        while tr.last - self.right - tr.next_out + 1 >= self.chunk:
            self._run(key, tr, tr.next_out + self.chunk, final=False)

    def _finish(self, key: Any) -> None:
        tr = self.tracks.pop(key)
        while tr.next_out <= tr.last:
            self._run(key, tr, min(tr.last + 1, tr.next_out + self.chunk), final=True)

    def _add(self, key: Any, frame: int, x: np.ndarray) -> None:
        tr = self.tracks.get(key)
        if tr is not None and frame - tr.last - 1 > self.max_gap:
            self._finish(key)
            tr = None
        if tr is None:
            self.tracks[key] = _Track(start=frame, last=frame, base=frame, inputs=[x], prev=x)
            return
        gap = frame - tr.last - 1
        if gap > 0:  # bridge missed frames by linear interpolation of the input
            a = tr.inputs[-1]
            for g in range(1, gap + 1):
                tr.inputs.append(a + (x - a) * (g / (gap + 1)))
        tr.inputs.append(x)
        tr.last = frame
        tr.prev = x

    # --- frames ---------------------------------------------------------------------------
    def push(self, frame: Record) -> Iterator[Record]:
        """Take the next frame record; yield every frame record that is now complete."""
        idx = frame["frame"]
        # sequences whose gap can no longer be bridged end now
        for key in [k for k, t in self.tracks.items() if idx - t.last - 1 > self.max_gap]:
            self._finish(key)
        waits: list[tuple[int, Any, int]] = []
        seen: set[Any] = set()
        for i, inst in enumerate(frame.get("instances") or []):
            where = f"frame {idx} instance {i}"
            tid = inst.get("track_id")
            tr = self.tracks.get(("t", tid)) if tid is not None else None
            x = self._input(inst, where, tr.prev if tr is not None else None)
            if x is None:
                continue
            if tid is None:
                # untracked: a one-frame sequence of its own
                out = self.lifter.lift(x[None])
                self.passes += 1
                self._write(inst, out.pose[0], out.root[0] if out.root is not None else None)
                continue
            if tid in seen:
                raise StreamError(f"frame {idx}: track_id {tid} appears twice; run posetool track to fix the tracks")
            seen.add(tid)
            key = ("t", tid)
            self._add(key, idx, x)
            waits.append((i, key, idx))
        self.pending.append(_Pending(frame, waits))
        for key in list(set(k for _, k, _ in waits)):
            self._advance(key, self.tracks[key])
        yield from self._emit()

    def close(self) -> Iterator[Record]:
        """End of input: lift what remains and yield the held-back frames."""
        for key in list(self.tracks):
            self._finish(key)
        yield from self._emit()
        if self.pending:  # pragma: no cover - every wait is resolved by _finish
            raise AssertionError("frames left unlifted at the end of the stream")

    def _write(self, inst: Record, pose: np.ndarray, root: np.ndarray | None) -> None:
        inst["keypoints_3d"] = [[float(v) for v in p] for p in pose]
        if root is not None:
            inst["root_3d"] = [float(v) for v in root]

    def _emit(self) -> Iterator[Record]:
        while self.pending:
            head = self.pending[0]
            if any((key, f) not in self.results for _, key, f in head.waits):
                return
            insts = head.frame["instances"]
            for i, key, f in head.waits:
                pose, root = self.results.pop((key, f))
                self._write(insts[i], pose, root)
            self.pending.popleft()
            yield head.frame

    def run(self, frames: Iterable[Record]) -> Iterator[Record]:
        """All output frames for an input frame iterator, in order.

        A frame this stage refuses (a track id twice, keypoints the lifter cannot take) ends the
        sequences there: the frames before it are lifted and handed on, then the error is raised.
        """
        for frame in frames:
            try:
                pushed = list(self.push(frame))
            except PosetoolError:
                yield from self.close()
                raise
            yield from pushed
        yield from self.close()


@dataclass
class LiftStep:
    """VideoPose3D per track (a :class:`posetool.engine.chain.Step`)."""

    model: str = SYNTH.lift
    device: str = "auto"
    weights: str | None = None
    causal: bool = False
    flip: bool = True
    chunk: int | None = None
    max_gap: int = 10
    world: bool = False  # also write root_world / keypoints_world (ground-plane frame, lift3d/world.py)
    camera_height: float | None = None  # m; with camera_pitch, places the camera (else the header's camera)
    camera_pitch: float | None = None  # degrees down
    camera_roll: float = 0.0  # degrees
    name: str = "lift3d"

    def start(self, header: Record) -> None:
        """Load the lifter, check the stream's skeleton, append the provenance entry and ``skeleton_3d``."""
        from posetool.hub.loader import load_model

        check_has_keypoints(header)  # before loading the model: the input alone decides this
        loaded = load_model(self.model, task="lift3d", weights=self.weights, device=self.device)
        model = loaded.module
        check_input_skeleton(header, model, loaded.name)
        if self.causal and not model.causal:
            raise UsageError(
                f"--causal needs a model trained with causal convolutions; {loaded.name} is not causal "
                "(use videopose3d_h36m_cpn_causal with its official weights, or posetool train lift3d --causal)")
        w, h = frame_size(header)
        n_chunk = self.chunk if self.chunk is not None else (1 if self.causal else 2048)
        seq = SequenceLifter(model, flip=self.flip, chunk=n_chunk, device=loaded.device)
        self.stage = LiftStage(seq, w, h, chunk=n_chunk, max_gap=self.max_gap)
        header.setdefault("stages", []).append(make_stage(
            "lift3d", model=loaded.name, weights_sha256=loaded.weights_sha256,
            params={"causal": model.causal, "flip": self.flip, "chunk": n_chunk, "max_gap": self.max_gap,
                    "receptive_field": model.receptive_field(), "trajectory": model.model_traj is not None}))
        header["skeleton_3d"] = model.out_skeleton
        self.frame = self._world_frame(header, model.model_traj is not None)
        if self.frame is not None:
            header["world"] = self.frame.to_header()

    def _world_frame(self, header: Record, trajectory: bool) -> WorldFrame | None:
        """The ground-plane frame to write, or ``None`` (see :mod:`posetool.lift3d.world`)."""
        given = self.camera_height is not None or self.camera_pitch is not None
        if not (self.world or given):
            return None
        if not trajectory:
            raise OptionError("world", "world coordinates need the root position: use a lifter with a trajectory "
                              "model (the shipped videopose3d_synth has one)")
        if given:
            if self.camera_height is None or self.camera_pitch is None:
                raise OptionError("camera_height", "give both the camera height and its pitch")
            return WorldFrame(self.camera_height, self.camera_pitch, self.camera_roll, "given")
        frame = world_from_header(header)
        if frame is None:
            raise OptionError("camera_height", "the stream header has no camera height and pitch; give them "
                              "(or export --to trc estimates the ground from the feet)")
        return frame

    def frames(self, records: Iterator[Record], video: Any = None) -> Iterator[Record]:
        """Lifted frames; if the input breaks, the frames held for their windows are lifted and handed on first."""
        lifted = flush_on_error(records, self.stage.run)
        return lifted if self.frame is None else add_world(lifted, self.frame)
