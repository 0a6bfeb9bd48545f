"""The bucket JSON PostgreSQL builds (:func:`darkroom_db.timeline.time_bucket_json`) says what
the Python columns of :func:`bucket_columns` (over :func:`darkroom_db.timeline.time_bucket`:
each value as Immich's ``getTimeBucket`` SQL computes it) say, value for value, for every kind
of asset and every option of the route."""

from __future__ import annotations

import base64
import itertools
import json
import struct
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import asyncpg
import msgspec
import pytest
from darkroom_db import migrate, users
from darkroom_db.timeline import TimelineAsset, TimelineFilter, time_bucket, time_bucket_json
from darkroom_gateway.domain.timeline import TimeBucketAssets
from darkroom_stack.testing import fresh_database
from msgspec import UNSET

MONTH = date(2021, 6, 1)


def _ratio(asset: TimelineAsset) -> Decimal:
    """Width / height to 3 places, half away from zero (PostgreSQL's ``round(numeric, 3)``);
    the asset's size is its displayed one already, so the orientation plays no part."""
    if not asset.width or not asset.height:
        return Decimal(1)
    return (Decimal(asset.width) / Decimal(asset.height)).quantize(Decimal("0.001"), ROUND_HALF_UP)


def _timestamp(value: datetime) -> str:
    """A UTC time as PostgreSQL's JSON writes a ``timestamp``: no zone, the fraction trimmed."""
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text.rstrip("0").rstrip(".") if "." in text else text


def _offset_hours(asset: TimelineAsset) -> float:
    """The seconds between local and UTC time as a ``real``, divided by 3600 (a ``double``)."""
    seconds = (asset.local_date_time - asset.file_created_at).total_seconds()
    return struct.unpack("f", struct.pack("f", seconds))[0] / 3600


def bucket_columns(  # the reference: the columns as Immich's getTimeBucket SQL computes them
    rows: list[TimelineAsset],
    *,
    viewer: uuid.UUID,
    with_coordinates: bool,
    with_stacked: bool,
    hide_place: bool,
) -> TimeBucketAssets:
    """Turn a bucket's rows into the spec's columns; only the viewer's own favourite flags
    are shown, and a link without metadata (``hide_place``) gets no place columns."""
    return TimeBucketAssets(
        id=[str(r.id) for r in rows],
        owner_id=[str(r.owner_id) for r in rows],
        ratio=[float(_ratio(r)) for r in rows],
        is_favorite=[r.is_favorite and r.owner_id == viewer for r in rows],
        visibility=[r.visibility for r in rows],
        is_trashed=[r.status == "trashed" for r in rows],
        is_image=[r.type == "IMAGE" for r in rows],
        thumbhash=[base64.b64encode(r.thumbhash).decode() if r.thumbhash else None for r in rows],
        file_created_at=[_timestamp(r.file_created_at) for r in rows],
        created_at=[_timestamp(r.created_at) for r in rows],
        local_offset_hours=[_offset_hours(r) for r in rows],
        duration=[r.duration_ms for r in rows],
        projection_type=[r.projection_type for r in rows],
        live_photo_video_id=[
            str(r.live_photo_video_id) if r.live_photo_video_id else None for r in rows
        ],
        city=UNSET if hide_place else [r.city for r in rows],
        country=UNSET if hide_place else [r.country for r in rows],
        latitude=[r.latitude for r in rows] if with_coordinates and not hide_place else UNSET,
        longitude=[r.longitude for r in rows] if with_coordinates and not hide_place else UNSET,
        stack=[[str(r.stack_id), str(r.stack_count)] if r.stack_count else None for r in rows]
        if with_stacked
        else UNSET,
    )


@pytest.fixture(scope="module")
def db_url(postgres_server) -> str:
    url = fresh_database(postgres_server, "timeline_json")
    migrate(url)
    return url


async def _user(pool: asyncpg.Pool) -> uuid.UUID:
    user = await users.create_user(
        pool, email=f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
    )
    return user.id


async def _asset(pool: asyncpg.Pool, owner: uuid.UUID, k: int, **columns: object) -> uuid.UUID:
    """One asset of June 2021 (the k-th: times differ), then ``columns`` set on it."""
    asset_id = uuid.uuid4()
    taken = datetime(2021, 6, 1 + k, 10, 0, 0, (k % 3) * 123457, tzinfo=UTC)
    await pool.execute(
        "INSERT INTO assets (id, owner_id, device_asset_id, device_id, type, original_path, "
        "original_file_name, original_mime_type, checksum, file_size, file_created_at, "
        "file_modified_at, local_date_time, created_at) VALUES ($1, $2, 'd', 'dev', 'IMAGE', "
        "'upload/x.jpg', 'x.jpg', 'image/jpeg', sha256(convert_to($1::uuid::text, 'UTF8')), "
        "1, $3, $3, $4, $5)",
        asset_id,
        owner,
        taken,
        taken + timedelta(hours=k - 5, minutes=30 * (k % 2)),
        datetime(2022, 1, 1, 0, 0, k, (k % 2) * 500000, tzinfo=UTC),
    )
    for column, value in columns.items():
        await pool.execute(f"UPDATE assets SET {column} = $2 WHERE id = $1", asset_id, value)
    return asset_id


async def _exif(pool: asyncpg.Pool, asset_id: uuid.UUID, owner: uuid.UUID, **columns: object):
    names = ", ".join(columns)
    values = ", ".join(f"${i + 3}" for i in range(len(columns)))
    await pool.execute(
        f"INSERT INTO asset_exif (asset_id, owner_id, {names}) VALUES ($1, $2, {values})",
        asset_id,
        owner,
        *columns.values(),
    )


async def _library(pool: asyncpg.Pool) -> tuple[uuid.UUID, uuid.UUID]:
    owner, partner = await _user(pool), await _user(pool)
    plain = await _asset(pool, owner, 0, width=4000, height=3000, thumbhash=b"\x01\x02\x03" * 8)
    turned = await _asset(pool, owner, 1, width=4000, height=3000, is_favorite=True)
    await _exif(
        pool,
        turned,
        owner,
        orientation="6",
        city="Lyon",
        country="France",
        latitude=45.76,
        longitude=4.84,
        projection_type="EQUIRECTANGULAR",
    )
    await _asset(pool, owner, 2)  # no size: ratio 1
    video = await _asset(pool, owner, 3, type="VIDEO", duration_ms=12_345, width=1920, height=1080)
    await _asset(pool, owner, 4, live_photo_video_id=video, width=3, height=7)
    await _asset(pool, owner, 5, visibility="archive")
    await _asset(pool, owner, 6, status="trashed", deleted_at=datetime.now(UTC))
    first, second = await _asset(pool, owner, 7), await _asset(pool, owner, 8)
    archived = await _asset(pool, owner, 10, visibility="archive")  # not counted in its stack
    stack = uuid.uuid4()
    await pool.execute(
        "INSERT INTO stacks (id, owner_id, primary_asset_id) VALUES ($1, $2, $3)",
        stack,
        owner,
        first,
    )
    await pool.execute(
        "UPDATE assets SET stack_id = $1 WHERE id = ANY($2::uuid[])",
        stack,
        [first, second, archived],
    )
    shared = await _asset(pool, partner, 9, is_favorite=True, width=10, height=10)
    await _exif(
        pool, shared, partner, city="Sevilla", country="Spain", latitude=37.4, longitude=-6.0
    )
    assert plain
    return owner, partner


async def test_sql_json_matches_the_python_columns(pool: asyncpg.Pool) -> None:
    owner, partner = await _library(pool)
    checked = 0
    for trashed, vis, stacked, order, order_by, partners, coords, hide in itertools.product(
        (None, True),
        (None, "archive"),
        (False, True),
        ("asc", "desc"),
        ("takenAt", "createdAt"),
        ((), (partner,)),
        (False, True),
        (False, True),
    ):
        f = TimelineFilter(
            viewer_id=owner,
            is_trashed=trashed,
            visibility=vis,
            with_stacked=stacked,
            order=order,
            order_by=order_by,
            partner_ids=partners,
        )
        month = MONTH if order_by == "takenAt" else date(2022, 1, 1)
        rows = await time_bucket(pool, f, month)
        if stacked and vis is None and not trashed:  # the archived member is not counted
            assert [r.stack_count for r in rows if r.stack_id is not None] == [2]
        columns = bucket_columns(
            rows, viewer=owner, with_coordinates=coords, with_stacked=stacked, hide_place=hide
        )
        expected = json.loads(msgspec.json.encode(columns))
        raw = await time_bucket_json(pool, f, month, with_coordinates=coords, hide_place=hide)
        got = json.loads(raw)
        assert got == expected, (f, got, expected)
        # byte-level: the times are written exactly as PostgreSQL writes a timestamp
        assert [t for t in got["fileCreatedAt"]] == expected["fileCreatedAt"]
        checked += len(rows)
    assert checked > 100  # the combinations did return assets
