"""Evaluation: the numbers the field trusts, computed as the official evaluators compute them.

- :mod:`coco`: COCO keypoint AP/AR through pycocotools' ``COCOeval``.
- :mod:`posetrack`: PoseTrack per-joint AP and MOTA/MOTP/precision/recall (poseval's rules);
  :mod:`posetrack_inputs` loads and aligns its inputs; :mod:`clearmot` is the CLEAR-MOT
  accumulator it uses (motmetrics' algorithm, event for event).
- :mod:`mot`: box tracking metrics through py-motmetrics (+ HOTA).
- :mod:`lift`: MPJPE, P-MPJPE, N-MPJPE, mean velocity error and VideoPose3D's averaging.
- :mod:`frames`: how stream frames are matched to ground-truth images.
- :mod:`report`: rich tables.
"""
