"""Drawing pose streams: 2D overlays on video frames and a rotating 3D side panel."""
