"""Video transcoding to H.264/AAC MP4 with PyAV (not built yet: issue 6)."""
