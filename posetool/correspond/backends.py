"""Build the correspondence estimator a registered model name stands for (``posetool weights list --task correspond``).

Torch models load through the shared loader (:func:`posetool.hub.loader.load_model`) into a
:class:`~posetool.correspond.infer.CorrespondenceEstimator`; the optical-flow baselines (``runtime
= "opencv"``: ``lk``, ``dis``) are built from their spec into a
:class:`~posetool.correspond.flow.FlowCorrespondence`. Both answer ``correspond(image_a, image_b,
queries, boxes, people, frame_ids)`` the same way, so every user (the ``correspond`` stage,
``recover``'s re-queries, ``eval correspond``) runs either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from posetool.errors import UsageError
from posetool.hub.registry import get_model_spec

# Person-window side / the person's longer box side, for models whose spec names none.
DEFAULT_CONTEXT = 2.0


def is_flow(model: str) -> bool:
    """Whether ``model`` is an optical-flow baseline (no network, no weights)."""
    return get_model_spec(model, task="correspond").runtime == "opencv"


def build_estimator(model: str, *, device: str = "auto", weights: str | None = None, region: str = "person",
                    context: float | None = None, frame_size: int = 512, batch_size: int = 16, maps: str = "refined",
                    decode: str | None = None, blur_kernel: int | None = None, query_offset: bool | None = None,
                    input_size: int | None = None, fb_sigma: float | None = None,
                    flow_params: Mapping[str, Any] | None = None) -> tuple[Any, str | None]:
    """The estimator for ``--model`` and the sha256 of its weights (``None`` for the flow baselines).

    ``region``, ``context``, ``frame_size``, ``batch_size``, ``maps``, ``decode``, ``blur_kernel``,
    ``query_offset`` and ``input_size`` configure a network (``context`` None: the window the model was
    trained and measured at, its spec's ``defaults``, else 2.0; ``input_size`` None: its spec's input side;
    the decoding options None: the estimator's defaults);
    ``fb_sigma`` (an explicit option) and ``flow_params`` (a stream's recorded parameters; keys
    the flow does not take are ignored) configure a flow baseline. Options that do not apply to
    the chosen kind are usage errors naming the flag.
    """
    spec = get_model_spec(model, task="correspond")
    if spec.runtime == "opencv":
        from posetool.hub.device import check_device

        check_device(device)  # runs on the CPU, but an absent device fails as for the networks
        if weights:
            raise UsageError(f"--model {model} is optical flow and needs no weights; drop --weights")
        if maps != "refined":
            raise UsageError(f"--maps {maps} applies to the correspondence networks, not to {model}")
        for flag, value in (("--decode", decode), ("--blur-kernel", blur_kernel), ("--query-offset", query_offset),
                            ("--input-size", input_size)):
            if value is not None:
                raise UsageError(f"{flag} applies to the correspondence networks, not to {model}")
        params = {**spec.kwargs, **(flow_params or {})}
        if fb_sigma is not None:
            params["fb_sigma"] = fb_sigma
        return spec.resolve_builder().from_params(params), None
    if fb_sigma is not None:
        raise UsageError(f"--fb-sigma applies to the optical-flow models (lk, dis), not to {model}")
    from posetool.correspond.infer import DECODES, CorrespondenceEstimator
    from posetool.hub.loader import load_model

    if context is None:
        context = float(spec.defaults.get("context", DEFAULT_CONTEXT))
    decoding: dict[str, Any] = {k: v for k, v in (("decode", decode), ("blur_kernel", blur_kernel),
                                                  ("query_offset", query_offset)) if v is not None}
    if decoding.get("decode", "dark") not in DECODES:
        raise UsageError(f"--decode must be one of {', '.join(DECODES)}, got {decode!r}")
    if blur_kernel is not None and (blur_kernel < 1 or blur_kernel % 2 == 0):
        raise UsageError(f"--blur-kernel must be a positive odd number, got {blur_kernel}")
    if input_size is not None and (input_size < 32 or input_size % 32):
        raise UsageError(f"--input-size must be a positive multiple of 32, got {input_size}")
    loaded = load_model(model, task="correspond", weights=weights, device=device)
    estimator = CorrespondenceEstimator.from_loaded(loaded, input_size=input_size, region=region, frame_size=frame_size,
                                                    context=context, batch_size=batch_size, maps=maps, **decoding)
    return estimator, loaded.weights_sha256
