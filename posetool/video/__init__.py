"""Pixels for the stages that need them.

- :mod:`sources`: frame sources (video files through OpenCV, image folders) and the header's video.
- :mod:`tee`: one decoded video shared by the stages of ``posetool run``, in bounded memory.
- :mod:`align`: pairing stream frame records with their video frames.
"""
