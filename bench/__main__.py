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
    search,
    timeline,
    transcode,
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
}


def main(argv: list[str]) -> int:
    """Run the named benchmarks, or all of them."""
    names = argv or list(BENCHES)
    for name in names:
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
