"""Trainers: one module per stage (lift3d, ...) and the shared loop helpers in :mod:`common`."""
