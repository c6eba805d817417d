"""Every registered model, in one list. Stage issues add their entries here.

Nothing here imports torch: builders are ``"module:function"`` strings.
"""

from __future__ import annotations

from posetool.models.registry import ModelSpec, register_model

_SPECS: list[ModelSpec] = []

for _spec in _SPECS:
    register_model(_spec)
