"""Build and run the chain of ``posetool run`` from one set of options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from posetool import console
from posetool.engine.chain import StageClock, Step, run_chain
from posetool.engine.presets import AUTO, SYNTH
from posetool.progress import progress_bar
from posetool.stream import StreamWriter
from posetool.video.sources import open_video


@dataclass
class ChainOptions:
    """The models and main options of each stage (``None`` model: the stage is skipped)."""

    detect_model: str = SYNTH.detect
    gt: str | None = None
    pose_model: str = SYNTH.pose
    correspond_model: str | None = SYNTH.correspond
    correspond_weights: str | None = None  # e.g. a fine-tuned run's model.safetensors (None: the registered file)
    recover: bool = True
    lift_model: str | None = SYNTH.lift
    score_thr: float | None = None  # None: the detector's own (measured for the model, as `posetool detect`)
    max_people: int = 20
    similarity: str = AUTO          # as `posetool track`: the correspondence mix when correspond runs, else oks
    gate: float = 0.3
    patience: int = 10
    min_length: int = 1
    interpolate: int = 0
    smooth: str = "smoothnet"       # as `posetool track --smooth`
    lr_repair: bool = False         # as `posetool track --lr-repair`
    lr_consistency: str = "auto"    # as `posetool track --lr-consistency`
    lr_weights: str | None = None   # lr_consistency="learned": a weights file instead of the registered one
    reid: str = AUTO                # as `posetool track --reid`; auto = appearance (run always has the video)
    device: str = "auto"
    runtime: str = "auto"           # what runs .tflite models (movenet, blazepose_full): posetool.hub.litert
    batch_size: int = 16
    frame_buffer: int = 96


def check_chain_weights(opts: ChainOptions) -> None:
    """Raise one error naming every chain model whose weights are not pulled, with the commands."""
    from posetool.errors import WeightsError
    from posetool.hub.registry import get_model_spec
    from posetool.hub.weights import find_weights

    missing = []
    for task, name in (("detect", opts.detect_model), ("pose2d", opts.pose_model),
                       ("correspond", opts.correspond_model), ("lift3d", opts.lift_model)):
        if name is None:
            continue
        spec = get_model_spec(name, task=task)
        try:
            find_weights(spec, opts.correspond_weights if task == "correspond" else None)
        except WeightsError as exc:
            missing.append((spec, exc))
    if len(missing) == 1:
        raise missing[0][1]
    if missing:
        pulls = [f"posetool weights pull {s.name}" for s, _ in missing if s.weights.source != "user"]
        names = ", ".join(s.name for s, _ in missing)
        hint = f"run: {' && '.join(pulls)}" if len(pulls) == len(missing) else "; ".join(str(e) for _, e in missing)
        raise WeightsError(f"weights not found for {names}; {hint}")


def build_steps(o: ChainOptions) -> list[Step]:
    """The chain's steps for ``o``, the source (detect) first."""
    from posetool.correspond.stage import CorrespondStep
    from posetool.detect.stage import DetectStep
    from posetool.lift3d.stage import LiftStep
    from posetool.pose2d.stage import Pose2DStep
    from posetool.recover.stage import RecoverStep
    from posetool.track.stage import TrackStep
    from posetool.track.tracker import TrackerOptions

    steps: list[Step] = [
        DetectStep(model=o.detect_model, device=o.device, gt=o.gt, score_thr=o.score_thr, max_people=o.max_people,
                   batch_size=min(o.batch_size, 8), runtime=o.runtime),
        Pose2DStep(model=o.pose_model, device=o.device, batch_size=o.batch_size, runtime=o.runtime),
    ]
    if o.correspond_model:
        steps.append(CorrespondStep(model=o.correspond_model, device=o.device, weights=o.correspond_weights,
                                    batch_size=o.batch_size))
        if o.recover:
            steps.append(RecoverStep(model=o.pose_model, device=o.device, corr_model=o.correspond_model,
                                     corr_weights=o.correspond_weights, batch_size=o.batch_size))
    steps.append(TrackStep(TrackerOptions(similarity=o.similarity, gate=o.gate, patience=o.patience,
                                          min_length=o.min_length, interpolate=o.interpolate, smooth=o.smooth,
                                          lr_repair=o.lr_repair, lr_consistency=o.lr_consistency, reid="appearance" if o.reid == AUTO else o.reid),
                           device=o.device, lr_weights=o.lr_weights))
    if o.lift_model:
        steps.append(LiftStep(model=o.lift_model, device=o.device))
    return steps


def run_video(video: str, open_output: Callable[[], StreamWriter], o: ChainOptions) -> StageClock:
    """Run the chain on ``video`` into the writer ``open_output()`` gives once every model has loaded.

    Prints per-stage timing on stderr.
    """
    steps = build_steps(o)
    clock = StageClock()
    with open_video(video) as source, progress_bar("run", source.frame_count or None) as bar:
        run_chain(source, open_output, steps, bar.advance, clock, o.frame_buffer)
    total = sum(clock.exclusive().values()) or 1e-9
    console.info("stage timing: " + ", ".join(f"{k} {v:.1f} s ({100 * v / total:.0f} %)" for k, v in clock.exclusive().items()))
    return clock
