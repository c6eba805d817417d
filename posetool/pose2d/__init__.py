"""Top-down pose machinery: crops and affine maps, heatmap targets and decoders, flip test, OKS and NMS."""
