"""Build and run the chain of ``posetool run`` from one set of options."""

from __future__ import annotations

from dataclasses import dataclass

from posetool import console
from posetool.engine.chain import StageClock, run_chain
from posetool.progress import progress_bar
from posetool.engine.steps import CorrespondStep, DetectStep, LiftStep, Pose2DStep, RecoverStep, TrackStep
from posetool.stream import StreamWriter
from posetool.video.sources import open_video


@dataclass
class ChainOptions:
    """The models and main options of each stage (``None`` model: the stage is skipped)."""

    detect_model: str = "centernet_r18_synth"
    gt: str | None = None
    pose_model: str = "simplebaseline_r18_synth"
    correspond_model: str | None = "correspond_r18_synth"
    recover: bool = True
    lift_model: str | None = "videopose3d_synth"
    score_thr: float | None = None
    max_people: int = 20
    similarity: str = "corr:0.5,oks:0.5"
    gate: float = 0.3
    patience: int = 10
    min_length: int = 1
    interpolate: int = 0
    smooth: bool = False
    device: str = "auto"
    batch_size: int = 16
    frame_buffer: int = 96


def build_steps(o: ChainOptions) -> tuple[DetectStep, list]:
    """The detect source and the later steps for ``o``."""
    from posetool.track.tracker import TrackerOptions

    detect = DetectStep(model=o.detect_model, device=o.device, gt=o.gt, score_thr=o.score_thr,
                        max_people=o.max_people, batch_size=min(o.batch_size, 8))
    steps: list = [Pose2DStep(model=o.pose_model, device=o.device, batch_size=o.batch_size)]
    if o.correspond_model:
        steps.append(CorrespondStep(model=o.correspond_model, device=o.device, batch_size=o.batch_size))
        if o.recover:
            steps.append(RecoverStep(model=o.pose_model, device=o.device, corr_model=o.correspond_model,
                                     batch_size=o.batch_size))
    steps.append(TrackStep(TrackerOptions(similarity=o.similarity, gate=o.gate, patience=o.patience,
                                          min_length=o.min_length, interpolate=o.interpolate, smooth=o.smooth)))
    if o.lift_model:
        steps.append(LiftStep(model=o.lift_model, device=o.device))
    return detect, steps


def run_video(video: str, writer: StreamWriter, o: ChainOptions) -> StageClock:
    """Run the chain on ``video`` into ``writer``; prints per-stage timing on stderr."""
    detect, steps = build_steps(o)
    clock = StageClock()
    with open_video(video) as source, progress_bar("run", source.frame_count or None) as bar:
        run_chain(source, writer, detect, steps, bar.advance, clock, o.frame_buffer)
    total = sum(clock.exclusive().values()) or 1e-9
    console.info("stage timing: " + ", ".join(f"{k} {v:.1f} s ({100 * v / total:.0f} %)" for k, v in clock.exclusive().items()))
    return clock
