"""Repository: workflows, their runs and the webhook deliveries they ask for.

Tables from migration ``0035_workflows.sql``. Every workflow function takes the owner's id and
touches only that user's workflows; the worker functions (``*_for_worker``) are for the
webhook service, which acts for whoever owns the asset or the delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg
import msgspec

#: Immich 3.1's WorkflowTrigger.
Trigger = Literal["AssetCreate", "AssetMetadataExtraction"]
#: A delivery's state: queued or being retried, done (2xx), or given up on.
DeliveryStatus = Literal["pending", "delivered", "dead"]


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a workflow (Immich's WorkflowStepDto): a plugin method and its config.

    Attributes:
        method: The method's key (``darkroom-core#addToAlbum``) or bare name (``addToAlbum``).
        config: Its configuration (the method's JSON schema), or None.
        enabled: A disabled step is skipped.
    """

    method: str
    config: dict[str, Any] | None = None
    enabled: bool = True


class Workflow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``workflows``."""

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str | None
    description: str | None
    trigger: Trigger
    enabled: bool
    steps: list[Step]
    created_at: datetime
    updated_at: datetime


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``webhook_deliveries``: one webhook call and what came of it.

    Attributes:
        payload: The JSON body sent (the same bytes every attempt).
        step: Index of the workflow's webhook step (its config holds the URL and secret).
        attempts: Requests made so far.
        last_status: HTTP status of the last response, None when there was none.
        last_response: The start of the last response body (at most 1 KiB of text).
        last_error: Why the last attempt failed (connection error, refused target, status).
    """

    id: uuid.UUID
    workflow_id: uuid.UUID
    step: int
    owner_id: uuid.UUID
    asset_id: uuid.UUID | None
    url: str
    payload: bytes
    status: DeliveryStatus
    attempts: int
    last_status: int | None
    last_response: str | None
    last_error: str | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


_STEPS = msgspec.json.Decoder(list[Step])
_WF_COLS = "id, owner_id, name, description, trigger, enabled, steps::text, created_at, updated_at"
_DL_COLS = (
    "id, workflow_id, step, owner_id, asset_id, url, payload, status, attempts, last_status, "
    "last_response, last_error, last_attempt_at, delivered_at, created_at"
)


def _workflow(row: asyncpg.Record) -> Workflow:
    values = dict(row)
    values["steps"] = _STEPS.decode(values.pop("steps"))
    return Workflow(**values)


def _steps_json(steps: Sequence[Step]) -> str:
    return msgspec.json.encode(list(steps)).decode()


async def create(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    *,
    trigger: Trigger,
    steps: Sequence[Step],
    name: str | None = None,
    description: str | None = None,
    enabled: bool = True,
) -> Workflow:
    """Store a new workflow of ``owner_id`` (the steps already validated by the caller)."""
    row = await pool.fetchrow(
        f"INSERT INTO workflows (owner_id, name, description, trigger, enabled, steps) "
        f"VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING {_WF_COLS}",
        owner_id,
        name,
        description,
        trigger,
        enabled,
        _steps_json(steps),
    )
    assert row is not None
    return _workflow(row)


async def get(pool: asyncpg.Pool, owner_id: uuid.UUID, workflow_id: uuid.UUID) -> Workflow | None:
    """``owner_id``'s workflow ``workflow_id``, or None (no such workflow, or another's)."""
    row = await pool.fetchrow(
        f"SELECT {_WF_COLS} FROM workflows WHERE id = $1 AND owner_id = $2", workflow_id, owner_id
    )
    return None if row is None else _workflow(row)


async def get_for_worker(
    pool: asyncpg.Pool | asyncpg.Connection, workflow_id: uuid.UUID
) -> Workflow | None:
    """Workflow ``workflow_id`` whoever owns it (the webhook service's read), or None."""
    row = await pool.fetchrow(f"SELECT {_WF_COLS} FROM workflows WHERE id = $1", workflow_id)
    return None if row is None else _workflow(row)


async def search(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    *,
    workflow_id: uuid.UUID | None = None,
    name: str | None = None,
    description: str | None = None,
    enabled: bool | None = None,
    trigger: str | None = None,
) -> list[Workflow]:
    """``owner_id``'s workflows, oldest first, narrowed by each filter given (exact values)."""
    rows = await pool.fetch(
        f"SELECT {_WF_COLS} FROM workflows WHERE owner_id = $1 "
        "AND ($2::uuid IS NULL OR id = $2) AND ($3::text IS NULL OR name = $3) "
        "AND ($4::text IS NULL OR description = $4) AND ($5::boolean IS NULL OR enabled = $5) "
        "AND ($6::text IS NULL OR trigger = $6) ORDER BY created_at, id",
        owner_id,
        workflow_id,
        name,
        description,
        enabled,
        trigger,
    )
    return [_workflow(r) for r in rows]


async def update(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    workflow_id: uuid.UUID,
    changes: dict[str, Any],
) -> Workflow | None:
    """Change some fields of ``owner_id``'s workflow; None when it is not theirs.

    Args:
        changes: Any of ``name``, ``description`` (None clears them), ``trigger``, ``enabled``,
            ``steps`` (a list of :class:`Step`); keys not given are left as they are.
    """
    allowed = ("name", "description", "trigger", "enabled", "steps")
    sets: list[str] = []
    args: list[Any] = [workflow_id, owner_id]
    for key in allowed:
        if key not in changes:
            continue
        value = changes[key]
        args.append(_steps_json(value) if key == "steps" else value)
        cast = "::jsonb" if key == "steps" else ""
        sets.append(f"{key} = ${len(args)}{cast}")
    sets.append("updated_at = now()")
    row = await pool.fetchrow(
        f"UPDATE workflows SET {', '.join(sets)} WHERE id = $1 AND owner_id = $2 "
        f"RETURNING {_WF_COLS}",
        *args,
    )
    return None if row is None else _workflow(row)


async def delete(pool: asyncpg.Pool, owner_id: uuid.UUID, workflow_id: uuid.UUID) -> bool:
    """Delete ``owner_id``'s workflow (its runs and deliveries go with it); False if not theirs."""
    status = await pool.execute(
        "DELETE FROM workflows WHERE id = $1 AND owner_id = $2", workflow_id, owner_id
    )
    return status != "DELETE 0"


async def enabled_of_owner(pool: asyncpg.Pool, owner_id: uuid.UUID) -> list[Workflow]:
    """Every enabled workflow of ``owner_id``, oldest first (the runner's candidates)."""
    rows = await pool.fetch(
        f"SELECT {_WF_COLS} FROM workflows WHERE owner_id = $1 AND enabled ORDER BY created_at, id",
        owner_id,
    )
    return [_workflow(r) for r in rows]


async def claim_run(conn: asyncpg.Connection, workflow_id: uuid.UUID, asset_id: uuid.UUID) -> bool:
    """Record that ``workflow_id`` runs for ``asset_id`` (inside the run's transaction).

    Returns:
        True the first time; False when it already ran for that asset (a redelivery).
    """
    status = await conn.execute(
        "INSERT INTO workflow_runs (workflow_id, asset_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        workflow_id,
        asset_id,
    )
    return status != "INSERT 0 0"


async def albums_holding(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID, album_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``album_ids`` hold ``asset_id`` (albums not deleted)."""
    rows = await pool.fetch(
        "SELECT aa.album_id FROM album_assets aa JOIN albums al ON al.id = aa.album_id "
        "WHERE aa.asset_id = $1 AND aa.album_id = ANY($2::uuid[]) AND al.deleted_at IS NULL",
        asset_id,
        list(album_ids),
    )
    return {r["album_id"] for r in rows}


async def add_to_album(conn: asyncpg.Connection, album_id: uuid.UUID, asset_id: uuid.UUID) -> bool:
    """Put an asset in an album inside the caller's transaction (the caller checked the right to
    edit it); the album gets it as thumbnail when it has none, and a new ``updated_at``.

    Returns:
        True when it was added, False when it was there already.
    """
    status = await conn.execute(
        "INSERT INTO album_assets (album_id, asset_id, created_at) "
        "VALUES ($1, $2, clock_timestamp()) ON CONFLICT DO NOTHING",
        album_id,
        asset_id,
    )
    if status == "INSERT 0 0":
        return False
    await conn.execute(
        "UPDATE albums SET updated_at = now(), "
        "album_thumbnail_asset_id = coalesce(album_thumbnail_asset_id, $2) WHERE id = $1",
        album_id,
        asset_id,
    )
    return True


async def add_delivery(
    conn: asyncpg.Connection,
    *,
    delivery_id: uuid.UUID,
    workflow_id: uuid.UUID,
    step: int,
    owner_id: uuid.UUID,
    asset_id: uuid.UUID | None,
    url: str,
    payload: bytes,
) -> bool:
    """Queue a webhook delivery (its id is deterministic: a repeat is a no-op).

    Returns:
        True when it is new (announce it), False when it was queued already.
    """
    status = await conn.execute(
        "INSERT INTO webhook_deliveries (id, workflow_id, step, owner_id, asset_id, url, payload) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        delivery_id,
        workflow_id,
        step,
        owner_id,
        asset_id,
        url,
        payload,
    )
    return status != "INSERT 0 0"


async def get_delivery(pool: asyncpg.Pool, delivery_id: uuid.UUID) -> Delivery | None:
    """Delivery ``delivery_id`` (the webhook service's read), or None when gone."""
    row = await pool.fetchrow(
        f"SELECT {_DL_COLS} FROM webhook_deliveries WHERE id = $1", delivery_id
    )
    return None if row is None else Delivery(**dict(row))


async def record_attempt(
    pool: asyncpg.Pool,
    delivery_id: uuid.UUID,
    *,
    status: DeliveryStatus,
    http_status: int | None,
    response: str | None,
    error: str | None,
) -> int:
    """Count one attempt of a pending delivery and keep what came of it.

    Args:
        status: The delivery's state after it: ``delivered``, ``dead`` or still ``pending``.
        http_status: The response's status, None when no response came.
        response: The start of the response body.
        error: Why it failed, None on success.

    Returns:
        The attempts made so far (0 when the delivery is gone or already settled).
    """
    value = await pool.fetchval(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2, last_status = $3, "
        "last_response = $4, last_error = $5, last_attempt_at = now(), "
        "delivered_at = CASE WHEN $2 = 'delivered' THEN now() END "
        "WHERE id = $1 AND status = 'pending' RETURNING attempts",
        delivery_id,
        status,
        http_status,
        response,
        error,
    )
    return int(value or 0)


async def list_deliveries(
    pool: asyncpg.Pool,
    *,
    owner_id: uuid.UUID | None,
    workflow_id: uuid.UUID | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 1000,
) -> list[Delivery]:
    """Deliveries, newest first: ``owner_id``'s (None: everyone's, for an admin), narrowed by
    workflow and state."""
    rows = await pool.fetch(
        f"SELECT {_DL_COLS} FROM webhook_deliveries WHERE ($1::uuid IS NULL OR owner_id = $1) "
        "AND ($2::uuid IS NULL OR workflow_id = $2) AND ($3::text IS NULL OR status = $3) "
        "ORDER BY created_at DESC, id LIMIT $4",
        owner_id,
        workflow_id,
        status,
        limit,
    )
    return [Delivery(**dict(r)) for r in rows]
