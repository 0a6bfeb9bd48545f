"""The VALUES of a timeline bucket (``GET /api/timeline/bucket``, TimeBucketAssetResponseDto),
checked against what Immich 3.1 answers. Immich builds the bucket's JSON in SQL
(``asset.repository.ts`` ``getTimeBucket``, ``to_json`` over ``array_agg`` columns) and
``timeline.service.ts`` ``getTimeBucket`` returns that text as is:

* ``ratio`` is ``round(width / height, 3)`` of the asset's width and height, which are the
  displayed size (after the EXIF orientation; metadata extraction swaps them for orientations
  5-8): a photo stored 96x64 with orientation 6 is 0.667, a 64x48 photo 1.333.
* ``isFavorite`` is ``isFavorite AND ownerId = <the caller>``: an album member never sees the
  owner's favourite flag, nor the owner the member's (not only a partner's).
* ``fileCreatedAt`` / ``createdAt`` are ``<timestamptz> AT TIME ZONE 'UTC'`` (a ``timestamp``),
  which PostgreSQL's JSON writes as ``2011-03-04T05:06:07.5``: no zone suffix, fractional
  seconds only as far as they go.
* ``localOffsetHours`` is ``extract(epoch FROM localDateTime - fileCreatedAt)::real / 3600``,
  not rounded to two places (+05:20 is 5.333..., not 5.33).
* Order: capture day (``localDateTime::date``), then ``fileCreatedAt`` (the instant), in the
  requested direction; the web app shows a month as the server orders it (``addAssets(...,
  preSorted=true)``), so two photos of one day taken in different time zones follow their
  instants, not their wall-clock times.
* ``stack`` (``withStacked``) is ``[stackId, count]`` where count is the stack's members that
  are not trashed and in the timeline (``stacked.visibility = 'timeline'``): an archived
  member is not counted, and with none such the column is null.
* Through a shared link without metadata (``showExif`` false) ``city`` and ``country`` are left
  out of the answer (Immich selects them only ``if (!auth.sharedLink ||
  auth.sharedLink.showExif)``; its test "should strip geodata metadata if shared link without
  exif").
* ``timeBucket`` with a five-digit year (``+012345-01-01T00:00:00.000Z``, as ``toISOString``
  writes it, or ``012345-01-01``) is an empty bucket, not an error (Immich strips the sign:
  ``timeBucket.replace(/^[+-]/, '')``; its test "should handle 5 digit years"), and so is the
  last month Python can write (``9999-12-01``), where a server error was answered.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed

#: Immich's JSON form of a ``timestamp`` (PostgreSQL: ISO 8601, no zone, trimmed fraction).
PG_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?")


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def bucket(user: User | httpx.Client, month: str, **params: object) -> dict[str, Any]:
    client = user.client if isinstance(user, User) else user
    return ok(client.get("/api/timeline/bucket", params={"timeBucket": month, **params}))


def column(body: dict[str, Any], name: str, asset_id: str) -> Any:
    return body[name][body["id"].index(asset_id)]


def rotated_jpeg(seed: int) -> bytes:
    """A 96x64 JPEG whose EXIF orientation is 6 (shown turned: 64 wide, 96 high)."""
    pixels = np.random.default_rng(seed).integers(0, 255, size=(64, 96, 3), dtype=np.uint8)
    image = pyvips.Image.new_from_array(pixels, interpretation="srgb").copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    return bytes(image.jpegsave_buffer(Q=80))


def set_times(stack: Stack, asset_id: str, file_created_at: datetime, local: datetime) -> None:
    """Give an (already processed) asset these capture times, straight in the database."""
    db_rows(
        stack,
        "UPDATE assets SET file_created_at = $2, local_date_time = $3 WHERE id = $1",
        uuid.UUID(asset_id),
        file_created_at,
        local,
    )


@pytest.fixture(scope="module")
def pair(stack: Stack, admin: User) -> tuple[User, User, User]:
    """An owner, an album member and a stranger: fresh for this module."""
    return make_user(stack, admin), make_user(stack, admin), make_user(stack, admin)


def test_ratio_is_the_displayed_shape_to_three_places(pair: tuple[User, User, User]) -> None:
    owner = pair[0]
    turned = upload_jpeg(owner, rotated_jpeg(7301), "2001-02-03T10:00:00.000Z")
    plain = upload_jpeg(owner, noise_jpeg(7302), "2001-02-04T10:00:00.000Z")  # 64x48
    wait_processed(owner, [turned, plain])
    info = ok(owner.client.get(f"/api/assets/{turned}"))
    assert (info["width"], info["height"]) == (64, 96), info  # displayed size, as Immich
    body = bucket(owner, "2001-02-01")
    assert column(body, "ratio", turned) == 0.667
    assert column(body, "ratio", plain) == 1.333


def test_favourite_flag_is_the_callers_own_only(pair: tuple[User, User, User]) -> None:
    owner, member, stranger = pair
    mine = upload_jpeg(owner, noise_jpeg(7311), "2002-03-04T10:00:00.000Z")
    theirs = upload_jpeg(member, noise_jpeg(7312), "2002-03-05T10:00:00.000Z")
    wait_processed(owner, [mine])
    wait_processed(member, [theirs])
    ok(owner.client.put(f"/api/assets/{mine}", json={"isFavorite": True}))
    ok(member.client.put(f"/api/assets/{theirs}", json={"isFavorite": True}))
    album = ok(
        owner.client.post(
            "/api/albums",
            json={
                "albumName": "Favourites",
                "assetIds": [mine],
                "albumUsers": [{"userId": member.id, "role": "editor"}],
            },
        ),
        201,
    )["id"]
    added = ok(member.client.put(f"/api/albums/{album}/assets", json={"ids": [theirs]}))
    assert all(item["success"] for item in added), added
    as_owner = bucket(owner, "2002-03-01", albumId=album)
    as_member = bucket(member, "2002-03-01", albumId=album)
    assert set(as_owner["id"]) == set(as_member["id"]) == {mine, theirs}
    assert column(as_owner, "isFavorite", mine) is True
    assert column(as_owner, "isFavorite", theirs) is False
    assert column(as_member, "isFavorite", mine) is False
    assert column(as_member, "isFavorite", theirs) is True
    # the album id is the caller's to read: a stranger is refused as Immich refuses (400)
    r = stranger.client.get(
        "/api/timeline/bucket", params={"timeBucket": "2002-03-01", "albumId": album}
    )
    assert r.status_code == 400, r.text


def test_times_are_utc_timestamps_and_the_offset_is_not_rounded(
    stack: Stack, pair: tuple[User, User, User]
) -> None:
    owner = pair[0]
    asset = upload_jpeg(owner, noise_jpeg(7321), "2011-03-04T05:06:07.000Z")
    wait_processed(owner, [asset])
    taken = datetime(2011, 3, 4, 5, 6, 7, 500000, tzinfo=UTC)
    set_times(stack, asset, taken, datetime(2011, 3, 4, 10, 26, 7, 500000, tzinfo=UTC))  # +05:20
    body = bucket(owner, "2011-03-01")
    assert column(body, "fileCreatedAt", asset) == "2011-03-04T05:06:07.5"
    created = column(body, "createdAt", asset)
    assert PG_TIMESTAMP.fullmatch(created), created
    offset = column(body, "localOffsetHours", asset)
    assert abs(offset - 16 / 3) < 1e-6, offset


def test_a_day_is_ordered_by_instant_days_by_capture_day(
    stack: Stack, pair: tuple[User, User, User]
) -> None:
    owner = pair[0]
    east, west, later = (
        upload_jpeg(owner, noise_jpeg(seed), "2012-07-08T00:00:00.000Z")
        for seed in (7331, 7332, 7333)
    )
    wait_processed(owner, [east, west, later])
    # east: 09:00 at +09:00 (00:00 UTC); west: 08:00 at +00:00 (08:00 UTC), the later instant;
    # later: the next day at 01:00, -12:00 (13:00 UTC)
    set_times(stack, east, datetime(2012, 7, 8, 0, tzinfo=UTC), datetime(2012, 7, 8, 9, tzinfo=UTC))
    set_times(stack, west, datetime(2012, 7, 8, 8, tzinfo=UTC), datetime(2012, 7, 8, 8, tzinfo=UTC))
    set_times(
        stack, later, datetime(2012, 7, 9, 13, tzinfo=UTC), datetime(2012, 7, 9, 1, tzinfo=UTC)
    )
    assert bucket(owner, "2012-07-01")["id"] == [later, west, east]
    assert bucket(owner, "2012-07-01", order="asc")["id"] == [east, west, later]


def test_stack_counts_its_timeline_members(pair: tuple[User, User, User]) -> None:
    owner = pair[0]
    first, second, third = (
        upload_jpeg(owner, noise_jpeg(seed), "2013-09-10T10:00:00.000Z")
        for seed in (7341, 7342, 7343)
    )
    wait_processed(owner, [first, second, third])
    stack_id = ok(owner.client.post("/api/stacks", json={"assetIds": [first, second, third]}), 201)[
        "id"
    ]
    ok(owner.client.put(f"/api/assets/{third}", json={"visibility": "archive"}))
    body = bucket(owner, "2013-09-01", withStacked="true")
    assert column(body, "stack", first) == [stack_id, "2"]
    for member in (first, second):
        ok(owner.client.put(f"/api/assets/{member}", json={"visibility": "archive"}))
    archived = bucket(owner, "2013-09-01", withStacked="true", visibility="archive")
    assert archived["id"] == [first] and archived["stack"] == [None]


def test_a_link_without_metadata_leaves_city_and_country_out(
    stack: Stack, pair: tuple[User, User, User]
) -> None:
    owner = pair[0]
    asset = upload_jpeg(owner, noise_jpeg(7351), "2014-11-12T10:00:00.000Z")
    wait_processed(owner, [asset])
    album = ok(owner.client.post("/api/albums", json={"albumName": "L", "assetIds": [asset]}), 201)
    hidden = ok(
        owner.client.post(
            "/api/shared-links",
            json={"type": "ALBUM", "albumId": album["id"], "showMetadata": False},
        ),
        201,
    )
    shown = ok(
        owner.client.post("/api/shared-links", json={"type": "ALBUM", "albumId": album["id"]}),
        201,
    )
    with httpx.Client(base_url=stack.url, timeout=60) as anon:
        plain = bucket(anon, "2014-11-01", albumId=album["id"], key=shown["key"])
        assert plain["city"] == [None] and plain["country"] == [None]
        body = bucket(anon, "2014-11-01", albumId=album["id"], key=hidden["key"])
    assert body["id"] == [asset]
    assert "city" not in body and "country" not in body


def test_a_five_digit_year_or_the_last_month_is_an_empty_bucket(
    pair: tuple[User, User, User],
) -> None:
    owner = pair[0]
    for month in ("+012345-01-01T00:00:00.000Z", "012345-01-01", "9999-12-01"):
        body = bucket(owner, month, withStacked="true")
        assert body["id"] == [] and body["ratio"] == [] and body["stack"] == [], body
        assert body["city"] == [] and body["fileCreatedAt"] == []
