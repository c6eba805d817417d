"""Training pairs of the correspondence network: real frame pairs, mirrored pairs, synthetic occluders,
and tracked streams as a source of frame pairs — each on constructed images whose answer is known."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from posetool.correspond.data import load_stream_footage
from posetool.correspond.pairs import PairConfig, make_frame_pair, make_pair
from posetool.correspond.pseudo import is_unlabelled_footage
from posetool.skeletons import get_skeleton
from posetool.stream import StreamWriter, make_frame, make_header

K = 17


def textured(h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    """A smooth random texture (every patch distinct), BGR uint8."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return cv2.GaussianBlur(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), (5, 5), 0)


def person(cx: float, cy: float, seed: int = 1) -> np.ndarray:
    """17 labelled keypoints scattered in a 40×80 px person around (cx, cy)."""
    rng = np.random.default_rng(seed)
    j = np.ones((K, 3))
    j[:, 0] = cx + rng.uniform(-20, 20, K)
    j[:, 1] = cy + rng.uniform(-40, 40, K)
    return j


def plain(**kw: object) -> PairConfig:
    return PairConfig(size=128, photometric=False, **kw)


def test_frame_pair_targets_are_the_second_frames_keypoints() -> None:
    a = textured()
    shift = np.array([7.0, -3.0])
    b = cv2.warpAffine(a, np.array([[1.0, 0, shift[0]], [0, 1.0, shift[1]]]), (a.shape[1], a.shape[0]))
    ja = person(150, 120)
    jb = ja.copy()
    jb[:, :2] += shift
    jb[5, 2] = 0  # unsure in frame t: not trained on
    box = np.array([130.0, 80.0, 40.0, 80.0])  # x, y, w, h: longer side 80
    pair = make_frame_pair(a, b, ja, jb, box, plain(jitter=0.0, context=(2.0, 2.0)), np.random.default_rng(0))
    assert not pair.query_valid[5] and pair.weights[5] == 0
    ok = pair.query_valid
    assert ok.sum() == K - 1
    # one window cuts both frames: the displacement in the input is the real one, scaled by the window
    scale = 128 / (2.0 * 80)
    np.testing.assert_allclose(pair.targets[ok] - pair.queries[ok], np.tile(shift * scale, (ok.sum(), 1)), atol=1e-4)
    # the second image shows at each target what the first shows at its query
    def at(img: np.ndarray, p: np.ndarray) -> np.ndarray:
        return cv2.getRectSubPix(img, (1, 1), (float(p[0]), float(p[1]))).astype(float).ravel()

    inner = [k for k in np.flatnonzero(ok) if 2 <= min(*pair.queries[k], *pair.targets[k]) and
             max(*pair.queries[k], *pair.targets[k]) < 125]
    same = np.mean([np.abs(at(pair.image_a, pair.queries[k]) - at(pair.image_b, pair.targets[k])).max() for k in inner])
    other = np.mean([np.abs(at(pair.image_a, pair.queries[k]) - at(pair.image_b, pair.queries[k])).max()
                     for k in inner])
    assert len(inner) >= 10 and same < 4 < other
    # Gaussian maps peak at the targets (1/4 resolution)
    k = int(np.flatnonzero(ok)[0])
    y, x = np.unravel_index(pair.heatmaps[k].argmax(), pair.heatmaps[k].shape)
    assert np.hypot(x * 4 - pair.targets[k, 0], y * 4 - pair.targets[k, 1]) <= 4


def test_mirrored_pair_swaps_left_and_right() -> None:
    img = textured()
    j = person(160, 120)
    flip = get_skeleton("coco17").flip_permutation
    base = make_pair(img, j, None, plain(), np.random.default_rng(3))
    mirrored = make_pair(img, j, None, plain(flip=1.0), np.random.default_rng(3), flip_index=flip)
    # same window, mirrored: keypoint k of the mirrored pair is the flipped keypoint flip[k] of the plain one
    np.testing.assert_allclose(mirrored.queries[:, 0], 127 - base.queries[flip, 0], atol=1e-3)
    np.testing.assert_allclose(mirrored.queries[:, 1], base.queries[flip, 1], atol=1e-3)
    assert np.abs(mirrored.image_a.astype(int) - base.image_a[:, ::-1]).max() <= 1  # interpolation rounding


def test_occluder_makes_covered_targets_absent() -> None:
    img = textured()
    j = person(160, 120)
    cfg = plain(occluder=1.0, occluder_size=(0.5, 0.5), scale=(1.0, 1.0), rotation=0.0, translation=0.0)
    covered_any = False
    for seed in range(20):
        pair = make_pair(img, j, None, cfg, np.random.default_rng(seed))
        clean = make_pair(img, j, None, plain(scale=(1.0, 1.0), rotation=0.0, translation=0.0),
                          np.random.default_rng(seed))
        np.testing.assert_array_equal(pair.query_valid, clean.query_valid)
        gone = clean.target_valid & ~pair.target_valid
        covered_any |= bool(gone.any())
        assert (pair.heatmaps[gone] == 0).all() and (pair.weights[gone] == 1).all()  # absent, still in the loss
        assert (pair.image_b != clean.image_b).any(axis=2).mean() > 0.1  # a quarter of the window is pasted over
    assert covered_any


def _tracked_stream(path: Path, video: Path) -> None:
    """A stream of 4 frames: track 1 in frames 0, 1, 3; track 2 interpolated in frame 1 (not a measurement)."""
    kp = [[10.0 + k, 20.0 + k, 0.9] for k in range(K)]
    def inst(track: int, origin: str | None = None) -> dict:
        d = {"bbox": [5.0, 15.0, 40.0, 60.0], "score": 0.9, "keypoints": kp, "track_id": track}
        if origin:
            d["origin"] = origin
        return d
    frames = [[inst(1), inst(2)], [inst(1), inst(2, "interpolated")], [inst(2)], [inst(1), inst(2)]]
    with StreamWriter(str(path)) as w:
        w.write(make_header({"path": str(video), "width": 64, "height": 48, "fps": 10.0}, "coco17"))
        for i, f in enumerate(frames):
            w.write(make_frame(i, i / 10, f))
        w.write_end()


def test_tracked_stream_gives_frame_pairs_of_measured_people(tmp_path: Path) -> None:
    video = tmp_path / "v.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"FFV1"), 10.0, (64, 48))
    for i in range(4):
        w.write(textured(48, 64, i))
    w.release()
    stream = tmp_path / "s.jsonl"
    _tracked_stream(stream, video)
    fp = load_stream_footage(str(stream), max_gap=2)
    assert len(fp.single.samples) == 7  # every labelled person is a single image
    pairs = {(t, track): earlier for t, track, earlier in fp.tracked.pairs}
    # track 1: 0→1 and 1→3 (gap 2); track 2: 0→2 only (its frame 1 was interpolated), 2→3
    assert pairs == {(1, 1): (0,), (3, 1): (1,), (2, 2): (0,), (3, 2): (2,)}
    assert load_stream_footage(str(stream), max_gap=0).tracked is None
    assert fp.tracked.image(3).shape == (48, 64, 3)
    # large frames are kept downscaled, and their labels with them
    half = load_stream_footage(str(stream), max_gap=2, max_side=32)
    assert half.tracked.image(3).shape == (24, 32, 3)
    np.testing.assert_allclose(half.single.samples[0].joints[:, :2], fp.single.samples[0].joints[:, :2] / 2)
    assert half.single.samples[0].bbox == tuple(v / 2 for v in fp.single.samples[0].bbox)
    j_full, _ = fp.tracked.people[3][1]
    j_half, box_half = half.tracked.people[3][1]
    np.testing.assert_allclose(j_half[:, :2], j_full[:, :2] / 2)
    assert box_half == (2.5, 7.5, 17.5, 22.5)  # the stream box is x1, y1, x2, y2 = 5, 15, 40, 60


def test_unlabelled_footage_is_recognised(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"")
    (tmp_path / "frames").mkdir()
    cv2.imwrite(str(tmp_path / "frames" / "0.png"), textured(16, 16))
    (tmp_path / "synth").mkdir()
    (tmp_path / "synth" / "gt_coco.json").write_text("{}")
    cv2.imwrite(str(tmp_path / "synth" / "0.png"), textured(16, 16))
    assert is_unlabelled_footage(str(tmp_path / "clip.mp4"))
    assert is_unlabelled_footage(str(tmp_path / "frames"))
    assert not is_unlabelled_footage(str(tmp_path / "synth"))
    assert not is_unlabelled_footage(str(tmp_path / "s.msgpack"))


def test_cell_targets_sit_where_the_query_cell_centre_goes_unrounded() -> None:
    from posetool.pose2d.heatmaps import dark_refine

    img, j = textured(), person(160, 120)
    for cell_targets in (False, True):
        pair = make_pair(img, j, None, plain(cell_targets=cell_targets), np.random.default_rng(5))
        ok = pair.target_valid
        assert ok.sum() >= 10
        hm = pair.heatmaps[None]  # (1, K, 32, 32)
        peaks = np.stack(np.unravel_index(hm.reshape(1, K, -1).argmax(-1), hm.shape[2:]), -1)[..., ::-1]
        found = dark_refine(hm, peaks.astype(np.float64), kernel=1)[0]  # a Gaussian's log is quadratic: exact
        q, tg = pair.queries.astype(np.float64), pair.targets.astype(np.float64)
        if cell_targets:  # the keypoint minus the query's offset from its cell centre, in cells, unrounded
            expected = (tg - (q - np.floor(q / 4 + 0.5) * 4)) / 4
        else:  # the authors': the keypoint's own cell
            expected = np.floor(tg / 4 + 0.5)
        inner = ok & (expected > 2).all(1) & (expected < 29).all(1)
        assert inner.sum() >= 8
        assert np.abs(found[inner] - expected[inner]).max() < 0.02, (cell_targets, found[inner] - expected[inner])
