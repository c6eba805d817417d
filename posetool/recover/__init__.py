"""Recovery of missed people and keypoints from keypoint correspondences (Rafi et al., ECCV 2020, Sec. 4):
the algorithm (:mod:`recoverer`) and the stream stage (:mod:`stage`)."""
