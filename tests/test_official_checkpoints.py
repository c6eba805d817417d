"""Official checkpoint files, in every layout the official repos write, through ``--weights``.

Files are built from the official state-dict key lists (``../shared/specs``, else the copies in
``tests/data/specs``) with random weights and pickled as the official code does (``torch.save`` of
its dicts, numpy objects inside), then run through the real CLI:

- HRNet / SimpleBaselines (``tools/train.py``, ``lib/utils/utils.py``): ``final_state.pth`` and
  ``model_best.pth`` (plain state dicts), SimpleBaselines' ``model_best.pth.tar`` (DataParallel
  ``module.`` keys), the training ``checkpoint.pth`` (epoch, model, ``state_dict`` with
  ``module.``, ``best_state_dict``, numpy float64 ``perf``, optimizer);
- VideoPose3D ``run.py`` epoch files: ``model_pos`` saved from the strided training model, with or
  without ``model_traj``, a pickled numpy ``RandomState``; 27/81/243 frames, causal, 512/1024
  channels, (x, y, confidence) input.

Outputs are compared with the module built from the key list's own architecture; for VideoPose3D
also with the strided training path (``TemporalModelOptimized1f``) the file was saved from.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from posetool.errors import WeightsError
from posetool.hub.checkpoint import load_state
from posetool.hub.loader import load_model
from posetool.hub.registry import get_model_spec
from posetool.lift3d.camera import normalize_screen_coordinates
from posetool.lift3d.windows import pad_edge
from posetool.nn.hrnet import pose_hrnet
from posetool.nn.simple_baselines import pose_resnet
from posetool.nn.videopose3d import TemporalModel, TemporalModelOptimized1f, receptive_field, sequence_padding
from posetool.stream import make_frame, make_header
from tests.conftest import REPO, run_posetool, write_records

Rows = list[tuple[str, tuple[int, ...]]]


# --- official key lists -> random state dicts ----------------------------------------------------
def spec_rows(name: str) -> Rows:
    """(key, shape) rows of an official key list: ../shared/specs first, the copy in tests/data else."""
    for folder in (REPO.parent / "shared" / "specs", REPO / "tests" / "data" / "specs"):
        if (folder / name).is_file():
            rows = []
            for line in (folder / name).read_text().splitlines():
                if line.strip() and not line.startswith("#"):
                    key, shape = line.split("\t")
                    rows.append((key, tuple(int(d) for d in shape.strip("()").replace(" ", "").split(",") if d)))
            return rows
    pytest.skip(f"official key list {name} is in neither ../shared/specs nor tests/data/specs")


def random_tensors(rows: Rows, seed: int) -> dict[str, torch.Tensor]:
    """Random weights for a key list, scaled so deep nets stay finite (fan-in scaled convolutions,
    BatchNorm near identity with positive running variances)."""
    g = torch.Generator().manual_seed(seed)
    bn = {k.rsplit(".", 1)[0] for k, _ in rows if k.endswith(".running_mean")}
    out = {}
    for key, shape in rows:
        base, leaf = key.rsplit(".", 1)
        if leaf == "num_batches_tracked":
            out[key] = torch.tensor(1000, dtype=torch.long)
        elif leaf == "running_var":
            out[key] = torch.rand(shape, generator=g) + 0.5
        elif leaf == "running_mean" or leaf == "bias":
            out[key] = torch.randn(shape, generator=g) * 0.1
        elif base in bn:
            out[key] = 1.0 + torch.randn(shape, generator=g) * 0.1
        else:
            out[key] = torch.randn(shape, generator=g) / math.sqrt(math.prod(shape[1:]))
    return out


def on_meta(build, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """``build()`` on the meta device with ``state`` assigned (strict): no allocation, no init cost."""
    with torch.device("meta"):
        module = build()
    module.load_state_dict(state, strict=True, assign=True)
    return module.eval()


def adam_state(modules: list[torch.nn.Module], step: bool) -> dict:
    """``optimizer.state_dict()`` as the official trainers save it (Adam; one step when ``step``).
    The step runs on copies: the modules' weights stay as they are."""
    params = [torch.nn.Parameter(p.detach().clone()) for m in modules for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3, amsgrad=True)
    if step:
        for p in params:
            p.grad = torch.ones_like(p) * 1e-3
        opt.step()
        for p in params:
            p.grad = None
    return opt.state_dict()


# --- VideoPose3D ---------------------------------------------------------------------------------
# (model, 2D layout, key list or None, widths, channels, in_features, trajectory, causal)
VP3D_CASES = {
    "27f": ("videopose3d_h36m_detectron_coco", "coco17", "videopose3d_pos_27f.tsv", (3, 3, 3), 1024, 2, False, False),
    "243f_traj": ("videopose3d_h36m_cpn", "h36m17", "videopose3d_pos_243f.tsv", (3, 3, 3, 3, 3), 1024, 2, True, False),
    "81f_512": ("videopose3d_h36m_detectron_coco", "coco17", None, (3, 3, 3, 3), 512, 2, True, False),
    "27f_causal": ("videopose3d_h36m_cpn_causal", "h36m17", None, (3, 3, 3), 64, 2, False, True),
    "243f_conf": ("videopose3d_h36m_detectron_pt_conf", "coco17", None, (3, 3, 3, 3, 3), 32, 3, False, False),
}


def vp3d_training_models(case: str) -> tuple[TemporalModelOptimized1f, TemporalModelOptimized1f | None]:
    """The strided training models ``run.py`` saves, with random weights (official key lists where
    the case has one, loaded strictly: the list fixes the architecture)."""
    _, _, key_list, widths, channels, feats, traj, causal = VP3D_CASES[case]

    def build(joints_out: int) -> TemporalModelOptimized1f:
        return TemporalModelOptimized1f(17, feats, joints_out, list(widths), causal=causal, channels=channels)

    def rows(joints_out: int, official: str | None) -> Rows:
        if official is not None:
            return spec_rows(official)
        with torch.device("meta"):
            return [(k, tuple(v.shape)) for k, v in build(joints_out).state_dict().items()]

    pos = on_meta(lambda: build(17), random_tensors(rows(17, key_list), seed=1))
    if not traj:
        return pos, None
    traj_list = "videopose3d_traj_243f.tsv" if key_list is not None else None
    return pos, on_meta(lambda: build(1), random_tensors(rows(1, traj_list), seed=2))


def save_run_py_checkpoint(path: Path, pos: torch.nn.Module, traj: torch.nn.Module | None, *, step: bool) -> None:
    """``torch.save`` of the dict VideoPose3D's run.py writes every ``--checkpoint-frequency`` epochs."""
    torch.save({
        "epoch": 80, "lr": 1e-3 * 0.95**79,
        "random_state": np.random.RandomState(1234),
        "optimizer": adam_state([pos] + ([traj] if traj else []), step=step),
        "model_pos": pos.state_dict(),
        "model_traj": traj.state_dict() if traj is not None else None,
        "random_state_semi": np.random.RandomState(4321) if traj is not None else None,
    }, path)


def dilated_twin(trained: torch.nn.Module, causal: bool) -> TemporalModel:
    """The official reference ``TemporalModel`` with the training model's weights."""
    return on_meta(lambda: TemporalModel(trained.num_joints_in, trained.in_features, trained.num_joints_out,
                                         trained.filter_widths, causal=causal, channels=trained.channels),
                   trained.state_dict())


def track_stream(path: Path, skeleton: str, frames: int = 30) -> tuple[Path, np.ndarray]:
    """A 640x480 stream with one track; returns the file and its (T, 17, 3) keypoints (x, y, score)."""
    rng = np.random.default_rng(7)
    kps = rng.uniform([100, 80, 0.2], [540, 400, 1.0], size=(frames, 17, 3))
    recs = [make_header({"path": "v.mp4", "width": 640, "height": 480, "fps": 25, "frames": frames}, skeleton)]
    for f in range(frames):
        inst = {"track_id": 0, "bbox": [0.0, 0.0, 9.0, 9.0], "keypoints": kps[f].tolist()}
        recs.append(make_frame(f, f / 25, [inst]))
    recs.append({"type": "end", "frames": frames, "instances": frames, "finished": True})
    return write_records(path, recs), kps


def reference_lift(model: TemporalModel, kps: np.ndarray, features: int, causal: bool) -> np.ndarray:
    """Whole-track lifting as run.py evaluates a sequence: normalise, edge pad, dilated model once."""
    x = normalize_screen_coordinates(kps[..., :2], 640, 480)
    if features == 3:
        x = np.concatenate([x, kps[..., 2:3]], axis=-1)
    left, right = sequence_padding(model.filter_widths, causal)
    with torch.no_grad():
        return model(torch.from_numpy(pad_edge(x.astype(np.float32), left, right))[None])[0].numpy()


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to float32 rounding of a BatchNorm-folded model (relative to the output scale)."""
    return np.allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(b).max())))


@pytest.mark.parametrize("case", list(VP3D_CASES))
def test_videopose3d_run_py_checkpoints_load_and_lift_through_cli(tmp_path, case):
    name, skeleton, _, widths, channels, feats, traj, causal = VP3D_CASES[case]
    pos, trj = vp3d_training_models(case)
    ckpt = tmp_path / f"epoch_80_{case}.bin"
    save_run_py_checkpoint(ckpt, pos, trj, step=channels <= 64)

    # the architecture is read off the file, whatever the registered one
    loaded = load_model(name, task="lift3d", weights=str(ckpt), device="cpu")
    m = loaded.module
    assert loaded.name == f"{name} ({ckpt.name})"
    assert (m.model_pos.filter_widths, m.model_pos.channels, m.model_pos.in_features) == (list(widths), channels, feats)
    assert m.causal is causal and (m.model_traj is not None) is traj and m.receptive_field() == math.prod(widths)
    # the dilated model equals the strided training model it was saved from (one output frame)
    x = torch.randn(2, receptive_field(widths), 17, feats)
    with torch.no_grad():
        assert torch.allclose(m.model_pos(x), pos(x), rtol=1e-4, atol=1e-5)
        assert torch.allclose(m.model_pos.forward_last(x), pos(x), rtol=1e-4, atol=1e-5)
        if traj:
            assert torch.allclose(m.model_traj(x), trj(x), rtol=1e-4, atol=1e-5)

    src, kps = track_stream(tmp_path / "in.msgpack", skeleton)
    out = tmp_path / "out.jsonl"
    args = ["lift3d", str(src), "--model", name, "--weights", str(ckpt), "--no-flip", "-o", str(out), "--device", "cpu"]
    r = run_posetool(*args, *(["--causal"] if causal else []))
    assert r.returncode == 0, r.stderr.decode()
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    params = lines[0]["stages"][-1]["params"]
    assert (params["receptive_field"], params["causal"], params["trajectory"]) == (math.prod(widths), causal, traj)
    insts = [ln["instances"][0] for ln in lines if ln["type"] == "frame"]
    got = np.array([i["keypoints_3d"] for i in insts])
    assert close(got, reference_lift(dilated_twin(pos, causal), kps, feats, causal))
    if traj:
        root = np.array([i["root_3d"] for i in insts])
        assert close(root, reference_lift(dilated_twin(trj, causal), kps, feats, causal)[:, 0])
    else:
        assert all("root_3d" not in i for i in insts)


def test_videopose3d_bare_state_dict_and_old_files_without_num_batches_tracked(tmp_path):
    """A bare ``TemporalModel`` state dict (``pretrained_*.bin`` style, PyTorch < 0.4.1 buffers)."""
    pos, _ = vp3d_training_models("81f_512")
    path = tmp_path / "old.bin"
    torch.save({k: v for k, v in pos.state_dict().items() if not k.endswith("num_batches_tracked")}, path)
    m = load_model("videopose3d_h36m_detectron_coco", weights=str(path), device="cpu").module
    x = torch.randn(1, 81, 17, 2)
    with torch.no_grad():
        assert torch.allclose(m.model_pos(x), pos(x), rtol=1e-4, atol=1e-5) and m.model_traj is None


def test_videopose3d_official_file_in_the_weights_cache_is_read_the_same_way(tmp_path, monkeypatch):
    """The registered file name in the cache (no --weights): its own architecture, not the registered 243f."""
    monkeypatch.setenv("POSETOOL_HOME", str(tmp_path))
    pos, trj = _tiny_vp3d(), _tiny_vp3d(joints_out=1)
    save_run_py_checkpoint(tmp_path / get_model_spec("videopose3d_h36m_cpn").weights.file, pos, trj, step=False)
    loaded = load_model("videopose3d_h36m_cpn", device="cpu")
    assert loaded.module.receptive_field() == 9 and loaded.module.model_traj is not None
    x = torch.randn(1, 9, 17, 2)
    with torch.no_grad():
        assert torch.allclose(loaded.module.model_traj(x), trj.eval()(x), rtol=1e-4, atol=1e-5)


def _tiny_vp3d(joints_in: int = 17, feats: int = 2, joints_out: int = 17, widths=(3, 3)) -> TemporalModelOptimized1f:
    return TemporalModelOptimized1f(joints_in, feats, joints_out, list(widths), channels=16)


@pytest.mark.parametrize("pos, traj, match", [
    (lambda: _tiny_vp3d(joints_out=15), None, r"predicts 15 joints but model \S+ writes h36m17"),
    (lambda: _tiny_vp3d(joints_in=16), None, r"takes 32 input channels, not 17 coco17 joints"),
    (lambda: _tiny_vp3d(), lambda: _tiny_vp3d(joints_out=1, widths=(3, 3, 3)), "model_traj .* is not the 1-joint twin"),
])
def test_videopose3d_files_that_do_not_fit_the_model_are_one_line_errors(tmp_path, pos, traj, match):
    path = tmp_path / "x.bin"
    save_run_py_checkpoint(path, pos(), traj() if traj else None, step=False)
    with pytest.raises(WeightsError, match=match):
        load_model("videopose3d_h36m_detectron_coco", weights=str(path), device="cpu")


# --- HRNet / SimpleBaselines ----------------------------------------------------------------------
def write_video(path: Path, frames: int = 2, size: tuple[int, int] = (160, 120)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()
    return path


def detection_stream(tmp_path: Path) -> Path:
    """Two frames of a small video, one box each."""
    video = write_video(tmp_path / "v.avi")
    recs = [{"type": "header", "format": "posetool.stream", "version": 1, "skeleton": None, "stages": [],
             "source": {"path": str(video), "width": 160, "height": 120, "fps": 10.0, "frames": 2}}]
    box = {"bbox": [20.0, 10.0, 90.0, 110.0], "score": 0.9}
    recs += [{"type": "frame", "frame": f, "t": f / 10, "instances": [dict(box)]} for f in range(2)]
    recs.append({"type": "end", "frames": 2, "instances": 2, "finished": True})
    path = tmp_path / "det.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def pose2d_keypoints(tmp_path: Path, model: str, weights: Path) -> list:
    out = tmp_path / f"{weights.name}.jsonl"
    r = run_posetool("pose2d", str(detection_stream(tmp_path)), "--model", model, "--weights", str(weights),
                     "--device", "cpu", "-o", str(out), timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return [rec["instances"][0]["keypoints"] for rec in records if rec["type"] == "frame"]


def training_checkpoint(module: torch.nn.Module, *, with_best: bool, step: bool) -> dict:
    """The dict HRNet's tools/train.py (``with_best``) or SimpleBaselines' train.py saves as checkpoint.pth."""
    ckpt = {"epoch": 140, "model": "pose_resnet",
            "state_dict": {f"module.{k}": v for k, v in module.state_dict().items()},  # DataParallel
            "perf": np.float64(0.7234), "optimizer": adam_state([module], step=step)}
    if with_best:
        ckpt["best_state_dict"] = module.state_dict()  # model.module.state_dict(): the same tensors
    return ckpt


def test_pose2d_official_layouts_load_through_cli_with_equal_outputs(tmp_path):
    """Every layout of the same weights gives the same keypoints (small registered architecture)."""
    torch.manual_seed(0)
    spec = get_model_spec("simplebaseline_r18_synth")
    net = spec.build()
    net.load_state_dict(random_tensors([(k, tuple(v.shape)) for k, v in net.state_dict().items()], seed=9))
    dp = {f"module.{k}": v for k, v in net.state_dict().items()}
    torch.save(net.state_dict(), tmp_path / "final_state.pth")  # HR final_state.pth / model_best.pth, pose_*.pth
    torch.save(dp, tmp_path / "model_best.pth.tar")  # SimpleBaselines: the DataParallel state dict
    ref = pose2d_keypoints(tmp_path, spec.name, tmp_path / "final_state.pth")
    assert len(ref) == 2 and all(np.isfinite(np.array(k, dtype=float)).all() for k in ref)
    assert pose2d_keypoints(tmp_path, spec.name, tmp_path / "model_best.pth.tar") == ref
    # the training checkpoints (HRNet's checkpoint.pth, SimpleBaselines' checkpoint.pth.tar without
    # best_state_dict; checkpoint.pth through the CLI below) and PyTorch 0.4.0 files (no
    # num_batches_tracked) hold the same weights
    x = torch.randn(1, 3, 128, 96)
    with torch.no_grad():
        want = net.eval()(x)
        for obj in (training_checkpoint(net, with_best=True, step=True),
                    training_checkpoint(net, with_best=False, step=False),
                    {k: v for k, v in dp.items() if not k.endswith("num_batches_tracked")}):
            torch.save(obj, tmp_path / "other.pth.tar")
            loaded = load_model(spec.name, weights=str(tmp_path / "other.pth.tar"), device="cpu")
            assert torch.equal(loaded.module(x), want)


def test_official_resnet50_training_checkpoint_through_cli(tmp_path):
    """``checkpoint.pth`` of the official key list (numpy float64 perf) runs as the official architecture."""
    state = random_tensors(spec_rows("pose_resnet_50_256x192.tsv"), seed=11)
    official = on_meta(lambda: pose_resnet(50), state)  # the key list's architecture, strictly
    path = tmp_path / "checkpoint.pth"
    torch.save(training_checkpoint(official, with_best=True, step=False), path)
    with pytest.raises(WeightsError, match=r"refused to unpickle numpy\._core\.multiarray\.scalar|numpy\.core"):
        load_state(path)  # plain weights_only: the numpy perf is named
    ckpt = load_state(path, official=True)
    assert isinstance(ckpt["perf"], np.float64) and ckpt["perf"] == np.float64(0.7234)
    loaded = load_model("simplebaseline_r50_256x192", task="pose2d", weights=str(path), device="cpu")
    x = torch.randn(1, 3, 256, 192)
    with torch.no_grad():
        assert torch.equal(loaded.module(x), official(x))
    kps = pose2d_keypoints(tmp_path, "simplebaseline_r50_256x192", path)
    assert len(kps) == 2 and all(len(k) == 17 for k in kps)


def test_official_hrnet_w32_final_state_loads_as_the_official_architecture(tmp_path):
    """``final_state.pth`` of the HRNet-W32 key list: strict load, same heatmaps as the key list's model."""
    state = random_tensors(spec_rows("hrnet_w32_256x192.tsv"), seed=12)
    official = on_meta(lambda: pose_hrnet(32), state)
    path = tmp_path / "final_state.pth"
    torch.save(official.state_dict(), path)
    loaded = load_model("hrnet_w32_256x192", task="pose2d", weights=str(path), device="cpu")
    x = torch.randn(1, 3, 256, 192)
    with torch.no_grad():
        assert torch.equal(loaded.module(x), official(x))


# --- safe unpickling and one-line errors ------------------------------------------------------------
def test_numpy_scalars_of_numpy_1_pickles_load(tmp_path):
    """numpy < 2 pickles name ``numpy.core.multiarray.scalar``; the allow-list maps both names."""
    path = tmp_path / "old_numpy.pth"
    torch.save({"perf": np.float64(0.5), "epoch": 3}, path, _use_new_zipfile_serialization=False)
    raw = path.read_bytes()
    assert b"numpy._core.multiarray\nscalar" in raw  # a legacy (non-zip) file: the pickle is plain bytes
    path.write_bytes(raw.replace(b"numpy._core.multiarray\nscalar", b"numpy.core.multiarray\nscalar"))
    assert load_state(path, official=True)["perf"] == 0.5


@pytest.mark.parametrize("obj, official, named", [
    ({"x": np.array([None, 1], dtype=object)}, True, "numpy.dtype 'O8'"),  # object arrays carry any object
    ({"when": datetime.date(2020, 1, 1)}, True, "datetime.date"),  # not on the allow-list
    ({"random_state": np.random.RandomState(0)}, False, "numpy.random._pickle.__randomstate_ctor"),
])
def test_refused_objects_are_named_in_one_line(tmp_path, obj, official, named):
    path = tmp_path / "c.pth"
    torch.save(obj, path)
    with pytest.raises(WeightsError) as err:
        load_state(path, official=official)
    msg = str(err.value)
    assert msg.startswith(f"{path}: refused to unpickle {named}") and "\n" not in msg


@pytest.mark.parametrize("suffix", [".pth", ".bin", ".safetensors"])
def test_text_file_as_weights_is_a_weights_error(tmp_path, suffix):
    weights = tmp_path / f"weights{suffix}"
    weights.write_text("this is not a weights file\n")
    with pytest.raises(WeightsError, match="not a valid safetensors file|not a PyTorch checkpoint"):
        load_state(weights, official=True)
    with pytest.raises(WeightsError, match="not a valid safetensors file|not a PyTorch checkpoint"):
        load_model("videopose3d_h36m_cpn", weights=str(weights), device="cpu")  # through the lift3d file hook


@pytest.mark.parametrize("stage", ["lift3d", "pose2d", "detect"])
def test_text_file_as_weights_is_one_clear_line_for_every_stage(tmp_path, stage):
    weights = tmp_path / "weights.safetensors"
    weights.write_text("this is not a weights file\n")
    if stage == "lift3d":
        src, _ = track_stream(tmp_path / "in.msgpack", "coco17", frames=3)
    elif stage == "pose2d":
        src = detection_stream(tmp_path)
    else:
        src = write_video(tmp_path / "v.avi")
    model = ["--model", "centernet_r18_synth"] if stage == "detect" else []  # the default detector has no weights
    out = str(tmp_path / "o.jsonl")
    r = run_posetool(stage, str(src), *model, "--weights", str(weights), "--device", "cpu", "-o", out)
    err = r.stderr.decode().strip()
    assert r.returncode == 1, err
    assert len(err.splitlines()) == 1 and "internal error" not in err and str(weights) in err
    assert re.search(r"not a valid safetensors file|not a PyTorch checkpoint", err)
