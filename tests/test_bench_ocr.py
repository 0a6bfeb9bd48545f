"""The OCR benchmark (bench/ocr.py) runs end to end on a small set and reports before/after
figures: recognition character accuracy and OCR search recall@10 (issue #23 item 2).

The full run is ``make bench`` / ``python -m bench ocr`` (bench/results/ocr.json, with the sample
photos); this runs twelve generated images into a temporary file, to stay quick.
"""

from __future__ import annotations

import json

from bench import ocr as bench_ocr


def test_ocr_benchmark_reports_before_and_after(tmp_path) -> None:
    out = tmp_path / "ocr.json"
    report = bench_ocr.run(12, out_path=out, with_samples=False)
    assert json.loads(out.read_text()) == report
    assert report["images"]["generated"] == 12
    v4 = report["engines"]["PP-OCRv4"]
    assert 0.5 <= v4["char_accuracy"]["generated"] <= 1.0
    search = v4["search"]
    before, after = search["before"], search[f"after@{report['production_threshold']}"]
    for figures in (before, after):
        g = figures["generated"]
        assert g["queries"] == 36 and g["absent_queries"] > 0
        assert 0.0 <= g["recall_at_10"] <= 1.0 and 0.0 <= g["precision_at_10"] <= 1.0
    # Folded, fuzzy matching finds at least what exact matching found, and no absent word
    # finds anything at the production threshold.
    assert after["generated"]["recall_at_10"] >= before["generated"]["recall_at_10"]
    assert after["generated"]["absent_with_hits"] == 0.0
