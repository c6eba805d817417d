"""Rendering: overlay colours by track, confidence as opacity, hollow recovered joints, 3D panel, stills."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from posetool.render.colors import track_color
from posetool.render.overlay import OverlayStyle, draw_instances
from posetool.skeletons import COCO17
from posetool.stream import make_frame, make_header
from tests.conftest import run_posetool, write_records
from tests.test_track import person


def test_overlay_colour_opacity_and_recovered_style():
    img = np.zeros((480, 640, 3), np.uint8)
    a = dict(person(200, conf=1.0), track_id=3)
    b = dict(person(450, conf=0.5), track_id=4)
    c = dict(person(320, cy=120, conf=1.0, scale=0.5), track_id=5, origin="recovered")
    out = draw_instances(img, [a, b, c], COCO17, OverlayStyle(radius=5))
    ka = np.round(np.asarray(a["keypoints"])[0, :2]).astype(int)
    kb = np.round(np.asarray(b["keypoints"])[0, :2]).astype(int)
    kc = np.round(np.asarray(c["keypoints"])[15, :2]).astype(int)
    assert tuple(int(v) for v in out[ka[1], ka[0]]) == track_color(3)            # opaque joint
    half = np.asarray(track_color(4), float) * 0.5
    np.testing.assert_allclose(out[kb[1], kb[0]].astype(float), half, atol=2)   # 50 % confidence
    # the recovered person's ankle joint is a ring: inside it (below the knee→ankle bone) stays black
    assert tuple(int(v) for v in out[kc[1] + 2, kc[0] + 2]) == (0, 0, 0)
    assert tuple(int(v) for v in out[kc[1], kc[0] + 5]) == track_color(5)
    filled = draw_instances(img, [dict(c, origin="detected")], COCO17, OverlayStyle(radius=5))
    assert tuple(int(v) for v in filled[kc[1] + 2, kc[0] + 2]) == track_color(5)


def test_render_cli_video_panel_and_stills(tmp_path: Path):
    video = tmp_path / "v.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for _ in range(6):
        w.write(np.full((240, 320, 3), 90, np.uint8))
    w.release()
    rng = np.random.default_rng(0)
    header = make_header({"path": str(video), "width": 320, "height": 240, "fps": 10.0, "frames": 6}, "coco17",
                         skeleton_3d="h36m17")
    recs = [header]
    for f in range(6):
        p = dict(person(100 + 10 * f, cy=120, scale=0.8), track_id=1,
                 keypoints_3d=rng.normal(0, 0.3, (17, 3)).tolist(), root_3d=[0.0, 0.0, 4.0])
        recs.append(make_frame(f, f / 10, [p]))
    recs.append({"type": "end", "frames": 6, "instances": 6, "finished": True})
    stream = write_records(tmp_path / "s.msgpack", recs)
    out = run_posetool("render", str(stream), "-o", str(tmp_path / "o.mp4"), "-q")
    assert out.returncode == 0, out.stderr
    cap = cv2.VideoCapture(str(tmp_path / "o.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 320 + 240  # the 3D panel is square, frame-high
    stills = run_posetool("render", str(stream), "--frames", "0,4", "--png", str(tmp_path / "png"), "-q")
    assert stills.returncode == 0, stills.stderr
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["frame_000000.png", "frame_000004.png"]
    panel = cv2.imread(str(tmp_path / "png" / "frame_000004.png"))[:, 320:]
    assert (np.abs(panel.astype(int) - track_color(1)).sum(axis=2) < 30).sum() > 20  # the skeleton is drawn
    missing = run_posetool("render", str(stream), "--video", str(tmp_path / "nope.mp4"))
    assert missing.returncode == 1 and b"no such video" in missing.stderr


def test_render_refuses_coordinates_opencv_cannot_draw(tmp_path: Path):
    """Issue #19: a box or keypoint at 1e30 px died inside OpenCV; now one line naming frame, instance, field.
    A 3D joint that projects off any canvas is legitimate and is simply left out of the panel."""
    video = tmp_path / "v.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for _ in range(3):
        w.write(np.full((120, 160, 3), 90, np.uint8))
    w.release()
    header = make_header({"path": str(video), "width": 160, "height": 120, "fps": 10.0, "frames": 3}, "coco17",
                         skeleton_3d="h36m17")

    def stream(name: str, **bad: object) -> Path:
        frames = [make_frame(f, f / 10, [dict(person(60, cy=60, scale=0.3), track_id=1,
                                              keypoints_3d=np.full((17, 3), 0.1).tolist(), root_3d=[0.0, 0.0, 3.0])])
                  for f in range(3)]
        frames[1]["instances"][0].update(bad)
        return write_records(tmp_path / name, [header, *frames, {"type": "end", "frames": 3, "instances": 3}])

    kps = np.asarray(person(60, cy=60, scale=0.3)["keypoints"])
    kps[5, :2] = 1e30
    for name, bad, field in (("box.msgpack", {"bbox": [0.0, 0.0, 1e30, 1e30]}, "bbox"),
                             ("kps.msgpack", {"keypoints": kps.tolist()}, "keypoints")):
        out = run_posetool("render", str(stream(name, **bad)), "-o", str(tmp_path / "o.mp4"), "--boxes", "-q")
        err = out.stderr.decode().strip()
        assert out.returncode == 1 and len(err.splitlines()) == 1, err
        assert err.startswith(f"posetool render: error: frame 1 instance 0: field '{field}' holds 1e+30"), err
    far_3d = np.full((17, 3), 0.1)
    far_3d[3] = [1e12, 0.0, 0.0]  # projects far beyond int32 pixels (it crashed the panel)
    ok = run_posetool("render", str(stream("far3d.msgpack", keypoints_3d=far_3d.tolist())), "-o",
                      str(tmp_path / "o.mp4"), "-q")
    assert ok.returncode == 0, ok.stderr
