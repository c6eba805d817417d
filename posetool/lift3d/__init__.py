"""3D lifting: camera maths, sequence windows and padding, flips, whole-track lifting, datasets.

- :mod:`camera`: VideoPose3D's screen normalisation, quaternion extrinsics, projection.
- :mod:`windows`: edge padding, chunk bounds and the training batch generator.
- :mod:`flip`: horizontal flips of 2D inputs and 3D outputs (train and test time).
- :mod:`infer`: lifting one whole sequence (chunked with receptive-field overlap).
- :mod:`stage`: the ``posetool lift3d`` stream stage (per-track buffering).
- :mod:`data`: VideoPose3D-format ``.npz`` datasets (Human3.6M, ``posetool synth``), safely.
"""
