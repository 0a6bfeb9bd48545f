"""Repository: CLIP embeddings (smart_search), near-duplicate groups and ML model status.

Embeddings are L2-normalised float32 vectors; distances are pgvector cosine distances
(``<=>``, 0 = same direction, 2 = opposite). Every user-facing query filters by ``owner_id``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec
import numpy as np
from numpy.typing import NDArray

#: Immich's default maximum cosine distance for two assets to be duplicates
#: (DuplicateDetectionConfig.maxDistance, spec range 0.001..0.1).
DEFAULT_MAX_DISTANCE = 0.01
#: Nearest neighbours examined per asset when looking for its duplicates.
NEIGHBOURS = 64
#: Visibilities whose assets take part in duplicate detection and listing (not hidden/locked).
_VISIBLE = "('timeline', 'archive')"


class ModelStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``ml_model_status``: what a task's service loaded, or why it could not."""

    task: str
    model: str
    dim: int | None
    ready: bool
    reason: str
    options: dict[str, Any]
    updated_at: datetime


#: The smart search index (migration 0039_smart_search_hnsw_graph.sql has the measurements):
#: cosine distance, each node linked to 24 neighbours chosen from 128 candidates.
HNSW_INDEX = (
    "CREATE INDEX smart_search_embedding_idx ON smart_search "
    "USING hnsw (embedding vector_cosine_ops) WITH (m = 24, ef_construction = 128)"
)


def dimension_of(embedding: Any) -> int:
    """The dimension of a numpy vector, a sequence or a ``pgvector.Vector`` (what the pool
    reads from a ``vector`` column), which has no ``len()``."""
    dimensions = getattr(embedding, "dimensions", None)
    return int(dimensions()) if callable(dimensions) else len(embedding)


async def column_dimension(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    """The dimension of ``smart_search.embedding`` (pgvector stores it as the type modifier)."""
    return int(
        await conn.fetchval(
            "SELECT atttypmod FROM pg_attribute "
            "WHERE attrelid = 'smart_search'::regclass AND attname = 'embedding'"
        )
    )


async def ensure_dimension(pool: asyncpg.Pool, dim: int, *, model: str | None = None) -> bool:
    """Make ``smart_search.embedding`` a ``vector(dim)`` holding only ``model``'s embeddings, as
    Immich does on a model change.

    When the dimension differs, or (with ``model``) rows of another model are stored, in one
    transaction: the table is emptied (embeddings of another model are not comparable), the
    column altered if needed, the HNSW index rebuilt, every asset's "embedding" step reset and
    duplicate ids cleared. Serialised by an advisory lock, so replicas starting together do it
    once.

    Args:
        pool: Database pool.
        dim: The model's embedding size (1..2000, pgvector's HNSW limit for ``vector``).
        model: The model's name; None checks the dimension only.

    Returns:
        True when the stored embeddings were dropped.

    Raises:
        ValueError: ``dim`` out of range.
    """
    if not 1 <= dim <= 2000:
        raise ValueError(f"embedding dimension {dim} outside 1..2000 (HNSW on vector)")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('darkroom.smart_search.dim'))")
        same_dim = await column_dimension(conn) == dim
        other_model = model is not None and await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM smart_search WHERE model <> $1)", model
        )
        if same_dim and not other_model:
            return False
        await conn.execute("DROP INDEX IF EXISTS smart_search_embedding_idx")
        await conn.execute("TRUNCATE smart_search")
        if not same_dim:
            # a type change resets the column's storage to the type's (out of line):
            # keep embeddings in their row (0036_smart_search_inline.sql)
            await conn.execute(
                f"ALTER TABLE smart_search ALTER COLUMN embedding TYPE vector({dim}), "
                "ALTER COLUMN embedding SET STORAGE MAIN"
            )
        await conn.execute(HNSW_INDEX)
        await conn.execute(
            "UPDATE asset_job_status SET embedding_at = NULL, updated_at = now() "
            "WHERE embedding_at IS NOT NULL"
        )
        await conn.execute("UPDATE assets SET duplicate_id = NULL WHERE duplicate_id IS NOT NULL")
    return True


async def upsert_embeddings(
    conn: asyncpg.Connection | asyncpg.Pool,
    rows: Sequence[tuple[uuid.UUID, uuid.UUID, NDArray[np.float32]]],
    *,
    model: str,
) -> None:
    """Store (asset id, owner id, embedding) rows; a repeated asset replaces its embedding.

    Args:
        conn: Connection or pool.
        rows: ``(asset_id, owner_id, (D,) float32)``; D must equal the column's dimension.
        model: The model's name.

    Raises:
        asyncpg.DataError: A vector of the wrong dimension.
        asyncpg.ForeignKeyViolationError: An asset that no longer exists.
    """
    await conn.executemany(
        "INSERT INTO smart_search (asset_id, owner_id, model, embedding) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (asset_id) DO UPDATE SET "
        "owner_id = EXCLUDED.owner_id, model = EXCLUDED.model, "
        "embedding = EXCLUDED.embedding, updated_at = now()",
        [(a, o, model, np.asarray(e, dtype=np.float32)) for a, o, e in rows],
    )


async def get_embedding(
    pool: asyncpg.Pool | asyncpg.Connection, asset_id: uuid.UUID
) -> NDArray[np.float32] | None:
    """The stored embedding of an asset (``(D,)`` float32), or None (system read: workers)."""
    value = await pool.fetchval("SELECT embedding FROM smart_search WHERE asset_id = $1", asset_id)
    if value is None:
        return None
    arr = value.to_numpy() if hasattr(value, "to_numpy") else value  # pgvector.Vector
    return np.asarray(arr, dtype=np.float32)


async def nearest(
    pool: asyncpg.Pool | asyncpg.Connection,
    owner_id: uuid.UUID,
    embedding: NDArray[np.float32],
    *,
    limit: int = 10,
) -> list[tuple[uuid.UUID, float]]:
    """``owner_id``'s active assets nearest to ``embedding`` (HNSW index scan).

    Returns:
        Up to ``limit`` (asset id, cosine distance), nearest first.
    """
    rows = await pool.fetch(
        "SELECT s.asset_id, s.embedding <=> $2 AS distance FROM smart_search s "
        "JOIN assets a ON a.id = s.asset_id "
        "WHERE s.owner_id = $1 AND a.status = 'active' ORDER BY s.embedding <=> $2 LIMIT $3",
        owner_id,
        np.asarray(embedding, dtype=np.float32),
        limit,
    )
    return [(r["asset_id"], float(r["distance"])) for r in rows]


async def assign_duplicates(
    pool: asyncpg.Pool,
    asset_id: uuid.UUID,
    embedding: NDArray[np.float32],
    *,
    max_distance: float = DEFAULT_MAX_DISTANCE,
) -> uuid.UUID | None:
    """Group an asset with its near-duplicates (Immich's duplicate detection).

    Looks among the same owner's active, visible assets of the same type for embeddings within
    ``max_distance`` (cosine) of ``embedding``. With matches, the asset, the matches and every
    asset already in one of their groups get one duplicate id (an existing one is kept, so groups
    merge); with none, the asset leaves any group it was in. Serialised per owner by an advisory
    lock, so concurrent batches cannot split a group. Idempotent.

    Args:
        pool: Database pool.
        asset_id: The asset whose embedding was just stored.
        embedding: Its ``(D,)`` embedding.
        max_distance: Largest cosine distance of two duplicates.

    Returns:
        The asset's duplicate id, or None (no duplicates, or the asset is gone/trashed/hidden).
    """
    vec = np.asarray(embedding, dtype=np.float32)
    async with pool.acquire() as conn, conn.transaction():
        me = await conn.fetchrow(
            f"SELECT owner_id, type, duplicate_id FROM assets WHERE id = $1 "
            f"AND status = 'active' AND visibility IN {_VISIBLE}",
            asset_id,
        )
        if me is None:
            return None
        owner_id = me["owner_id"]
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1::text))", str(owner_id))
        await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        rows = await conn.fetch(
            f"""SELECT id, duplicate_id, distance FROM (
                  SELECT a.id, a.duplicate_id, s.embedding <=> $1 AS distance
                  FROM smart_search s JOIN assets a ON a.id = s.asset_id
                  WHERE s.owner_id = $2 AND a.id <> $3 AND a.type = $4 AND a.status = 'active'
                    AND a.visibility IN {_VISIBLE}
                  ORDER BY s.embedding <=> $1 LIMIT {NEIGHBOURS}) n
                WHERE distance <= $5""",
            vec,
            owner_id,
            asset_id,
            me["type"],
            max_distance,
        )
        if not rows:
            if me["duplicate_id"] is not None:
                await conn.execute("UPDATE assets SET duplicate_id = NULL WHERE id = $1", asset_id)
            return None
        groups = [g for g in [me["duplicate_id"], *(r["duplicate_id"] for r in rows)] if g]
        target = groups[0] if groups else uuid.uuid4()
        await conn.execute(
            "UPDATE assets SET duplicate_id = $1 WHERE owner_id = $2 "
            "AND (id = ANY($3::uuid[]) OR duplicate_id = ANY($4::uuid[])) "
            "AND duplicate_id IS DISTINCT FROM $1",
            target,
            owner_id,
            [asset_id, *(r["id"] for r in rows)],
            groups,
        )
        return target


async def duplicate_groups(
    pool: asyncpg.Pool, owner_id: uuid.UUID
) -> list[tuple[uuid.UUID, list[uuid.UUID]]]:
    """``owner_id``'s duplicate groups that still hold two or more active, visible assets in
    no stack (Immich's ``DuplicateRepository.getAll``: a stacked asset is no duplicate).

    Returns:
        (duplicate id, asset ids oldest first), groups ordered by their newest asset first.
    """
    rows = await pool.fetch(
        f"""SELECT duplicate_id, array_agg(id ORDER BY local_date_time, id) AS ids
            FROM assets
            WHERE owner_id = $1 AND duplicate_id IS NOT NULL AND status = 'active'
              AND visibility IN {_VISIBLE} AND stack_id IS NULL
            GROUP BY duplicate_id HAVING count(*) > 1
            ORDER BY max(local_date_time) DESC, duplicate_id""",
        owner_id,
    )
    return [(r["duplicate_id"], list(r["ids"])) for r in rows]


async def group_members(
    pool: asyncpg.Pool | asyncpg.Connection, duplicate_id: uuid.UUID
) -> list[uuid.UUID]:
    """Ids of the assets of group ``duplicate_id`` that a resolve acts on, oldest first: active,
    in the timeline or the archive, in no stack, whoever owns them (Immich's
    ``DuplicateRepository.get`` does not scope a group by owner: the caller's right to trash
    each member is checked after); empty if none."""
    rows = await pool.fetch(
        f"""SELECT id FROM assets WHERE duplicate_id = $1
              AND status = 'active' AND visibility IN {_VISIBLE} AND stack_id IS NULL
            ORDER BY local_date_time, id""",
        duplicate_id,
    )
    return [r["id"] for r in rows]


async def owned_groups(
    pool: asyncpg.Pool | asyncpg.Connection, owner_id: uuid.UUID, duplicate_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``duplicate_ids`` are groups of ``owner_id``: holding one of their assets not in
    the trash (Immich's ``duplicate.checkOwnerAccess``, the access check of every route that
    names a group)."""
    rows = await pool.fetch(
        "SELECT DISTINCT duplicate_id FROM assets WHERE owner_id = $1 "
        "AND duplicate_id = ANY($2::uuid[]) AND status = 'active'",
        owner_id,
        duplicate_ids,
    )
    return {r["duplicate_id"] for r in rows}


async def clear_duplicates(
    pool: asyncpg.Pool | asyncpg.Connection, owner_id: uuid.UUID, duplicate_ids: list[uuid.UUID]
) -> int:
    """Dissolve ``owner_id``'s groups ``duplicate_ids`` (the assets stay, ungrouped).

    Returns:
        Number of assets taken out of a group.
    """
    status = await pool.execute(
        "UPDATE assets SET duplicate_id = NULL WHERE owner_id = $1 AND duplicate_id = ANY($2)",
        owner_id,
        duplicate_ids,
    )
    return int(status.split()[-1])


async def clear_singleton_groups(
    pool: asyncpg.Pool | asyncpg.Connection, owner_id: uuid.UUID
) -> int:
    """Take ``owner_id``'s assets out of the duplicate groups that hold only one asset not in
    the trash and in no stack (the others trashed, deleted or stacked since), as Immich does
    before listing duplicates (``DuplicateRepository.cleanupSingletonGroups``): such an asset
    then answers ``duplicateId: null``. Every asset of such a group is ungrouped, the trashed
    ones too.

    Returns:
        Number of assets taken out of a group.
    """
    status = await pool.execute(
        """UPDATE assets SET duplicate_id = NULL
            WHERE owner_id = $1 AND duplicate_id IN (
                SELECT duplicate_id FROM assets
                 WHERE owner_id = $1 AND duplicate_id IS NOT NULL AND status = 'active'
                   AND stack_id IS NULL
                 GROUP BY duplicate_id HAVING count(*) = 1)""",
        owner_id,
    )
    return int(status.split()[-1])


async def set_model_status(
    pool: asyncpg.Pool | asyncpg.Connection,
    *,
    task: str,
    model: str,
    ready: bool,
    dim: int | None = None,
    reason: str = "",
    options: dict[str, Any] | None = None,
) -> None:
    """Record what the service of ML ``task`` loaded (upsert; the latest start wins)."""
    await pool.execute(
        "INSERT INTO ml_model_status (task, model, dim, ready, reason, options) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT (task) DO UPDATE SET "
        "model = EXCLUDED.model, dim = EXCLUDED.dim, ready = EXCLUDED.ready, "
        "reason = EXCLUDED.reason, options = EXCLUDED.options, updated_at = now()",
        task,
        model,
        dim,
        ready,
        reason,
        json.dumps(options or {}),
    )


async def get_model_status(
    pool: asyncpg.Pool | asyncpg.Connection, task: str
) -> ModelStatus | None:
    """What the service of ML ``task`` last reported, or None if it never started."""
    row = await pool.fetchrow(
        "SELECT task, model, dim, ready, reason, options, updated_at "
        "FROM ml_model_status WHERE task = $1",
        task,
    )
    if row is None:
        return None
    data = dict(row)
    data["options"] = json.loads(data["options"]) if isinstance(data["options"], str) else {}
    return ModelStatus(**data)
