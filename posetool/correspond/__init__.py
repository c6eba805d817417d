"""Keypoint correspondences between consecutive frames (Rafi et al., ECCV 2020): windows and
pairs, the estimator, the ``correspond`` stream stage, training and evaluation."""
