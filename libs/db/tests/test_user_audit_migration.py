"""Migration 0041: the user_audit rows that soft deletes wrote before it are taken out for the
users that still exist (the sync stream then sends them as UserV1 with deletedAt, as Immich's
UserSync), and a purged user's row stays (its UserDeleteV1)."""

from __future__ import annotations

import uuid

import asyncpg
from darkroom_db import migrate
from darkroom_db.migrate import _yoyo_url, migrations_dir
from darkroom_stack.testing import fresh_database
from yoyo import get_backend, read_migrations

MIGRATION = "0041_user_audit_soft_deletes"


def _migrate_before(url: str, migration: str) -> None:
    """Apply every migration that comes before ``migration``."""
    backend = get_backend(_yoyo_url(url))
    earlier = read_migrations(migrations_dir()).filter(lambda m: m.id < migration)
    with backend.lock():
        backend.apply_migrations(backend.to_apply(earlier))


async def test_soft_deleted_users_lose_their_audit_row_and_purged_ones_keep_it(
    postgres_server: object,
) -> None:
    url = fresh_database(postgres_server, "useraudit")
    _migrate_before(url, MIGRATION)
    soft, purged = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO users (id, email, name, password_hash, deleted_at) "
            "VALUES ($1, 'soft@x.test', 'Soft', 'h', now())",
            soft,
        )
        await conn.execute("INSERT INTO user_audit (user_id) VALUES ($1), ($2)", soft, purged)
    finally:
        await conn.close()

    assert MIGRATION in migrate(url)

    conn = await asyncpg.connect(url)
    try:
        left = {r["user_id"] for r in await conn.fetch("SELECT user_id FROM user_audit")}
    finally:
        await conn.close()
    assert left == {purged}
