"""Issue #17 item 3: `darkroom import takeout` brings a Google Takeout export into a running
Darkroom through the public API, with the JSON sidecars' dates, GPS and descriptions, the albums
of its album folders, and nothing new on a second run.

The export is generated: 30 sample photos re-encoded without any metadata (so the truth is only
in the JSON sidecars), split over two zip parts (a file and its JSON in different parts), a
year folder, two album folders (one titled by its metadata.json), and Takeout's naming quirks: a
name cut at 47/46 characters, a `(1)` duplicate name, an `-edited` copy sharing its original's
JSON, `.supplemental-metadata.json` and a cut `.supplemental-metada.json`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pyvips
from darkroom_import.client import ImmichClient
from darkroom_import.state import State
from darkroom_import.takeout import Item, Summary, run
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, wait_processed

pytestmark = pytest.mark.samples

PHOTOS = 30
YEAR = "Takeout/Google Photos/Photos from 2019"
LAKE = "Takeout/Google Photos/Trip to the lake"  # its metadata.json titles it
PETS = "Takeout/Google Photos/Cats and dogs"  # no metadata.json: the folder names it
LONG_TITLE = "Summer_evening_at_the_lake_with_the_whole_family_2019.jpg"


@dataclass
class Photo:
    """One photo of the generated export and the truth its JSON holds."""

    title: str  # the original name (the JSON's title)
    file: str  # the name in the export
    json: str  # its sidecar's name
    data: bytes
    taken: datetime
    location: tuple[float, float] | None
    description: str
    favorited: bool = False
    archived: bool = False

    def sidecar(self) -> bytes:
        lat, lon = self.location or (0.0, 0.0)
        return json.dumps(
            {
                "title": self.title,
                "description": self.description,
                "imageViews": "7",
                "creationTime": {"timestamp": "1700000000", "formatted": "Nov 14, 2023"},
                "photoTakenTime": {
                    "timestamp": str(int(self.taken.timestamp())),
                    "formatted": self.taken.strftime("%b %d, %Y, %I:%M:%S %p UTC"),
                },
                "geoData": {"latitude": lat, "longitude": lon, "altitude": 0.0},
                "geoDataExif": {"latitude": lat, "longitude": lon, "altitude": 0.0},
                "url": "https://photos.google.com/photo/AF1Qip",
                "googlePhotosOrigin": {"mobileUpload": {"deviceType": "ANDROID_PHONE"}},
                "favorited": self.favorited,
                "archived": self.archived,
            }
        ).encode()


def _stripped(path: Path, *, flip: bool = False) -> bytes:
    """The photo re-encoded small, without any EXIF/XMP/ICC."""
    image = pyvips.Image.thumbnail(str(path), 320)
    if flip:
        image = image.fliphor()
    return bytes(image.jpegsave_buffer(Q=85, keep=pyvips.enums.ForeignKeep.NONE))


def _photos(samples: Path) -> list[Photo]:
    sources = sorted((samples / "search" / "photoprism_examples").glob("*.jpg"))[:PHOTOS]
    if len(sources) < PHOTOS:
        pytest.skip(f"needs {PHOTOS} sample photos in search/photoprism_examples")
    photos = []
    for i, source in enumerate(sources):
        title = f"IMG_{1000 + i}.jpg"
        file, sidecar = title, f"{title}.json" if i % 2 else f"{title}.supplemental-metadata.json"
        if i == 1:  # a second IMG_1000.jpg in the folder
            title, file, sidecar = "IMG_1000.jpg", "IMG_1000(1).jpg", "IMG_1000.jpg(1).json"
        elif i == 2:  # a long name: the file keeps 47 characters of its stem, the JSON 46
            title, file = LONG_TITLE, LONG_TITLE[:-4][:47] + ".jpg"
            sidecar = (LONG_TITLE + ".supplemental-metadata")[:46] + ".json"
        elif i == 4:  # the supplemental-metadata suffix cut to fit 46 characters
            title = file = "IMG_20190305_101500123.jpg"
            sidecar = (title + ".supplemental-metadata")[:46] + ".json"
            assert sidecar == "IMG_20190305_101500123.jpg.supplemental-metada.json"
        photos.append(
            Photo(
                title=title,
                file=file,
                json=sidecar,
                data=_stripped(source),
                taken=datetime(2019, 3, 1, 9, 0, tzinfo=UTC) + timedelta(days=i, minutes=7 * i),
                location=None if i == 6 else (10.0 + i * 0.75, 20.0 + i * 1.25),
                description="" if i == 5 else f"Takeout photo {i}: {source.stem}",
                favorited=i == 7,
                archived=i == 8,
            )
        )
    return photos


def _export(photos: list[Photo], edited: bytes, out: Path) -> list[Path]:
    """Two zip parts of a Takeout export of ``photos`` (and an edited copy of photo 3)."""
    part1, part2 = (
        out / "takeout-20261203T000000Z-001.zip",
        out / "takeout-20261203T000000Z-002.zip",
    )
    with zipfile.ZipFile(part1, "w") as one, zipfile.ZipFile(part2, "w") as two:
        for i, photo in enumerate(photos):
            media_part = one if i < 15 else two
            json_part = two if 10 <= i < 20 else media_part  # 10-19: media and JSON apart
            media_part.writestr(f"{YEAR}/{photo.file}", photo.data)
            json_part.writestr(f"{YEAR}/{photo.json}", photo.sidecar())
        one.writestr(f"{YEAR}/IMG_1003-edited.jpg", edited)  # shares IMG_1003.jpg's JSON
        for photo in photos[0:5]:  # album copies: the same bytes, a JSON of their own
            one.writestr(f"{LAKE}/{photo.file}", photo.data)
            one.writestr(f"{LAKE}/{photo.json}", photo.sidecar())
        one.writestr(
            f"{LAKE}/metadata.json",
            json.dumps({"title": "Lake trip 2019", "description": "", "access": "protected"}),
        )
        for photo in [photos[10], *photos[20:24]]:
            two.writestr(f"{PETS}/{photo.file}", photo.data)
            two.writestr(f"{PETS}/{photo.json}", photo.sidecar())
        one.writestr("Takeout/archive_browser.html", b"<html></html>")
        two.writestr("Takeout/Google Photos/print-subscriptions.json", b'{"subscriptions": []}')
    return [part1, part2]


@pytest.fixture(scope="module")
def takeout(
    samples: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Path], list[Photo]]:
    """The generated export's parts and its photos' truth."""
    photos = _photos(samples)
    source = sorted((samples / "search" / "photoprism_examples").glob("*.jpg"))[3]
    parts = _export(photos, _stripped(source, flip=True), tmp_path_factory.mktemp("takeout"))
    return parts, photos


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user who receives the export."""
    return make_user(stack, admin)


def _assets(user: User, **search: object) -> dict[str, dict]:
    """The user's assets (timeline and archive) with EXIF, by original file name."""
    body = {"size": 1000, "withExif": True, **search}
    r = user.client.post("/api/search/metadata", json=body)
    assert r.status_code == 200, r.text
    items = r.json()["assets"]["items"]
    names = [a["originalFileName"] for a in items]
    assert len(names) == len(set(names)), names
    return {a["originalFileName"]: a for a in items}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_takeout_import_keeps_dates_gps_descriptions_and_albums(
    stack: Stack, owner: User, takeout: tuple[list[Path], list[Photo]], tmp_path: Path
) -> None:
    parts, photos = takeout
    state = tmp_path / "state.jsonl"
    # a first run is interrupted (Ctrl-C) after 12 files; the command then resumes it
    interrupted = Summary()

    def stop_after_12(item: Item | None, total: int) -> None:
        if item is not None and interrupted.imported + interrupted.duplicates == 12:
            raise KeyboardInterrupt

    client = ImmichClient(stack.url, owner.api_key)
    with pytest.raises(KeyboardInterrupt):
        run(client, parts, State(state, stack.url), on_progress=stop_after_12, summary=interrupted)
    client.close()
    assert interrupted.imported + interrupted.duplicates == 12
    done = subprocess.run(
        [sys.executable, "-m", "darkroom_stack.cli", "import", "takeout", *map(str, parts),
         "--server", stack.url, "--key", owner.api_key, "--state", str(state)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    resumed = re.search(r"done by an earlier run\s*\W\s*(\d+)", done.stderr)
    assert resumed is not None and resumed[1] == "12", done.stderr

    found = _assets(owner)
    assert len(found) == PHOTOS + 1, sorted(found)  # the -edited copy is an asset of its own
    wait_processed(owner, [a["id"] for a in found.values()], timeout=300)
    found = _assets(owner)  # after metadata extraction: the JSON's values were kept
    for photo in [*photos, photos[3]]:
        asset = found[photo.file]
        exif = asset["exifInfo"]
        assert _instant(exif["dateTimeOriginal"]) == photo.taken, (photo.file, exif)
        if photo.location is None:
            assert exif["latitude"] is None, photo.file
        else:
            assert exif["latitude"] == pytest.approx(photo.location[0], abs=1e-5), photo.file
            assert exif["longitude"] == pytest.approx(photo.location[1], abs=1e-5), photo.file
        assert (exif["description"] or "") == photo.description, photo.file
        assert asset["isFavorite"] is photo.favorited, photo.file
        assert (asset["visibility"] == "archive") is photo.archived, photo.file
    edited = found["IMG_1003-edited.jpg"]["exifInfo"]
    assert _instant(edited["dateTimeOriginal"]) == photos[3].taken
    assert edited["description"] == photos[3].description
    assert found["IMG_1000(1).jpg"]["id"] != found["IMG_1000.jpg"]["id"]

    albums = {a["albumName"]: a for a in owner.client.get("/api/albums").json()}
    assert set(albums) == {"Lake trip 2019", "Cats and dogs"}
    for name, members in (
        ("Lake trip 2019", photos[0:5]),
        ("Cats and dogs", [photos[10], *photos[20:24]]),
    ):
        inside = _assets(owner, albumIds=[albums[name]["id"]])
        assert sorted(inside) == sorted(p.file for p in members), name

    # a second run (the same state file) imports nothing; a run without it finds every file
    # on the server by its checksum and imports nothing either, reusing both albums
    client = ImmichClient(stack.url, owner.api_key)  # (a new one: the first one is closed)
    try:
        again = run(client, parts, State(state, stack.url))
        assert (again.imported, again.resumed, again.failed) == (0, PHOTOS + 1 + 10, [])
        fresh = run(client, parts, State(tmp_path / "other-state.jsonl", stack.url))
        assert (fresh.imported, fresh.duplicates, fresh.failed) == (0, PHOTOS + 1 + 10, [])
    finally:
        client.close()
    assert len(_assets(owner)) == PHOTOS + 1
    after = owner.client.get("/api/albums").json()
    assert sorted((a["albumName"], a["assetCount"]) for a in after) == [
        ("Cats and dogs", 5),
        ("Lake trip 2019", 5),
    ]


def test_a_refused_key_fails_cleanly(
    stack: Stack, takeout: tuple[list[Path], list[Photo]], tmp_path: Path
) -> None:
    from darkroom_import.cli import EXIT_UNUSABLE, import_takeout

    parts, _ = takeout
    code = import_takeout(
        parts, server=stack.url, api_key="not-a-key", state_path=tmp_path / "s.jsonl"
    )
    assert code == EXIT_UNUSABLE
    assert (tmp_path / "s.jsonl").read_bytes() == b""  # nothing recorded
