"""posetool: multi-person 2D pose, keypoint correspondences, tracking and 3D lifting in video.

Every stage reads and writes a *pose stream* (see :mod:`posetool.stream`), so stages compose in
shell pipelines or in one process (``posetool run``).
"""

__version__ = "0.1.0"
