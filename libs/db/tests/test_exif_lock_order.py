"""Metadata extraction and an owner's edit of the same asset, at the same moment, both commit:
they lock the asset's row before its EXIF row (a Takeout import edits each asset right after its
upload, while the metadata service is extracting it; the other order deadlocked)."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from darkroom_db import assets, create_pool, exif, migrate, users
from darkroom_stack.testing import fresh_database


async def _blocked_or_done(pool: asyncpg.Pool, pid: int, task: asyncio.Task[None]) -> None:
    """Wait (progress, 60 s ceiling) until the connection ``pid`` waits for a lock or ``task``
    is over."""
    deadline = time.monotonic() + 60
    while not task.done() and time.monotonic() < deadline:
        waiting = await pool.fetchval(
            "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
        )
        if waiting == "Lock":
            return
        await asyncio.sleep(0.02)


async def test_extraction_and_an_edit_of_the_same_asset_do_not_deadlock(postgres_server) -> None:
    url = fresh_database(postgres_server, "lockorder")
    migrate(url)
    pool = await create_pool(url, max_size=4)
    try:
        owner = await users.create_user(
            pool, email=f"{uuid.uuid4().hex}@x.test", name="U", password_hash="h"
        )
        now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        asset = await assets.insert_asset(
            pool,
            assets.NewAsset(
                id=uuid.uuid4(),
                owner_id=owner.id,
                device_asset_id="d1",
                device_id="dev",
                type="IMAGE",
                original_path="upload/x.jpg",
                original_file_name="x.jpg",
                original_mime_type="image/jpeg",
                checksum=hashlib.sha1(b"lock order").digest(),
                file_size=10,
                file_created_at=now,
                file_modified_at=now,
            ),
        )
        assert asset is not None
        taken = datetime(2019, 3, 1, 9, 0, tzinfo=UTC)
        async with pool.acquire() as extract, pool.acquire() as edit:

            async def owner_edit() -> None:  # what PUT /api/assets/{id} runs (apply_edits)
                async with edit.transaction():
                    await assets.update_assets(edit, owner.id, [asset.id], file_created_at=taken)
                    await assets.edit_exif(
                        edit, owner.id, [asset.id], assets.ExifEdit(description="from the JSON")
                    )

            async with extract.transaction():  # the metadata service's transaction
                await exif.upsert_exif(extract, asset.id, owner.id, exif.Exif(make="Canon"))
                editing = asyncio.create_task(owner_edit())
                await _blocked_or_done(pool, edit.get_server_pid(), editing)
                await assets.update_from_metadata(
                    extract,
                    asset.id,
                    local_date_time=None,
                    file_created_at=None,
                    width=10,
                    height=10,
                    duration_ms=None,
                )
            await asyncio.wait_for(editing, timeout=120)
        row = await exif.get_exif(pool, owner.id, asset.id)
        assert row is not None and (row.make, row.description) == ("Canon", "from the JSON")
    finally:
        await pool.close()
