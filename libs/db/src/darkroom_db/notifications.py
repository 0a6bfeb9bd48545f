"""Repository: in-app notifications of users (Immich's ``notification``), read or unread.

Every read and change takes the caller's id and touches only their notifications
(:func:`owned`), which the gateway passes to ``require_access``. ``emailed_at`` records that a
notification's e-mail went out, so a redelivered e-mail request is not sent twice
(:func:`mark_emailed`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg
import msgspec

NotificationType = Literal[
    "JobFailed", "BackupFailed", "SystemMessage", "AlbumInvite", "AlbumUpdate", "Custom"
]
NotificationLevel = Literal["success", "error", "warning", "info"]


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``notification``; ``data`` is its JSON object (or None)."""

    id: uuid.UUID
    user_id: uuid.UUID
    type: str
    level: str
    title: str
    description: str | None
    data: dict[str, Any] | None
    read_at: datetime | None
    emailed_at: datetime | None
    created_at: datetime


_COLS = ", ".join(Notification.__struct_fields__)


def _notification(row: asyncpg.Record) -> Notification:
    data = dict(row)
    if data["data"] is not None:
        data["data"] = json.loads(data["data"])
    return Notification(**data)


async def create(
    pool: asyncpg.Pool | asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    title: str,
    type: NotificationType = "Custom",  # noqa: A002 - the spec's field name
    level: NotificationLevel = "info",
    description: str | None = None,
    data: dict[str, Any] | None = None,
    read_at: datetime | None = None,
) -> Notification:
    """Add a notification for ``user_id``.

    Returns:
        The new notification.
    """
    row = await pool.fetchrow(
        f"INSERT INTO notification (id, user_id, type, level, title, description, data, read_at) "
        f"VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) RETURNING {_COLS}",
        uuid.uuid4(),
        user_id,
        type,
        level,
        title,
        description,
        None if data is None else json.dumps(data),
        read_at,
    )
    assert row is not None
    return _notification(row)


async def search(
    pool: asyncpg.Pool,
    user_id: uuid.UUID,
    *,
    notification_id: uuid.UUID | None = None,
    type: str | None = None,  # noqa: A002 - the spec's parameter name
    level: str | None = None,
    unread: bool | None = None,
) -> list[Notification]:
    """The user's notifications, newest first, filtered (None: no filter). ``unread`` True
    keeps the unread ones; False filters nothing, as Immich's ``NotificationRepository.search``
    (``readAt: dto.unread ? null : undefined``)."""
    rows = await pool.fetch(
        f"SELECT {_COLS} FROM notification WHERE user_id = $1 "
        "AND ($2::uuid IS NULL OR id = $2) AND ($3::text IS NULL OR type = $3) "
        "AND ($4::text IS NULL OR level = $4) "
        "AND ($5::boolean IS NOT TRUE OR read_at IS NULL) ORDER BY created_at DESC, id",
        user_id,
        notification_id,
        type,
        level,
        unread,
    )
    return [_notification(r) for r in rows]


async def get(pool: asyncpg.Pool, notification_id: uuid.UUID) -> Notification | None:
    """A notification by id, whoever's it is (the e-mail sender; routes use :func:`owned`)."""
    row = await pool.fetchrow(f"SELECT {_COLS} FROM notification WHERE id = $1", notification_id)
    return None if row is None else _notification(row)


async def owned(
    pool: asyncpg.Pool, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    """Notification ``notification_id`` if it is ``user_id``'s, else None."""
    row = await pool.fetchrow(
        f"SELECT {_COLS} FROM notification WHERE id = $2 AND user_id = $1",
        user_id,
        notification_id,
    )
    return None if row is None else _notification(row)


async def all_owned(pool: asyncpg.Pool, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> bool:
    """Whether every one of ``ids`` is a notification of ``user_id``."""
    found = await pool.fetchval(
        "SELECT count(*) FROM notification WHERE user_id = $1 AND id = ANY($2::uuid[])",
        user_id,
        list(set(ids)),
    )
    return bool(found == len(set(ids)))


async def set_read(
    pool: asyncpg.Pool, ids: Sequence[uuid.UUID], read_at: datetime | None
) -> list[Notification]:
    """Mark notifications read at ``read_at`` (None: unread). The caller checked the ids.

    Returns:
        The notifications changed.
    """
    rows = await pool.fetch(
        f"UPDATE notification SET read_at = $2, updated_at = clock_timestamp() "
        f"WHERE id = ANY($1::uuid[]) RETURNING {_COLS}",
        list(ids),
        read_at,
    )
    return [_notification(r) for r in rows]


async def delete(pool: asyncpg.Pool, ids: Sequence[uuid.UUID]) -> int:
    """Delete notifications (the caller checked the ids).

    Returns:
        How many there were.
    """
    status = await pool.execute("DELETE FROM notification WHERE id = ANY($1::uuid[])", list(ids))
    return int(status.split()[-1])


async def recent_album_update(
    pool: asyncpg.Pool, user_id: uuid.UUID, album_id: uuid.UUID, within: timedelta
) -> bool:
    """Whether ``user_id`` got an AlbumUpdate notification of the album in the last ``within``
    that they have not read yet (the debounce of album update notifications)."""
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM notification WHERE user_id = $1 AND type = "
            "'AlbumUpdate' AND data ->> 'albumId' = $2 AND read_at IS NULL "
            "AND created_at > clock_timestamp() - $3::interval)",
            user_id,
            str(album_id),
            within,
        )
    )


async def mark_emailed(pool: asyncpg.Pool, notification_id: uuid.UUID) -> bool:
    """Record that the notification's e-mail went out.

    Returns:
        False when it was recorded already (or the notification is gone): do not send again.
    """
    status = await pool.execute(
        "UPDATE notification SET emailed_at = clock_timestamp() "
        "WHERE id = $1 AND emailed_at IS NULL",
        notification_id,
    )
    return status != "UPDATE 0"


#: Quiet time of JobFailed notifications per admin and failing service: one notification tells
#: an admin a service is failing; more of them while it is unread would only repeat it.
JOB_FAILED_DEBOUNCE = timedelta(hours=1)


async def job_failed(
    pool: asyncpg.Pool, *, service: str, subject: str, error: str
) -> list[Notification]:
    """A JobFailed notification (level ``error``) for each admin, unless they have an unread
    one of the same ``service`` younger than :data:`JOB_FAILED_DEBOUNCE`.

    Args:
        pool: Database pool.
        service: The failing consumer (``thumbnail``, ``metadata``...).
        subject: The event subject of the job.
        error: The reason (paths already removed by the caller).

    Returns:
        The notifications made.
    """
    rows = await pool.fetch(
        f"INSERT INTO notification (id, user_id, type, level, title, description, data) "
        "SELECT gen_random_uuid(), u.id, 'JobFailed', 'error', 'Job failed', $2, "
        "jsonb_build_object('service', $1::text, 'subject', $3::text) FROM users u "
        "WHERE u.is_admin AND u.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM notification n "
        "WHERE n.user_id = u.id AND n.type = 'JobFailed' AND n.read_at IS NULL "
        "AND n.data ->> 'service' = $1 AND n.created_at > clock_timestamp() - $4::interval) "
        f"RETURNING {_COLS}",
        service,
        f"Job {service} failed with error: {error}",
        subject,
        JOB_FAILED_DEBOUNCE,
    )
    return [_notification(r) for r in rows]
