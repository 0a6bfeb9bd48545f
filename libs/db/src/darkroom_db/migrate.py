"""Schema migrations: numbered SQL files in ``darkroom_db/migrations`` applied by yoyo-migrations.

yoyo (https://ollycope.com/software/yoyo/) records applied migrations in its own tables, applies
each file in a transaction and takes a lock so that two ``darkroom migrate`` runs (e.g. two Helm
hook retries) cannot interleave.
"""

from __future__ import annotations

import os
import sys
from importlib.resources import files
from urllib.parse import urlsplit, urlunsplit

import structlog
from yoyo import get_backend, read_migrations

log = structlog.get_logger()


def _yoyo_url(database_url: str) -> str:
    """``postgresql://...`` -> ``postgresql+psycopg://...`` (yoyo's psycopg 3 driver)."""
    parts = urlsplit(database_url)
    scheme = "postgresql+psycopg" if parts.scheme in ("postgres", "postgresql") else parts.scheme
    return urlunsplit((scheme, *parts[1:]))


def migrations_dir() -> str:
    """Filesystem path of the packaged migrations folder."""
    return str(files("darkroom_db") / "migrations")


def migrate(database_url: str) -> list[str]:
    """Apply every pending migration to ``database_url``.

    Args:
        database_url: ``postgresql://user@host:port/db``.

    Returns:
        Ids of the migrations applied now (empty when the schema was current).

    Raises:
        yoyo.exceptions.BadMigration / psycopg.Error: a migration failed (its transaction is
            rolled back, earlier ones stay applied).
    """
    backend = get_backend(_yoyo_url(database_url))
    migrations = read_migrations(migrations_dir())
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    applied = [m.id for m in pending]
    log.info("db.migrated", applied=applied)
    return applied


def pending(database_url: str) -> list[str]:
    """Ids of migrations not yet applied to ``database_url``."""
    backend = get_backend(_yoyo_url(database_url))
    return [m.id for m in backend.to_apply(read_migrations(migrations_dir()))]


def main() -> int:
    """``darkroom-migrate``: apply pending migrations to ``DARKROOM_DATABASE_URL`` (the Helm hook
    and compose's one-shot ``migrate`` service run this)."""
    url = os.environ.get("DARKROOM_DATABASE_URL")
    if not url:
        log.error("migrate.no_database", hint="set DARKROOM_DATABASE_URL")
        return 2
    migrate(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
