"""``posetool align``: temporal alignment of two performances of the same action.

An embedder learnt with temporal cycle consistency (TCC, Dwibedi et al., CVPR 2019) maps every
frame of a tracked person's keypoints to a 128-d vector; frames in the same phase of the action
land close together whoever performs it, at whatever speed and from whatever side. Aligning is
then a nearest-neighbour look-up (or DTW for a monotonic alignment).

Modules: :mod:`features` (normalised keypoints), :mod:`sequences` (a track read off a stream),
:mod:`losses` (cycle-back classification and regression), :mod:`train`, :mod:`embedder`
(running a model; the no-learning baseline), :mod:`match` (nearest neighbour, DTW, confidence),
:mod:`stage` (the command), :mod:`evaluate` (the paper's measures over synth takes), :mod:`specs`.
The network is :mod:`posetool.nn.tcc`.
"""
