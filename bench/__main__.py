"""``python -m bench [NAME ...]``: run the benchmarks (all by default)."""

from __future__ import annotations

import sys

from bench import (
    faces,
    ingest,
    metadata,
    ocr,
    recovery,
    s3_upload,
    scale,
    search,
    suite,
    timeline,
    transcode,
    upload_large,
    web_timeline,
)

BENCHES = {
    "ingest": ingest.main,
    "timeline": timeline.main,
    "search": search.main,
    "faces": faces.main,
    "transcode": transcode.main,
    "web_timeline": web_timeline.main,
    "recovery": recovery.main,
    "s3_upload": s3_upload.main,
    "metadata": metadata.main,
    "ocr": ocr.main,
    "scale": scale.main,
    "upload_large": upload_large.main,
    "suite": suite.main,
}
#: What ``make bench`` runs: all but the scale run (``make scale-test``, tens of minutes).
DEFAULT = [name for name in BENCHES if name != "scale"]


def main(argv: list[str]) -> int:
    """Run the named benchmarks, or all of them but ``scale``."""
    names = argv or DEFAULT
    for name in names:
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
