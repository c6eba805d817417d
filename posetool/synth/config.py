"""Parameters of a synthetic sequence (:class:`SynthConfig`) and their validation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from posetool.errors import UsageError
from posetool.synth.camera import parse_camera_spec
from posetool.synth.motion import MOTIONS
from posetool.synth.scenes import SCENES


@dataclass(frozen=True)
class SynthConfig:
    """Everything that determines a synthetic sequence; the same config gives the same bytes.

    Attributes:
        people: number of people in the world (they may be out of view at times).
        frames: number of frames.
        width, height: image size in pixels.
        fps: frame rate.
        seed: random seed; different seeds give different people, motions, backgrounds, cameras.
        motion: ``mix`` (every action) or a comma list of walk, run, jump, squat, wave, turn, idle.
        camera: ``auto`` or ``key=value`` pairs (fx, fy, cx, cy, fov, height, pitch, yaw).
        child_fraction: probability that a person is a child.
        motion_blur: average two sub-frame renders per frame.
        noise: sensor noise sigma in grey levels; ``None`` samples 1–4 per video.
        scene: ``mix`` (the random world) or a scripted scene of :mod:`posetool.synth.scenes`
            (reenter, crossing, turn, run); scripted scenes ignore ``motion``.
    """

    people: int = 3
    frames: int = 100
    width: int = 640
    height: int = 480
    fps: float = 25.0
    seed: int = 0
    motion: str = "mix"
    camera: str = "auto"
    child_fraction: float = 0.15
    motion_blur: bool = False
    noise: float | None = None
    scene: str = "mix"

    def motions(self) -> tuple[str, ...]:
        """The allowed actions, validated."""
        spec = self.motion.strip().lower()
        if spec in ("mix", "all", ""):
            return MOTIONS
        names = tuple(m.strip() for m in spec.split(",") if m.strip())
        bad = [m for m in names if m not in MOTIONS]
        if bad:
            raise UsageError(f"--motion: unknown motion {bad[0]!r}; use mix or a comma list of {', '.join(MOTIONS)}")
        return names

    def validate(self) -> SynthConfig:
        """Raise :class:`UsageError` naming the first bad option; return self."""
        if not 0 <= self.people <= 50:
            raise UsageError(f"--people must be 0–50, got {self.people}")
        if not 1 <= self.frames <= 9999:
            raise UsageError(f"--frames must be 1–9999 (PoseTrack image ids allow 4 digits), got {self.frames}")
        if not (32 <= self.width <= 4096 and 32 <= self.height <= 4096):
            raise UsageError(f"--width/--height must be 32–4096, got {self.width}x{self.height}")
        if not 1 <= self.fps <= 240:
            raise UsageError(f"--fps must be 1–240, got {self.fps}")
        if self.seed < 0:
            raise UsageError(f"--seed must be non-negative, got {self.seed}")
        if not 0 <= self.child_fraction <= 1:
            raise UsageError(f"child_fraction must be 0–1, got {self.child_fraction}")
        if self.noise is not None and not 0 <= self.noise <= 50:
            raise UsageError(f"--noise must be 0–50, got {self.noise}")
        self.motions()
        if self.scene not in SCENES:
            raise UsageError(f"--scene must be one of {', '.join(SCENES)}, got {self.scene!r}")
        parse_camera_spec(self.camera)
        return self

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if out["scene"] == "mix":
            # Left out when default so that ground truth written before scenes existed keeps its bytes.
            del out["scene"]
        return out
