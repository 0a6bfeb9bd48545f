"""The bucket JSON PostgreSQL builds (:func:`darkroom_db.timeline.time_bucket_json`) says what
the Python columns of :func:`bucket_columns` (over :func:`darkroom_db.timeline.time_bucket`;
what the gateway built before) say, value for value, for every kind of asset and every option
of the route."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import msgspec
import pytest
from darkroom_db import migrate, users
from darkroom_db.timeline import TimelineAsset, TimelineFilter, time_bucket, time_bucket_json
from darkroom_gateway.domain.timeline import TimeBucketAssets
from darkroom_stack.testing import fresh_database
from msgspec import UNSET

MONTH = date(2021, 6, 1)


#: EXIF orientations that swap width and height.
ROTATED_ORIENTATIONS = frozenset({"5", "6", "7", "8"})


def _ratio(asset: TimelineAsset) -> float:
    if not asset.width or not asset.height:
        return 1.0
    if asset.orientation in ROTATED_ORIENTATIONS:
        return asset.height / asset.width
    return asset.width / asset.height


def bucket_columns(  # the reference: what the gateway built in Python before
    rows: list[TimelineAsset],
    *,
    with_coordinates: bool,
    with_stacked: bool,
    partner_ids: tuple[uuid.UUID, ...] = (),
) -> TimeBucketAssets:
    """Turn a bucket's rows into the spec's columns; a partner's favourite flags are never
    shown (``isFavorite`` false for assets of ``partner_ids``, as Immich's partner sharing)."""
    hidden = set(partner_ids)
    return TimeBucketAssets(
        id=[str(r.id) for r in rows],
        owner_id=[str(r.owner_id) for r in rows],
        ratio=[round(_ratio(r), 4) for r in rows],
        is_favorite=[r.is_favorite and r.owner_id not in hidden for r in rows],
        visibility=[r.visibility for r in rows],
        is_trashed=[r.status == "trashed" for r in rows],
        is_image=[r.type == "IMAGE" for r in rows],
        thumbhash=[base64.b64encode(r.thumbhash).decode() if r.thumbhash else None for r in rows],
        file_created_at=[r.file_created_at for r in rows],
        created_at=[r.created_at for r in rows],
        local_offset_hours=[
            round((r.local_date_time - r.file_created_at).total_seconds() / 3600, 2) for r in rows
        ],
        duration=[r.duration_ms for r in rows],
        projection_type=[r.projection_type for r in rows],
        live_photo_video_id=[
            str(r.live_photo_video_id) if r.live_photo_video_id else None for r in rows
        ],
        city=[r.city for r in rows],
        country=[r.country for r in rows],
        latitude=[r.latitude for r in rows] if with_coordinates else UNSET,
        longitude=[r.longitude for r in rows] if with_coordinates else UNSET,
        stack=[
            [str(r.stack_id), str(r.stack_count)] if r.stack_id is not None else None for r in rows
        ]
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
    stack = uuid.uuid4()
    await pool.execute(
        "INSERT INTO stacks (id, owner_id, primary_asset_id) VALUES ($1, $2, $3)",
        stack,
        owner,
        first,
    )
    await pool.execute(
        "UPDATE assets SET stack_id = $1 WHERE id = ANY($2::uuid[])", stack, [first, second]
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
        columns = bucket_columns(
            rows, with_coordinates=coords and not hide, with_stacked=stacked, partner_ids=partners
        )
        if hide:
            nothing = [None for _ in rows]
            columns = msgspec.structs.replace(columns, city=nothing, country=nothing)
        expected = json.loads(msgspec.json.encode(columns))
        raw = await time_bucket_json(pool, f, month, with_coordinates=coords, hide_place=hide)
        got = json.loads(raw)
        assert got == expected, (f, got, expected)
        # byte-level: the times are written exactly as msgspec writes them
        assert [t for t in got["fileCreatedAt"]] == expected["fileCreatedAt"]
        checked += len(rows)
    assert checked > 100  # the combinations did return assets
