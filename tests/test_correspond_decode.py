"""Correspondence maps decoded below a feature cell (``correspond --decode``, ``--query-offset``).

The network correlates the 3×3 feature patch of each query's *nearest* cell (4 input pixels), and its
maps are trained on targets rounded to cells. Two things bring the answer below a cell: DARK's Taylor
step on the blurred log map (the default) and adding back the query's own offset from its cell's
centre. Constructed maps check each by hand; a held-out synth frame moved by a known sub-pixel shift
checks that the shipped networks land closer with both (when measured, mean error 3.3 px against
6.2 for ``correspond_r18_synth``, 2.0 against 3.9 for ``correspond_real``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posetool.correspond.backends import build_estimator
from posetool.correspond.infer import CorrespondenceEstimator
from posetool.nn.correspondence import CorrespondenceNet
from posetool.recover.stage import network_decoding
from tests.conftest import run_posetool

SHIFT = np.array([2.5, -1.75])  # image px, sub-pixel on purpose


def _estimator(**kwargs: object) -> CorrespondenceEstimator:
    torch.manual_seed(0)
    net = CorrespondenceNet("resnet", num_keypoints=2, width=8, refine_width=8, norm="l2")
    return CorrespondenceEstimator(net, 64, (0.5,) * 3, (0.25,) * 3, **kwargs)


def _gaussian_maps(centres: np.ndarray, size: int = 16, sigma: float = 1.5) -> np.ndarray:
    """(1, K, size, size) Gaussian maps peaking at the (K, 2) cell positions ``centres``."""
    ys, xs = np.mgrid[0:size, 0:size]
    return np.stack([np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma ** 2)) for cx, cy in centres])[None]


def test_dark_finds_a_sub_cell_peak_that_the_centroid_pulls_towards_the_cell() -> None:
    centres = np.array([[6.3, 8.0], [9.0, 4.6]])  # cells
    maps = _gaussian_maps(centres)
    ident = [np.array([[1.0, 0, 0], [0, 1.0, 0]])]  # input px = image px
    dark = _estimator().decode(maps, ident)
    centroid = _estimator(decode="centroid").decode(maps, ident)
    stride = 4
    err_dark = np.abs(dark[0, :, :2] / stride - centres).max()
    err_centroid = np.abs(centroid[0, :, :2] / stride - centres).max()
    assert err_dark < 0.02, dark  # a Gaussian's log is quadratic: one Newton step lands on the peak
    assert err_centroid > 0.05, centroid  # the 3×3 centre of mass of a σ = 1.5 peak falls short
    assert np.allclose(dark[0, :, 2], maps[0].reshape(2, -1).max(1))  # affinity = the map's maximum


def test_the_query_offset_from_its_cell_is_added_back() -> None:
    est = _estimator()
    queries = np.array([[[45.5, 38.2], [38.0, 49.9]]])  # input px; nearest cells (11, 10) and (10, 12)
    offsets = est.cell_offsets(queries)
    assert np.allclose(offsets, [[[1.5, -1.8], [-2.0, 1.9]]])
    # each map peaks at its query's own cell (away from the border, where DARK's zero-padded blur leans inwards)
    maps = _gaussian_maps(np.array([[11.0, 10.0], [10.0, 12.0]]), size=24)
    ident = [np.array([[1.0, 0, 0], [0, 1.0, 0]])]
    assert np.allclose(est.decode(maps, ident, offsets)[0, :, :2], queries[0], atol=1e-6)  # back to the queries
    assert np.allclose(est.decode(maps, ident)[0, :, :2], [[44, 40], [40, 48]], atol=1e-6)  # the cells' centres


def test_bad_decoding_values_are_refused() -> None:
    with pytest.raises(ValueError, match="decode"):
        _estimator(decode="argmax")
    with pytest.raises(ValueError, match="odd"):
        _estimator(blur_kernel=4)


@pytest.fixture(scope="module")
def held_out_frame(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """A synth frame no model trained on (seed 778), its visible keypoints as queries and its boxes."""
    out = tmp_path_factory.mktemp("decode") / "s778"
    subprocess.run([sys.executable, "-m", "posetool", "synth", str(out), "--people", "3", "--frames", "3",
                    "--seed", "778", "--image-folder", "-q"], check=True)
    rec = [json.loads(line) for line in (out / "gt.jsonl").read_text().splitlines()][1]
    image = cv2.imread(str(sorted((out / "images").iterdir())[1]))
    queries, boxes = [], []
    for inst in rec["instances"]:
        q = np.column_stack([np.asarray(inst["keypoints"], dtype=np.float64)[:, :2], np.ones(17)])
        q[np.asarray(inst["visibility"]) != 2] = np.nan
        queries.append(q)
        boxes.append(np.asarray(inst["bbox"], dtype=np.float64))
    return image, queries, boxes


@pytest.mark.parametrize("model", ["correspond_r18_synth", "correspond_real"])
def test_shipped_networks_land_closer_below_a_cell(held_out_frame, model: str) -> None:
    image, queries, boxes = held_out_frame
    moved = cv2.warpAffine(image, np.float32([[1, 0, SHIFT[0]], [0, 1, SHIFT[1]]]), image.shape[1::-1],
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)

    def mean_error(**kwargs: object) -> float:
        est, _ = build_estimator(model, device="cpu", **kwargs)
        res = est.correspond(image, moved, queries, boxes)
        err = np.concatenate([np.linalg.norm(r.keypoints[:, :2] - (q[:, :2] + SHIFT), axis=1) for r, q in zip(res, queries)])
        assert np.isfinite(err).sum() >= 40  # every visible keypoint is answered
        return float(np.nanmean(err))

    before = mean_error(decode="centroid", query_offset=False)  # the decoding before 2026-12-07
    now = mean_error()
    assert now < 0.75 * before, (before, now)


def test_the_stage_records_its_decoding_and_input_size(tmp_path: Path) -> None:
    from posetool.correspond.stage import CorrespondStep

    header: dict = {}
    CorrespondStep(model="correspond_r18_synth", device="cpu", decode="centroid", input_size=160).start(header)
    params = header["stages"][-1]["params"]
    assert (params["decode"], params["blur_kernel"], params["query_offset"], params["input_size"]) == \
        ("centroid", 11, True, 160)


def test_decoding_is_recorded_and_recover_requeries_with_it() -> None:
    params = {"context": 1.25, "decode": "centroid", "blur_kernel": 7, "query_offset": False, "input_size": 160}
    assert network_decoding(params, "correspond_real", same_model=True) == {
        "decode": "centroid", "blur_kernel": 7, "query_offset": False, "input_size": 160}
    assert network_decoding(params, "correspond_r18_synth", same_model=False) == {}  # another model: its defaults
    assert network_decoding({"fb_sigma": 2.0}, "dis", same_model=True) == {}
    assert network_decoding({"context": 2.0}, "correspond_r18_synth", same_model=True) == {}  # an older stream


@pytest.mark.parametrize("args, flag", [(("--model", "dis", "--decode", "dark"), "--decode"),
                                        (("--model", "lk", "--no-query-offset"), "--query-offset"),
                                        (("--blur-kernel", "4"), "--blur-kernel"),
                                        (("--model", "lk", "--input-size", "160"), "--input-size"),
                                        (("--input-size", "100"), "--input-size"),
                                        (("--decode", "argmax"), "--decode")])
def test_decoding_options_that_do_not_apply_are_one_usage_line(tmp_path: Path, args: tuple[str, ...], flag: str) -> None:
    from tests.conftest import sample_records, write_records

    stream = write_records(tmp_path / "in.msgpack", sample_records(frames=2, people=1))
    res = run_posetool("eval", "correspond", str(stream), *args)
    err = res.stderr.decode().strip()
    assert res.returncode == 2, err
    assert len(err.splitlines()) == 1 and flag in err and "Traceback" not in err, err


def test_input_size_with_whole_frames_is_one_usage_line(tmp_path: Path) -> None:
    res = run_posetool("correspond", str(tmp_path / "none.msgpack"), "--region", "frame", "--input-size", "160")
    err = res.stderr.decode().strip()
    assert res.returncode == 2 and len(err.splitlines()) == 1 and "--frame-size" in err, err
