"""Schema migrations: numbered SQL files in ``darkroom_db/migrations`` applied by yoyo-migrations.

yoyo (https://ollycope.com/software/yoyo/) records applied migrations in its own tables, applies
each file in a transaction and takes a lock so that two ``darkroom migrate`` runs (e.g. two Helm
hook retries) cannot interleave.
"""

from __future__ import annotations

import sys
from importlib.resources import files
from urllib.parse import urlsplit, urlunsplit

import msgspec
import structlog
from darkroom_config import ConfigError, load_settings
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


class MigrateSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``DARKROOM_DATABASE_URL`` (or ``DARKROOM_DATABASE_URL_FILE``, a mounted secret)."""

    database_url: str


def main() -> int:
    """``darkroom-migrate``: apply pending migrations to ``DARKROOM_DATABASE_URL`` (the Helm hook
    and compose's one-shot ``migrate`` service run this)."""
    try:
        settings = load_settings(MigrateSettings)
    except ConfigError as exc:
        log.error("migrate.bad_settings", error=str(exc))
        return 2
    migrate(settings.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
