"""Transcode benchmark: speed of :func:`darkroom_transcode.transcode.transcode` on this machine.

A generated 1080p30 H.264/AAC clip of 10 s (FFmpeg's testsrc2 pattern and a tone, see
:func:`darkroom_transcode.testing.make_clip`) is transcoded with the default settings (720p
H.264 CRF 23 preset ultrafast + AAC, MP4 faststart), and also to HEVC, best of 2 runs each.
Reported: output frames per second and x realtime (seconds of video per second of wall time).
Results: bench/results/transcode.json.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path

import av
from darkroom_transcode.policy import VideoSettings
from darkroom_transcode.testing import make_clip
from darkroom_transcode.transcode import probe, transcode

RESULTS = Path(__file__).parent / "results"
SECONDS = 10.0


def main() -> None:
    """Run the benchmark and write bench/results/transcode.json."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-transcode-") as tmp:
        src = make_clip(Path(tmp) / "clip.mp4", seconds=SECONDS, width=1920, height=1080, fps=30)
        info = probe(src)
        for label, settings in (
            ("h264_720p_ultrafast", VideoSettings()),
            ("h264_720p_veryfast", VideoSettings(preset="veryfast")),
            ("hevc_720p_ultrafast", VideoSettings(codec="hevc")),
        ):
            best = None
            for _ in range(2):
                result = transcode(src, Path(tmp) / "out.mp4", settings, info=info)
                if best is None or result.seconds < best.seconds:
                    best = result
            assert best is not None
            runs.append(
                {
                    "settings": label,
                    "encoder": best.encoder,
                    "output": f"{best.width}x{best.height}",
                    "frames": best.frames,
                    "seconds": best.seconds,
                    "output_fps": round(best.frames / best.seconds, 1),
                    "x_realtime": round(best.duration_s / best.seconds, 2),
                }
            )
    report = {
        "benchmark": "transcode",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pyav": av.__version__,
        },
        "input": {
            "size": f"{info.width}x{info.height}",
            "fps": info.fps,
            "seconds": SECONDS,
            "codec": "h264 + aac (generated testsrc2)",
        },
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "transcode.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))  # noqa: T201 - a benchmark's report on the terminal


if __name__ == "__main__":
    main()
