"""``posetool synth``: a synthetic multi-person video world with exact ground truth.

Python API::

    from posetool.synth import SynthConfig, generate, simulate

    result = generate("out/", SynthConfig(people=4, frames=200, seed=7))   # video + every GT file
    generate("out3d/", SynthConfig(frames=2000, seed=8), render=False)     # GT only, fast
    seq = simulate(SynthConfig(seed=9))      # arrays only: seq.coco17(), seq.h36m17_3d(), ...

Modules: :mod:`body` (skeleton, proportions, forward kinematics), :mod:`motion` (actions and
trajectories), :mod:`camera`, :mod:`scene` (the world), :mod:`parts` (body volumes and the
occlusion rule), :mod:`groundtruth` (arrays), :mod:`background`, :mod:`appearance`,
:mod:`render`, :mod:`export` (file writers). Formats: docs/synth.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from posetool.errors import PosetoolError
from posetool.synth.config import SynthConfig
from posetool.synth.groundtruth import SynthSequence, simulate

__all__ = ["FILES", "SynthConfig", "SynthResult", "SynthSequence", "generate", "simulate"]

FILES = {
    "video": "video.mp4",
    "images": "images",
    "stream": "gt.jsonl",
    "coco": "gt_coco.json",
    "posetrack18": "gt_posetrack18.json",
    "mot": "gt_mot.txt",
    "videopose3d": "gt_videopose3d.npz",
    "params": "synth.json",
}


@dataclass
class SynthResult:
    """What :func:`generate` wrote: file kind → absolute path, and the ground-truth arrays."""

    outdir: str
    paths: dict[str, str] = field(default_factory=dict)
    sequence: SynthSequence | None = None


def generate(outdir: str, config: SynthConfig, *, render: bool = True, image_folder: bool = False,
             progress: Callable[[int], None] | None = None, sequence: SynthSequence | None = None) -> SynthResult:
    """Simulate ``config`` and write the video (unless ``render=False``) and every GT file.

    Args:
        outdir: output folder (created if missing).
        config: the sequence parameters.
        sequence: an already simulated sequence of ``config`` to write instead (a single-action
            take from :func:`posetool.synth.takes.simulate_take`).
        render: write ``video.mp4`` (or ``images/`` with ``image_folder=True``); ``False`` writes
            only the ground truth, which is much faster.
        image_folder: write JPEG frames ``images/{frame:06d}.jpg`` instead of an mp4.
        progress: called with the number of frames done.

    Returns:
        a :class:`SynthResult` naming the files written.
    """
    import cv2

    from posetool.stream import StreamWriter
    from posetool.synth import export

    config.validate()
    outdir = os.path.abspath(outdir)
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise PosetoolError(f"{outdir}: cannot create the output folder: {exc.strerror}") from None
    seq = simulate(config) if sequence is None else sequence
    paths = {k: os.path.join(outdir, v) for k, v in FILES.items() if k not in ("video", "images")}
    video_path = None
    writer = None
    renderer = None
    if render:
        from posetool.synth.render import Renderer

        renderer = Renderer(seq, noise=config.noise, motion_blur=config.motion_blur)
        if image_folder:
            video_path = paths["images"] = os.path.join(outdir, FILES["images"])
            os.makedirs(video_path, exist_ok=True)
        else:
            video_path = paths["video"] = os.path.join(outdir, FILES["video"])
            writer = cv2.VideoWriter(video_path, cv2.VideoWriter_fourcc(*"mp4v"), float(config.fps),
                                     (config.width, config.height))
            if not writer.isOpened():
                raise PosetoolError(f"{video_path}: OpenCV cannot write mp4 here; use --image-folder")
    try:
        with StreamWriter(paths["stream"], "jsonl") as stream:
            stream.write(export.stream_header(seq, video_path))
            for t, record in enumerate(export.stream_frames(seq)):
                if renderer is not None:
                    frame = renderer.render(t)
                    if writer is not None:
                        writer.write(frame)
                    else:
                        cv2.imwrite(os.path.join(video_path, f"{t:06d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 95])
                stream.write(record)
                if progress is not None:
                    progress(t + 1)
            stream.write_end()
    finally:
        if writer is not None:
            writer.release()
    export.dump_json(paths["coco"], export.coco_json(seq))
    export.dump_json(paths["posetrack18"], export.posetrack18_json(seq))
    with open(paths["mot"], "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in export.mot_lines(seq)))
    export.write_npz(paths["videopose3d"], export.videopose3d_arrays(seq))
    names = {k: os.path.basename(v) for k, v in paths.items() if k != "params"}
    export.dump_json(paths["params"], export.synth_summary(seq, names))
    return SynthResult(outdir, paths, seq)
