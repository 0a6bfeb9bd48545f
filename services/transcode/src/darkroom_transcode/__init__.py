"""Video transcoding to H.264/AAC MP4 with PyAV; hardware encoders when present (issue 6)."""
