"""The weights cache: where files live, how they are found, verified and pulled.

Resolution order for a model's weights: an explicit ``--weights PATH``; the file shipped inside
the package (``posetool/weights/``); the cache directory (``$POSETOOL_HOME``, else
``$XDG_CACHE_HOME/posetool``, else ``~/.cache/posetool``). Nothing is downloaded at run time; a
missing file is an error that prints the expected path and the ``posetool weights pull`` hint.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from posetool.errors import WeightsError
from posetool.hub.fetchers import get_fetcher
from posetool.hub.registry import ModelSpec

PACKAGE_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


def cache_dir() -> Path:
    """The weights cache directory (not created here)."""
    if os.environ.get("POSETOOL_HOME"):
        return Path(os.environ["POSETOOL_HOME"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "posetool"


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def candidate_paths(spec: ModelSpec) -> list[Path]:
    """Where ``spec``'s weights may be, in lookup order (excluding ``--weights``)."""
    if spec.weights is None:
        return []
    paths = []
    if spec.weights.source == "package":
        paths.append(PACKAGE_WEIGHTS / spec.weights.file)
    paths.append(cache_dir() / spec.weights.file)
    return paths


def find_weights(spec: ModelSpec, override: str | None = None) -> Path | None:
    """The weights file for ``spec``, or ``None`` if it needs none; raises if missing."""
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise WeightsError(f"--weights {override}: no such file")
        return path
    if spec.weights is None:
        return None
    for path in candidate_paths(spec):
        if path.is_file():
            return path
    expected = candidate_paths(spec)[-1]
    hint = (
        f"run: posetool weights pull {spec.name}"
        if spec.weights.source != "user"
        else f"download it yourself ({spec.weights.url or 'see README'}) and pass --weights PATH or place it there"
    )
    raise WeightsError(f"weights for model {spec.name} not found at {expected}; {hint}")


def init_weights(init: str, task: str) -> Path:
    """The file a training run's ``--init`` names: a weights file (it has a suffix), or a registered
    model of ``task`` whose shipped or cached weights are used (e.g. ``centernet_r18_synth``).

    Raises:
        UsageError: no such file, an unknown model name or a model without weights (one line each).
    """
    from posetool.errors import UsageError
    from posetool.hub.registry import get_model_spec

    if Path(init).suffix:
        if not Path(init).expanduser().is_file():
            raise UsageError(f"--init {init}: no such file")
        return Path(init).expanduser()
    path = find_weights(get_model_spec(init, task))  # an unknown name raises a UsageError listing the known ones
    if path is None:
        raise UsageError(f"--init {init}: the model has no weights")
    return path


def verify_weights(spec: ModelSpec, path: Path) -> str:
    """Check ``path`` against the registered sha256; return the file's sha256."""
    digest = sha256_file(path)
    expected = spec.weights.sha256 if spec.weights else None
    if expected and digest != expected:
        raise WeightsError(
            f"{path}: sha256 {digest[:12]}… does not match the registered {expected[:12]}… for model {spec.name}; "
            f"the file is corrupt or from another version (delete it and run: posetool weights pull {spec.name})"
        )
    return digest


def pull_weights(spec: ModelSpec) -> Path:
    """Make ``spec``'s weights available locally, fetching only through a fetcher of
    :data:`posetool.hub.fetchers.FETCHERS` (keyed by the scheme of ``WeightsSpec.source``)."""
    if spec.weights is None:
        raise WeightsError(f"model {spec.name} needs no weights")
    if spec.weights.source == "package":
        path = PACKAGE_WEIGHTS / spec.weights.file
        if not path.is_file():
            raise WeightsError(f"model {spec.name}: shipped weights {path} are missing from this installation")
        return path
    scheme = spec.weights.source.split(":", 1)[0]
    fetcher = get_fetcher(scheme)
    if fetcher is None:
        raise WeightsError(
            f"model {spec.name}: posetool cannot fetch {spec.weights.source} weights; "
            f"download {spec.weights.file} yourself ({spec.weights.url or 'see README'}) into {cache_dir()}"
        )
    cache_dir().mkdir(parents=True, exist_ok=True)
    path = fetcher(spec, cache_dir())
    verify_weights(spec, path)
    return path
