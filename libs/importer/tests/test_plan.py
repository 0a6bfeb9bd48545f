"""Reading an export split over a zip part and an extracted folder (no server)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from darkroom_import.sources import Inputs
from darkroom_import.takeout import plan

IMAGES = frozenset({".jpg", ".heic"})
VIDEOS = frozenset({".mp4"})


def _sidecar(title: str, taken: int) -> bytes:
    return json.dumps({"title": title, "photoTakenTime": {"timestamp": str(taken)}}).encode()


def test_a_zip_part_and_an_extracted_part_pair_across(tmp_path: Path) -> None:
    part1 = tmp_path / "takeout-001.zip"
    with zipfile.ZipFile(part1, "w") as z:
        z.writestr("Takeout/Google Photos/Photos from 2019/a.jpg", b"a")
        z.writestr("Takeout/Google Photos/Photos from 2019/b.jpg.json", _sidecar("b.jpg", 2))
        z.writestr("Takeout/Google Photos/Rome/metadata.json", b'{"title": "Rome in May"}')
        z.writestr("Takeout/Google Photos/Rome/a.jpg", b"a")
        z.writestr("Takeout/archive_browser.html", b"<html>")
    part2 = tmp_path / "Takeout 2" / "Takeout" / "Google Photos"
    (part2 / "Photos from 2019").mkdir(parents=True)
    (part2 / "Rome").mkdir()
    (part2 / "Photos from 2019" / "a.jpg.supplemental-metadata.json").write_bytes(
        _sidecar("a.jpg", 1)
    )
    (part2 / "Photos from 2019" / "b.jpg").write_bytes(b"b")
    (part2 / "Photos from 2019" / "c.mp4").write_bytes(b"c")
    (part2 / "Rome" / "a.jpg.json").write_bytes(_sidecar("a.jpg", 1))

    with Inputs([part1, tmp_path / "Takeout 2"]) as inputs:
        found = plan(inputs, IMAGES, VIDEOS)
        items = {(i.entry.folder, i.entry.name): i for i in found.items}
        assert list(items) == [  # year folders first: the canonical copies upload first
            ("Photos from 2019", "a.jpg"),
            ("Photos from 2019", "b.jpg"),
            ("Photos from 2019", "c.mp4"),
            ("Rome", "a.jpg"),
        ]
        year_a = items["Photos from 2019", "a.jpg"]
        assert year_a.meta is not None and year_a.meta.taken_at is not None
        assert year_a.meta.taken_at.timestamp() == 1 and year_a.album is None
        assert items["Photos from 2019", "b.jpg"].meta is not None
        assert items["Photos from 2019", "c.mp4"].meta is None
        assert items["Photos from 2019", "c.mp4"].video
        assert items["Rome", "a.jpg"].album == "Rome in May"
        assert found.albums == {"Rome in May": ""}
        assert found.unmatched == ["Takeout/Google Photos/Photos from 2019/c.mp4"]
        assert found.ignored == ["Takeout/archive_browser.html"]
        with items["Photos from 2019", "a.jpg"].entry.open() as fh:  # streamed from the zip
            assert fh.read() == b"a"
