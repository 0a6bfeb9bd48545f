"""The storage template's moves on real PostgreSQL and both storage back ends (filesystem, S3).

Every point a crash can interrupt a move at is set up by hand (the intent row, the copy, the
switch of the asset row) and settled by :func:`recover`, which must leave database and storage
in agreement; then the move itself, its collision suffixes, hash verification, the assets that
never move, the per-asset lock, and readers following a moved original.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from darkroom_db import assets, create_pool, migrate
from darkroom_db import storage_template as moves
from darkroom_ingest.storage_template import move_asset, recover
from darkroom_runtime import Context
from darkroom_stack.servers import RunningServer
from darkroom_stack.testing import fresh_database
from darkroom_storage import Storage, StorageSettings, open_storage
from darkroom_storage.template import compile_template

TEMPLATE = compile_template("{{y}}/{{MM}}/{{filename}}")
TAKEN = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def db_url(postgres_server: RunningServer) -> str:
    url = fresh_database(postgres_server, "moves")
    migrate(url)
    return url


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_url)
    yield p
    await p.close()


@pytest.fixture(params=["filesystem", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Storage]:
    if request.param == "filesystem":
        settings = StorageSettings(root=str(tmp_path_factory.mktemp("moves")))
    else:
        server: RunningServer = request.getfixturevalue("s3_server")
        settings = StorageSettings(
            backend="s3",
            s3_endpoint=server.url,
            s3_access_key=server.extra["access_key"],
            s3_secret_key=server.extra["secret_key"],
            s3_bucket=f"moves-{uuid.uuid4().hex[:12]}",
        )
    store = open_storage(settings)
    yield store
    await store.close()


@pytest.fixture
def ctx(pool: asyncpg.Pool, storage: Storage) -> Context:
    """A context with the real database and storage (the bus and threads are not used here)."""
    return Context(
        service="ingest",
        settings=None,  # type: ignore[arg-type]
        bus=None,  # type: ignore[arg-type]
        pool=pool,
        storage=storage,
        executor=None,  # type: ignore[arg-type]
        config=None,  # type: ignore[arg-type]
    )


async def new_asset(
    ctx: Context,
    data: bytes,
    *,
    name: str = "IMG_1.jpg",
    sidecar: bytes | None = None,
    external: bool = False,
    key: str | None = None,
    checksum: bytes | None = None,
    owner: uuid.UUID | None = None,
) -> moves.TemplateRow:
    """An asset whose original is stored, of ``owner`` or of a new user (storage label
    ``lab-<hex>``)."""
    if owner is None:
        owner = uuid.uuid4()
        await ctx.pool.execute(
            "INSERT INTO users (id, email, storage_label) VALUES ($1, $2, $3)",
            owner,
            f"{owner.hex}@x.test",
            f"lab-{owner.hex[:8]}",
        )
    asset_id = uuid.uuid4()
    original = key or f"upload/{owner}/{asset_id.hex[:2]}/{asset_id.hex[2:4]}/{asset_id}.jpg"
    await ctx.storage.put(original, data)
    side = None
    if sidecar is not None:
        side = f"{original}.xmp"
        await ctx.storage.put(side, sidecar)
    await assets.insert_asset(
        ctx.pool,
        assets.NewAsset(
            id=asset_id,
            owner_id=owner,
            device_asset_id="d",
            device_id="t",
            type="IMAGE",
            original_path=original,
            original_file_name=name,
            original_mime_type="image/jpeg",
            checksum=checksum or hashlib.sha1(data).digest(),
            file_size=len(data),
            file_created_at=TAKEN,
            file_modified_at=TAKEN,
            sidecar_path=side,
        ),
    )
    await ctx.pool.execute(
        "UPDATE assets SET local_date_time = $2, is_external = $3 WHERE id = $1",
        asset_id,
        TAKEN,
        external,
    )
    row = await moves.template_row(ctx.pool, asset_id)
    assert row is not None
    return row


async def state(ctx: Context, row: moves.TemplateRow) -> tuple[str, str | None, int]:
    """The asset's original and sidecar keys now, and how many moves are pending for it."""
    now = await moves.template_row(ctx.pool, row.id)
    pending = await moves.pending_moves(ctx.pool, row.id)
    return (
        now.original_path if now else "",
        now.sidecar_path if now else None,
        len(pending),
    )


async def test_a_move_lands_at_the_template_with_its_sidecar(ctx: Context) -> None:
    row = await new_asset(ctx, b"photo-1", sidecar=b"<xmp/>")
    new = await move_asset(ctx, row, TEMPLATE, verify=True)
    assert new == f"library/{row.storage_label}/2024/05/IMG_1.jpg"
    assert await state(ctx, row) == (new, f"{new}.xmp", 0)
    assert await ctx.storage.get_bytes(new) == b"photo-1"
    assert await ctx.storage.get_bytes(f"{new}.xmp") == b"<xmp/>"
    assert not await ctx.storage.exists(row.original_path)
    assert not await ctx.storage.exists(f"{row.original_path}.xmp")
    # Already in place: a second run (a redelivery, the migration) leaves it.
    assert await move_asset(ctx, row, TEMPLATE, verify=True) is None
    assert (await state(ctx, row))[0] == new


async def test_collisions_get_immichs_suffixes(ctx: Context) -> None:
    first = await new_asset(ctx, b"one")
    label = first.storage_label
    base = f"library/{label}/2024/05/IMG_1"
    # An object the database does not know of already holds the plain key.
    await ctx.storage.put(f"{base}.jpg", b"stranger")
    assert await move_asset(ctx, first, TEMPLATE, verify=False) == f"{base}+1.jpg"
    # A second asset of the same user, same name and date: +2.
    second = await new_asset(ctx, b"two", owner=first.owner_id)
    assert await move_asset(ctx, second, TEMPLATE, verify=False) == f"{base}+2.jpg"
    assert await ctx.storage.get_bytes(f"{base}.jpg") == b"stranger"
    # "+1" is the template's key too: a migration leaves it there (Immich's rule).
    assert await move_asset(ctx, first, TEMPLATE, verify=False) is None


async def test_every_crash_point_is_settled(ctx: Context) -> None:
    # 1. Intent recorded and copy made, asset not switched: rolled back (copy removed).
    row = await new_asset(ctx, b"a", sidecar=b"s")
    move = moves.Move(
        asset_id=row.id,
        old_path=row.original_path,
        new_path=f"library/{row.storage_label}/x.jpg",
        old_sidecar_path=row.sidecar_path,
        new_sidecar_path=f"library/{row.storage_label}/x.jpg.xmp",
    )
    assert await moves.reserve_move(ctx.pool, move)
    await ctx.storage.copy(move.old_path, move.new_path)
    await ctx.storage.copy(row.sidecar_path, move.new_sidecar_path)  # type: ignore[arg-type]
    assert await recover(ctx) == 1
    assert await state(ctx, row) == (row.original_path, row.sidecar_path, 0)
    assert await ctx.storage.get_bytes(row.original_path) == b"a"
    assert not await ctx.storage.exists(move.new_path)
    assert not await ctx.storage.exists(move.new_sidecar_path)  # type: ignore[arg-type]
    # ... and the next move completes it.
    assert await move_asset(ctx, row, TEMPLATE, verify=True) is not None

    # 2. Asset switched, old objects not deleted yet: finished (old removed).
    row = await new_asset(ctx, b"b")
    move = moves.Move(
        asset_id=row.id, old_path=row.original_path, new_path=f"library/{row.storage_label}/y.jpg"
    )
    assert await moves.reserve_move(ctx.pool, move)
    await ctx.storage.copy(move.old_path, move.new_path)
    assert await moves.switch_asset(ctx.pool, move)
    assert await recover(ctx) == 1
    assert await state(ctx, row) == (move.new_path, None, 0)
    assert not await ctx.storage.exists(move.old_path)
    assert await ctx.storage.get_bytes(move.new_path) == b"b"

    # 3. Intent recorded, then the asset deleted for good: neither key is left.
    row = await new_asset(ctx, b"c")
    move = moves.Move(
        asset_id=row.id, old_path=row.original_path, new_path=f"library/{row.storage_label}/z.jpg"
    )
    assert await moves.reserve_move(ctx.pool, move)
    await ctx.storage.copy(move.old_path, move.new_path)
    await ctx.pool.execute("DELETE FROM assets WHERE id = $1", row.id)
    assert await recover(ctx) == 1
    assert not await ctx.storage.exists(move.new_path)
    assert not await ctx.storage.exists(move.old_path)
    assert await moves.pending_moves(ctx.pool, row.id) == []

    # 4. Only the intent (killed before the copy): rolled back, nothing to delete.
    row = await new_asset(ctx, b"d")
    move = moves.Move(
        asset_id=row.id, old_path=row.original_path, new_path=f"library/{row.storage_label}/w.jpg"
    )
    assert await moves.reserve_move(ctx.pool, move)
    # A reserved key is taken for everyone else.
    other = moves.Move(asset_id=uuid.uuid4(), old_path="upload/q.jpg", new_path=move.new_path)
    assert not await moves.reserve_move(ctx.pool, other)
    assert await recover(ctx) == 1
    assert await state(ctx, row) == (row.original_path, None, 0)


async def test_hash_verification_refuses_a_bad_copy(ctx: Context) -> None:
    row = await new_asset(ctx, b"content", checksum=hashlib.sha1(b"other").digest())
    assert await move_asset(ctx, row, TEMPLATE, verify=True) is None
    assert await state(ctx, row) == (row.original_path, None, 0)
    assert await ctx.storage.get_bytes(row.original_path) == b"content"
    assert not await ctx.storage.exists(f"library/{row.storage_label}/2024/05/IMG_1.jpg")


async def test_external_and_unmanaged_originals_never_move(ctx: Context) -> None:
    external = await new_asset(ctx, b"e", external=True)
    elsewhere = await new_asset(ctx, b"f", key=f"imports/{uuid.uuid4()}/IMG_1.jpg")
    for row in (external, elsewhere):
        assert await move_asset(ctx, row, TEMPLATE, verify=False) is None
        assert await state(ctx, row) == (row.original_path, None, 0)
    page = await moves.template_rows(ctx.pool, after=None, limit=10_000)
    assert not {external.id, elsewhere.id} & {r.id for r in page}


async def test_a_locked_asset_is_left_to_its_mover(ctx: Context) -> None:
    row = await new_asset(ctx, b"g")
    async with ctx.pool.acquire() as conn:
        assert await moves.try_lock_asset(conn, row.id)
        try:
            assert await move_asset(ctx, row, TEMPLATE, verify=False) is None
        finally:
            await moves.unlock_asset(conn, row.id)
    assert await move_asset(ctx, row, TEMPLATE, verify=False) is not None


async def test_readers_follow_a_moved_original(ctx: Context) -> None:
    row = await new_asset(ctx, b"h")
    stale = row.original_path  # what a job's event names
    new = await move_asset(ctx, row, TEMPLATE, verify=False)
    assert new is not None and not await ctx.storage.exists(stale)
    async with ctx.original_file(row.id, stale) as path:
        assert path.read_bytes() == b"h"
