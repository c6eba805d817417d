"""Issue 10 done-when: a two-person crossing where the detector misses one person for two frames.

``posetool synth`` seed 103 (2 people, walk/run, 320×240, 24 frames) has the two people cross
between frames 16 and 17 (their box centres swap order), one partly in front of the other. The
detection stream is the ground-truth boxes with person B removed in frames 15 and 16 — the
detector misses B right at the crossing — posed by the shipped ``pose2d`` model; then the shipped
models run the chain ``correspond → recover → track --similarity corr`` through the CLI. Recover
must bring B back in both missed frames, and track must keep both identities with zero switches
and no extra track over the whole sequence.

A crossing where one person hides the other *entirely* for several frames (seed 25) is beyond this
chain: the pose model puts the hidden person's pose on the front person and identities can switch
there (docs/correspond.md, known limits).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SEED, FRAMES, MISSED = 103, 24, (15, 16)


def posetool(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "posetool", *args, "-q"], check=True)


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    d = tmp_path_factory.mktemp("crossing")
    posetool("synth", str(d / "s"), "--people", "2", "--frames", str(FRAMES), "--width", "320", "--height", "240",
             "--seed", str(SEED), "--motion", "walk,run")
    gt = read(d / "s" / "gt.jsonl")
    frames = [r for r in gt if r["type"] == "frame"]
    b_id = max(x["track_id"] for x in frames[0]["instances"])
    dets = []
    for r in gt:
        if r["type"] == "frame":
            keep = [{"bbox": x["bbox"], "score": 0.9} for x in r["instances"]
                    if not (r["frame"] in MISSED and x["track_id"] == b_id)]
            r = {"type": "frame", "frame": r["frame"], "t": r["t"], "instances": keep}
        dets.append(r)
    (d / "det.jsonl").write_text("".join(json.dumps(r) + "\n" for r in dets))
    posetool("pose2d", str(d / "det.jsonl"), "-o", str(d / "pose.jsonl"), "--device", "cpu")
    posetool("correspond", str(d / "pose.jsonl"), "-o", str(d / "corr.jsonl"), "--device", "cpu")
    posetool("recover", str(d / "corr.jsonl"), "-o", str(d / "rec.jsonl"), "--device", "cpu")
    posetool("track", str(d / "rec.jsonl"), "-o", str(d / "track.jsonl"), "--similarity", "corr")
    return {"gt": frames, "b_id": b_id, "pose": read(d / "pose.jsonl"), "rec": read(d / "rec.jsonl"),
            "track": [r for r in read(d / "track.jsonl") if r["type"] == "frame"]}


def nearest_gt(inst: dict, gt_frame: dict) -> tuple[int, float]:
    """Ground-truth track id of the person whose keypoints are nearest (median distance) and that distance."""
    kp = np.asarray([[np.nan if v is None else v for v in p] for p in inst["keypoints"]], dtype=np.float64)
    best, dist = -1, np.inf
    for g in gt_frame["instances"]:
        gk = np.asarray(g["keypoints"], dtype=np.float64)
        vis = np.asarray(g["visibility"]) > 0
        d = float(np.nanmedian(np.linalg.norm(kp[vis, :2] - gk[vis, :2], axis=1)))
        if d < dist:
            best, dist = g["track_id"], d
    return best, dist


def test_recover_brings_the_missed_person_back(chain: dict) -> None:
    frames = {r["frame"]: r for r in chain["rec"] if r["type"] == "frame"}
    for t in MISSED:
        rec = [x for x in frames[t]["instances"] if x.get("origin") == "recovered"]
        assert len(rec) == 1, f"frame {t}: {len(rec)} recovered people"
        gid, dist = nearest_gt(rec[0], chain["gt"][t])
        assert gid == chain["b_id"] and dist < 15.0, (t, gid, dist)
        assert len(frames[t]["instances"]) == 2


def test_streams_follow_the_schema_and_contract(chain: dict) -> None:
    import jsonschema

    schema = json.loads((Path(__file__).parents[1] / "schemas" / "frame.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for r in chain["rec"]:
        if r["type"] == "frame":
            validator.validate(r)
            for e in r["correspondences"]:
                assert set(e) <= {"source", "keypoints", "at_instances"} and len(e["keypoints"]) == 17
    first = next(r for r in chain["rec"] if r["type"] == "frame" and r["frame"] == 1)
    assert sorted(e["source"] for e in first["correspondences"]) == [0, 1]
    assert all(len(e["at_instances"]) == len(first["instances"]) for e in first["correspondences"])


def test_track_keeps_both_identities_without_switches(chain: dict) -> None:
    ids: dict[int, set] = {}
    assert len(chain["track"]) == FRAMES
    for r, g in zip(chain["track"], chain["gt"]):
        assert len(r["instances"]) == 2, f"frame {r['frame']}: {len(r['instances'])} people"
        for inst in r["instances"]:
            gid, dist = nearest_gt(inst, g)
            assert dist < 15.0
            ids.setdefault(gid, set()).add(inst["track_id"])
    assert all(len(v) == 1 for v in ids.values()), ids  # one track per person: no switch, no fragment
    assert len({next(iter(v)) for v in ids.values()}) == 2
