"""Dataset file formats: COCO, PoseTrack, MOTChallenge and VideoPose3D readers.

Each module reads one format into plain numpy-based structures that any stage can reuse
(evaluation, training, export); none of them imports torch.
"""
