"""Re-runs respect the user (issue #15 item 6), over HTTP against the running embedded stack.

What this proves: a capture time, description, location and rating an owner edited through
``PUT /api/assets/{id}`` or the bulk ``PUT /api/assets`` survive a metadata re-run of the same
asset (its ``darkroom.asset.created`` published again, as a redelivery or a "refresh metadata"
does); the asset stays in the timeline month of the edited date; and an edited location is
reverse-geocoded again (a photo moved from Tuscany to Paris is in Paris, France).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from darkroom_bus import Bus
from darkroom_events import AssetCreated
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, make_user, upload, wait_processed

#: A ceiling only: every wait polls for progress (a busy 2-core machine is slow).
PROCESSING_S = 180.0
#: The shared samples' geotagged JPEGs (Tuscany, Italy), with EXIF capture times.
GPS_SAMPLES = ("DSCN0010.jpg", "DSCN0042.jpg")
PARIS = (48.8566, 2.3522)
EDITED_DATE = "2001-02-03T04:05:06.000Z"


def _poll(check: Any, timeout: float = PROCESSING_S) -> Any:
    """Call ``check()`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def _asset(user: User, asset_id: str) -> dict[str, Any]:
    r = user.client.get(f"/api/assets/{asset_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _rerun_metadata(stack: Stack, asset_ids: list[str]) -> None:
    """Publish each asset's ``asset.created`` again (fresh message ids, past the duplicate
    window, as a redelivery) and wait until the metadata consumer has settled them."""
    conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
    try:
        rows = await conn.fetch(
            "SELECT id, owner_id, type, original_path, original_file_name, checksum, "
            "file_size, file_created_at, file_modified_at, original_mime_type FROM assets "
            "WHERE id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in asset_ids],
        )
    finally:
        await conn.close()
    assert len(rows) == len(asset_ids)
    bus = await Bus.connect(stack.env()["DARKROOM_NATS_URL"], name="pytest")
    try:
        last = 0
        for row in rows:
            event = AssetCreated(
                asset_id=str(row["id"]),
                owner_id=str(row["owner_id"]),
                type=row["type"],
                original_key=row["original_path"],
                original_file_name=row["original_file_name"],
                mime_type=row["original_mime_type"],
                checksum=bytes(row["checksum"]).hex(),
                file_size=row["file_size"],
                file_created_at=row["file_created_at"],
                file_modified_at=row["file_modified_at"],
            )
            ack = await bus.publish(event, msg_id=f"test-rerun:{uuid.uuid4()}")
            last = max(last, ack.seq)
        deadline = time.monotonic() + PROCESSING_S
        while time.monotonic() < deadline:
            info = await bus.js.consumer_info(bus.stream_name, "metadata_darkroom_asset_created")
            if info.ack_floor.stream_seq >= last:
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"the metadata service did not settle message {last}")
    finally:
        await bus.close()


@pytest.fixture(scope="module")
def geotagged(stack: Stack, admin: User) -> tuple[User, list[str]]:
    """A fresh user with the two geotagged samples, processed and named (Italy)."""
    samples = samples_dir()
    if samples is None:
        pytest.skip("sample media absent (/work/shared/samples or DARKROOM_SAMPLES)")
    user = make_user(stack, admin)
    folder = samples / "photos" / "ianare_exif-samples" / "jpg" / "gps"
    ids = []
    for name in GPS_SAMPLES:
        r = upload(user, folder / name)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    wait_processed(user, ids)
    for asset_id in ids:
        exif = _poll(lambda a=asset_id: _asset(user, a)["exifInfo"].get("country"))
        assert exif == "Italy"
    return user, ids


def _same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a.replace("Z", "+00:00")) == datetime.fromisoformat(
        b.replace("Z", "+00:00")
    )


def test_an_edited_location_is_reverse_geocoded(geotagged: tuple[User, list[str]]) -> None:
    user, (asset_id, _) = geotagged
    r = user.client.put(
        f"/api/assets/{asset_id}", json={"latitude": PARIS[0], "longitude": PARIS[1]}
    )
    assert r.status_code == 200, r.text
    exif = _poll(lambda: (e := _asset(user, asset_id)["exifInfo"]).get("city") == "Paris" and e)
    assert exif, _asset(user, asset_id)["exifInfo"]
    assert exif["country"] == "France" and exif["state"]
    assert exif["latitude"] == pytest.approx(PARIS[0]) and exif["longitude"] == pytest.approx(
        PARIS[1]
    )


def test_edits_survive_a_metadata_rerun(stack: Stack, geotagged: tuple[User, list[str]]) -> None:
    user, (single, bulk) = geotagged
    original = _asset(user, single)
    assert not _same_instant(original["exifInfo"]["dateTimeOriginal"], EDITED_DATE)
    r = user.client.put(
        f"/api/assets/{single}",
        json={
            "dateTimeOriginal": EDITED_DATE,
            "description": "our first trip",
            "latitude": PARIS[0],
            "longitude": PARIS[1],
            "rating": 4,
        },
    )
    assert r.status_code == 200, r.text
    r = user.client.put(
        "/api/assets", json={"ids": [bulk], "description": "bulk caption", "rating": 2}
    )
    assert r.status_code == 204, r.text
    bulk_before = _asset(user, bulk)

    asyncio.run(_rerun_metadata(stack, [single, bulk]))

    edited = _asset(user, single)
    exif = edited["exifInfo"]
    assert _same_instant(exif["dateTimeOriginal"], EDITED_DATE), exif
    assert exif["description"] == "our first trip" and exif["rating"] == 4
    assert exif["latitude"] == pytest.approx(PARIS[0])
    assert exif["longitude"] == pytest.approx(PARIS[1])
    assert edited["localDateTime"].startswith("2001-02-03")
    assert _same_instant(edited["fileCreatedAt"], EDITED_DATE)
    # the place is the edited location's (named by the re-run's geocoding or the edit's)
    exif = _poll(lambda: (e := _asset(user, single)["exifInfo"]).get("city") == "Paris" and e)
    assert exif and exif["country"] == "France", _asset(user, single)["exifInfo"]
    after = _asset(user, bulk)["exifInfo"]
    assert after["description"] == "bulk caption" and after["rating"] == 2
    # what was not edited is extraction's to write: the file's own capture time and place
    assert after["dateTimeOriginal"] == bulk_before["exifInfo"]["dateTimeOriginal"]
    assert after["country"] == "Italy"
