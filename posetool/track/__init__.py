"""Tracking: similarities between tracks and people, Hungarian assignment, the track lifecycle,
gap interpolation and One-Euro smoothing, and (with :mod:`recover`) pose recovery."""
