from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from darkroom_db import assets, create_pool, exif, jobs, migrate, pending, users
from darkroom_stack.testing import fresh_database


@pytest.fixture(scope="module")
def db_url(postgres_server) -> str:
    url = fresh_database(postgres_server, "repo")
    from pathlib import Path

    from darkroom_db.migrate import migrations_dir

    every = sorted(
        p.stem for p in Path(migrations_dir()).glob("*.sql") if not p.stem.endswith(".rollback")
    )
    assert every[0] == "0001_initial"
    assert migrate(url) == every  # all, in number order
    return url


@pytest.fixture
async def pool(db_url):
    p = await create_pool(db_url)
    yield p
    await p.close()


def test_migrate_is_idempotent(db_url) -> None:
    assert migrate(db_url) == []
    assert pending(db_url) == []


async def _user(pool, email: str | None = None) -> users.User:
    return await users.create_user(
        pool, email=email or f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
    )


def _new(owner: uuid.UUID, data: bytes) -> assets.NewAsset:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    return assets.NewAsset(
        id=uuid.uuid4(),
        owner_id=owner,
        device_asset_id="d1",
        device_id="dev",
        type="IMAGE",
        original_path="upload/x.jpg",
        original_file_name="x.jpg",
        original_mime_type="image/jpeg",
        checksum=hashlib.sha1(data).digest(),
        file_size=len(data),
        file_created_at=now,
        file_modified_at=now,
    )


async def test_first_admin_only_once_even_when_racing(postgres_server) -> None:
    url = fresh_database(postgres_server, "admin")
    migrate(url)
    pool = await create_pool(url, max_size=4)
    try:
        results = await asyncio.gather(
            *[
                users.create_first_admin(pool, email=f"a{i}@x.test", name="A", password_hash="h")
                for i in range(4)
            ],
            return_exceptions=True,
        )
        created = [r for r in results if isinstance(r, users.User)]
        assert len(created) == 1 and created[0].is_admin
        assert all(isinstance(r, users.AlreadyInitialised) for r in results if r not in created)
    finally:
        await pool.close()


async def test_email_unique_case_insensitive(pool) -> None:
    await _user(pool, "Same@x.test")
    with pytest.raises(asyncpg.UniqueViolationError):
        await _user(pool, "same@X.test")


async def test_api_key_and_session_auth_by_hash(pool) -> None:
    u = await _user(pool)
    await users.create_api_key(
        pool, owner_id=u.id, name="k", key_hash="kh-" + u.email, permissions=["all"]
    )
    found = await users.authenticate_api_key(pool, "kh-" + u.email)
    assert found is not None and found[0].id == u.id and found[1].permissions == ["all"]
    assert await users.authenticate_api_key(pool, "nope") is None
    s = await users.create_session(pool, owner_id=u.id, token_hash="th-" + u.email)
    got = await users.authenticate_session(pool, "th-" + u.email)
    assert got is not None and got[1].id == s.id
    assert await users.delete_session(pool, owner_id=u.id, session_id=s.id)
    assert await users.authenticate_session(pool, "th-" + u.email) is None


async def test_insert_asset_dedupes_per_owner(pool) -> None:
    a, b = await _user(pool), await _user(pool)
    first = await assets.insert_asset(pool, _new(a.id, b"photo"))
    assert first is not None
    assert await assets.insert_asset(pool, _new(a.id, b"photo")) is None  # duplicate for a
    assert await assets.insert_asset(pool, _new(b.id, b"photo")) is not None  # b may own it too
    assert await assets.find_by_checksum(pool, a.id, hashlib.sha1(b"photo").digest()) == (
        first.id,
        False,
    )
    found = await assets.find_by_checksums(
        pool, a.id, [hashlib.sha1(b"photo").digest(), hashlib.sha1(b"other").digest()]
    )
    assert list(found.values()) == [(first.id, False)]
    # owner filtering: b cannot read a's asset
    assert await assets.get_asset(pool, a.id, first.id) is not None
    assert await assets.get_asset(pool, b.id, first.id) is None
    status = await assets.get_job_status(pool, first.id)
    assert status is not None and status.metadata_extracted_at is None


async def test_files_exif_and_steps_are_idempotent_upserts(pool) -> None:
    u = await _user(pool)
    a = await assets.insert_asset(pool, _new(u.id, b"files"))
    assert a is not None
    for size in (100, 200):
        await assets.upsert_file(
            pool,
            asset_id=a.id,
            owner_id=u.id,
            type="preview",
            path="thumbs/p.jpeg",
            mime_type="image/jpeg",
            width=1440,
            height=1080,
            size=size,
        )
    f = await assets.get_file(pool, u.id, a.id, "preview")
    assert f is not None and f.size == 200
    other = await _user(pool)
    assert await assets.get_file(pool, other.id, a.id, "preview") is None
    # several types in one query: only those asked that exist, and only for the owner
    found = await assets.get_files(pool, u.id, a.id, ["edited_preview", "preview", "thumbnail"])
    assert list(found) == ["preview"] and found["preview"].size == 200
    assert await assets.get_files(pool, other.id, a.id, ["preview"]) == {}
    for city in ("Paris", "Lyon"):
        await exif.upsert_exif(pool, a.id, u.id, exif.Exif(make="Canon", city=city, latitude=1.5))
    e = await exif.get_exif(pool, u.id, a.id)
    assert e is not None and (e.make, e.city, e.latitude) == ("Canon", "Lyon", 1.5)
    await assets.mark_step_done(pool, a.id, "thumbnail")
    await assets.mark_step_done(pool, a.id, "thumbnail")
    st = await assets.get_job_status(pool, a.id)
    assert st is not None and st.thumbnail_at is not None
    with pytest.raises(ValueError):
        await assets.mark_step_done(pool, a.id, "nonsense")  # type: ignore[arg-type]


async def test_dead_letter_marks_asset_failed(pool) -> None:
    u = await _user(pool)
    a = await assets.insert_asset(pool, _new(u.id, b"bad"))
    assert a is not None
    fid = await jobs.record_failure(
        pool,
        subject="darkroom.asset.created",
        durable="metadata",
        stream_seq=7,
        deliveries=1,
        error="corrupt JPEG",
        permanent=True,
        payload=b"{}",
        asset_id=a.id,
    )
    st = await assets.get_job_status(pool, a.id)
    assert st is not None and (st.failed_step, st.failed_reason) == ("metadata", "corrupt JPEG")
    failures = await jobs.list_failures(pool)
    assert any(f.id == fid and f.owner_id == u.id for f in failures)
    # another step's success keeps the failure; a later success of the same step clears it
    await assets.mark_step_done(pool, a.id, "thumbnail")
    st = await assets.get_job_status(pool, a.id)
    assert st is not None and st.failed_step == "metadata"
    await assets.mark_step_done(pool, a.id, "metadata_extracted")
    st = await assets.get_job_status(pool, a.id)
    assert st is not None and st.failed_step is None and st.failed_reason is None
    gone = await jobs.record_failure(
        pool,
        subject="s",
        durable="d",
        stream_seq=None,
        deliveries=5,
        error="e",
        permanent=False,
        payload=b"",
        asset_id=uuid.uuid4(),
    )
    assert gone > fid


async def test_store_files_done_is_one_atomic_idempotent_write(pool) -> None:
    u = await _user(pool)
    a = await assets.insert_asset(pool, _new(u.id, b"renditions"))
    assert a is not None
    await jobs.record_failure(
        pool,
        subject="darkroom.asset.metadata.extracted",
        durable="thumbnail",
        stream_seq=3,
        deliveries=5,
        error="timeout",
        permanent=False,
        payload=b"{}",
        asset_id=a.id,
    )
    for size in (100, 200):  # a redelivery overwrites
        await assets.store_files_done(
            pool,
            asset_id=a.id,
            owner_id=u.id,
            files=[
                assets.NewFile(type="preview", path="p.jpeg", mime_type="image/jpeg", size=size),
                assets.NewFile(
                    type="thumbnail", path="t.webp", mime_type="image/webp", width=250, height=188
                ),
            ],
            thumbhash=b"\x01\x02",
            step="thumbnail",
        )
    preview = await assets.get_file(pool, u.id, a.id, "preview")
    thumb = await assets.get_file(pool, u.id, a.id, "thumbnail")
    assert preview is not None and (preview.path, preview.size) == ("p.jpeg", 200)
    assert thumb is not None and (thumb.mime_type, thumb.width, thumb.height) == (
        "image/webp",
        250,
        188,
    )
    row = await assets.get_asset_for_worker(pool, a.id)
    assert row is not None and row.thumbhash == b"\x01\x02"
    st = await assets.get_job_status(pool, a.id)
    assert st is not None and st.thumbnail_at is not None and st.failed_step is None
    # no thumbhash given: the stored one stays
    await assets.store_files_done(pool, asset_id=a.id, owner_id=u.id, files=[], step="thumbnail")
    row = await assets.get_asset_for_worker(pool, a.id)
    assert row is not None and row.thumbhash == b"\x01\x02"
    with pytest.raises(ValueError):
        await assets.store_files_done(
            pool,
            asset_id=a.id,
            owner_id=u.id,
            files=[],
            step="nonsense",  # type: ignore[arg-type]
        )
    # all or nothing: a file of an asset that does not exist fails the whole statement
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await assets.store_files_done(
            pool,
            asset_id=uuid.uuid4(),
            owner_id=u.id,
            files=[assets.NewFile(type="preview", path="x", mime_type="image/jpeg")],
            thumbhash=b"\x03",
            step="thumbnail",
        )


async def test_face_dimension_follows_the_model(pool) -> None:
    from darkroom_db import people

    assert await people.face_dimension(pool) == 128
    assert await people.ensure_face_dimension(pool, 128) is False  # dlib: nothing to do
    assert await people.ensure_face_dimension(pool, 512) is True  # InsightFace ArcFace
    assert await people.face_dimension(pool) == 512
    assert await people.ensure_face_dimension(pool, 512) is False
    with pytest.raises(ValueError):
        await people.ensure_face_dimension(pool, 4096)
    assert await people.ensure_face_dimension(pool, 128) is True
