"""Memories (the spec's "Memories" operations): "On this day" flashbacks and their assets.

Behaviour follows Immich 3.1's memory service as documented and observed (read, not copied):

- a memory is its owner's only: another user's id is 400 ``Not found or no memory.* access``
  (:func:`darkroom_gateway.permissions.require_access`), as Immich's ``requireAccess``;
- ``GET /api/memories`` filters by ``for`` (shown that day: ``showAt <= for <= hideAt``),
  ``isSaved``, ``type`` and ``isTrashed`` (Darkroom deletes memories for good, as Immich does,
  so no memory is ever trashed: ``isTrashed=true`` finds none); ``order`` by ``memoryAt``
  (``desc`` by default) or ``random``; ``size`` caps the list. ``/statistics`` counts the same;
- a memory lists its assets on the timeline and not in the trash, oldest first; ``showAt``,
  ``hideAt``, ``seenAt`` and ``deletedAt`` are left out when unset (Immich's ``mapMemory``);
- adding assets answers one BulkIdResponseDto per id: ``duplicate`` (already in it),
  ``no_permission`` (an asset the caller may not share: not theirs nor a partner's); removing:
  ``not_found`` for an id not in it;
- generation (:func:`generate_memories`) and clean-up (:func:`cleanup_memories`) run nightly
  (:func:`darkroom_gateway.nightly.generate_memories`, ``nightlyTasks.generateMemories``) and on
  ``POST /api/jobs``
  (``memory-create``, ``memory-cleanup``: :mod:`darkroom_gateway.domain.queues`).

Immich sends no websocket message for memories; changes are published on the bus
(``darkroom.memory.*``, ids only) for integrations, and the apps learn of them by sync
(``MemoriesV1``/``MemoryToAssetsV1``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import msgspec
import structlog
from darkroom_db import assets, memories, partners, search
from darkroom_events import MemoryCreated, MemoryDeleted, MemoryUpdated
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import AssetResponse, asset_response
from darkroom_gateway.errors import BadRequest
from darkroom_gateway.permissions import require_access
from darkroom_gateway.schemas import (
    BulkIdResponse,
    BulkIds,
    add_outcomes,
    bulk_id_responses,
    remove_outcomes,
)

log = structlog.get_logger()

#: Unsaved memories older than this are removed by ``memory-cleanup`` (Immich: 30 days).
CLEANUP_AGE = timedelta(days=30)
#: Spec: OnThisDayDto.year bounds.
Year = Annotated[int, msgspec.Meta(ge=1000, le=9999)]


class OnThisDay(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: OnThisDayDto."""

    year: Year


class MemoryResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """Spec: MemoryResponseDto (unset dates left out, as Immich's ``mapMemory``)."""

    id: str
    owner_id: str
    type: memories.MemoryType
    data: dict[str, Any]
    memory_at: datetime
    is_saved: bool
    created_at: datetime
    updated_at: datetime
    assets: list[AssetResponse]
    show_at: datetime | None = None
    hide_at: datetime | None = None
    seen_at: datetime | None = None
    deleted_at: datetime | None = None


class MemoryCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: MemoryCreateDto."""

    type: memories.MemoryType
    data: OnThisDay
    memory_at: datetime
    asset_ids: list[uuid.UUID] = []
    is_saved: bool = False
    seen_at: datetime | None = None
    show_at: datetime | None = None
    hide_at: datetime | None = None


class MemoryUpdate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: MemoryUpdateDto (an absent field is left as it is)."""

    is_saved: bool | None = None
    memory_at: datetime | None = None
    seen_at: datetime | None = None


class MemoryStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: MemoryStatisticsResponseDto."""

    total: int


def _instant(value: str) -> datetime:
    """The ``for`` query parameter: a date (midnight UTC, as JavaScript's ``new Date(day)``) or
    a date-time (Immich's web app sends its local time as ISO; no offset reads as UTC).

    Raises:
        BadRequest: Neither.
    """
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest("for must be a date like 2024-01-01") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def memory_filter(
    for_: Annotated[str | None, QueryParameter(name="for")] = None,
    is_saved: Annotated[bool | None, QueryParameter(name="isSaved")] = None,
    is_trashed: Annotated[bool | None, QueryParameter(name="isTrashed")] = None,
    order: FromQuery[memories.MemoryOrder | None] = None,
    size: Annotated[int | None, QueryParameter(ge=1, le=9007199254740991)] = None,
    type: FromQuery[memories.MemoryType | None] = None,  # noqa: A002 - the spec's name
) -> memories.Search | None:
    """The query of ``GET /api/memories`` and its statistics (a dependency); None when nothing
    can match (``isTrashed=true``: memories are deleted for good, never trashed)."""
    if is_trashed:
        return None
    return memories.Search(
        on=None if for_ is None else _instant(for_),
        is_saved=is_saved,
        type=type,
        order=order or "desc",
        size=size,
    )


async def _shareable(deps: Deps, user_id: uuid.UUID, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among ``ids`` the caller may put in a memory: their own assets and those a
    partner shares with them (Immich's ``asset.share`` access)."""
    own = await assets.owned_ids(deps.pool, user_id, ids)
    rest = [i for i in ids if i not in own]
    if not rest:
        return own
    return own | {a.id for a in await partners.partner_assets(deps.pool, user_id, rest)}


async def memory_responses(
    deps: Deps, user_id: uuid.UUID, found: list[memories.Memory]
) -> list[MemoryResponse]:
    """MemoryResponseDto of each memory, with its assets (as their owner or a partner sees
    them: ``isFavorite`` only on the caller's own)."""
    ids_of = await memories.asset_ids(deps.pool, [m.id for m in found])
    wanted = list({a for ids in ids_of.values() for a in ids})
    rows = await assets.get_assets(deps.pool, user_id, wanted)
    others = [i for i in wanted if i not in {a.id for a in rows}]
    if others:
        rows += await partners.partner_assets(deps.pool, user_id, others)
    by_id = {}
    for a, e in await search.with_exif(deps.pool, rows):
        shown = asset_response(a, e)
        by_id[a.id] = (
            shown if a.owner_id == user_id else msgspec.structs.replace(shown, is_favorite=False)
        )
    return [
        MemoryResponse(
            id=str(m.id),
            owner_id=str(m.owner_id),
            type=m.type,  # type: ignore[arg-type]  # the table's CHECK holds it to MemoryType
            data=m.data,
            memory_at=m.memory_at,
            is_saved=m.is_saved,
            created_at=m.created_at,
            updated_at=m.updated_at,
            assets=[by_id[a] for a in ids_of[m.id] if a in by_id],
            show_at=m.show_at,
            hide_at=m.hide_at,
            seen_at=m.seen_at,
        )
        for m in found
    ]


async def _one(deps: Deps, user_id: uuid.UUID, memory: memories.Memory) -> MemoryResponse:
    return (await memory_responses(deps, user_id, [memory]))[0]


def _now() -> datetime:
    return datetime.now(UTC)


async def _tell(
    deps: Deps,
    kind: type[MemoryCreated | MemoryUpdated | MemoryDeleted],
    memory_id: uuid.UUID,
    owner_id: uuid.UUID,
) -> None:
    """Announce a change of one memory (``kind``: created, updated or deleted), stamped now."""
    await announce(deps, kind(memory_id=str(memory_id), owner_id=str(owner_id), at=_now()))


async def generate_memories(
    deps: Deps, today: date | None = None, *, wait: bool = False
) -> int | None:
    """Make every user's "on this day" memories around ``today`` (idempotent) and announce them.

    Args:
        deps: The gateway's connections.
        today: The server's day; today (UTC) when None.
        wait: Wait for another replica's run to end rather than skip (a job a user asked for).

    Returns:
        How many memories were made, or None when another gateway replica was generating and
        ``wait`` is false.
    """
    day = today or _now().date()
    created = await memories.generate(deps.pool, day, wait=wait)
    if created is None:
        log.info("memories.generation_skipped", reason="another replica holds the lock")
        return None
    for m in created:
        await _tell(deps, MemoryCreated, m.id, m.owner_id)
    log.info("memories.generated", day=day.isoformat(), created=len(created))
    return len(created)


async def cleanup_memories(deps: Deps) -> int:
    """Delete unsaved memories older than :data:`CLEANUP_AGE` and announce each.

    Returns:
        How many were deleted.
    """
    removed = await memories.cleanup(deps.pool, CLEANUP_AGE)
    for m in removed:
        await _tell(deps, MemoryDeleted, m.id, m.owner_id)
    log.info("memories.cleaned_up", removed=len(removed))
    return len(removed)


class MemoryController(Controller):
    """/api/memories."""

    path = "/api/memories"
    dependencies = {"filters": memory_filter}  # noqa: RUF012 - Litestar's declaration

    @get("/", permission="memory.read")
    async def search_memories(
        self,
        filters: NamedDependency[memories.Search | None],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[MemoryResponse]:
        """The caller's memories matching the query."""
        if filters is None:
            return []
        found = await memories.search(deps.pool, auth.user.id, filters)
        return await memory_responses(deps, auth.user.id, found)

    @get("/statistics", permission="memory.statistics")
    async def memories_statistics(
        self,
        filters: NamedDependency[memories.Search | None],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> MemoryStatistics:
        """How many of the caller's memories match the query."""
        if filters is None:
            return MemoryStatistics(total=0)
        return MemoryStatistics(total=await memories.count(deps.pool, auth.user.id, filters))

    @post("/", status_code=201, permission="memory.create")
    async def create_memory(
        self,
        data: JSONBody[MemoryCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> MemoryResponse:
        """Create a memory with the listed assets the caller may share (the others are left
        out, as Immich)."""
        allowed = await _shareable(deps, auth.user.id, data.asset_ids)
        async with deps.pool.acquire() as conn, conn.transaction():
            memory = await memories.create(
                conn,
                auth.user.id,
                type=data.type,
                data=msgspec.to_builtins(data.data),
                memory_at=data.memory_at,
                show_at=data.show_at,
                hide_at=data.hide_at,
                seen_at=data.seen_at,
                is_saved=data.is_saved,
            )
            await memories.add_assets(
                conn, memory.id, auth.user.id, [i for i in data.asset_ids if i in allowed]
            )
        log.info("memory.created", memory_id=str(memory.id), owner_id=str(auth.user.id))
        await _tell(deps, MemoryCreated, memory.id, auth.user.id)
        return await _one(deps, auth.user.id, memory)

    @get("/{memory_id:uuid}", permission="memory.read")
    async def get_memory(
        self,
        memory_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> MemoryResponse:
        """One memory of the caller.

        Raises:
            NoAccess: Not one of the caller's memories.
        """
        found = await memories.get(deps.pool, auth.user.id, memory_id)
        memory = require_access(found, "memory.read")
        return await _one(deps, auth.user.id, memory)

    @put("/{memory_id:uuid}", permission="memory.update")
    async def update_memory(
        self,
        memory_id: FromPath[uuid.UUID],
        data: JSONBody[MemoryUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> MemoryResponse:
        """Save/unsave a memory, change its date, or mark it seen.

        Raises:
            NoAccess: Not one of the caller's memories.
        """
        memory = require_access(
            await memories.update(
                deps.pool,
                auth.user.id,
                memory_id,
                is_saved=data.is_saved,
                memory_at=data.memory_at,
                seen_at=data.seen_at,
            ),
            "memory.update",
        )
        await _tell(deps, MemoryUpdated, memory_id, auth.user.id)
        return await _one(deps, auth.user.id, memory)

    @delete("/{memory_id:uuid}", status_code=204, permission="memory.delete")
    async def delete_memory(
        self,
        memory_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Delete a memory for good (its assets stay).

        Raises:
            NoAccess: Not one of the caller's memories.
        """
        require_access(await memories.delete(deps.pool, auth.user.id, memory_id), "memory.delete")
        log.info("memory.deleted", memory_id=str(memory_id), owner_id=str(auth.user.id))
        await _tell(deps, MemoryDeleted, memory_id, auth.user.id)

    @put("/{memory_id:uuid}/assets", permission="memoryAsset.create")
    async def add_memory_assets(
        self,
        memory_id: FromPath[uuid.UUID],
        data: JSONBody[BulkIds],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[BulkIdResponse]:
        """Add assets; per id: success, ``duplicate`` or ``no_permission``, in request order.

        Raises:
            NoAccess: Not one of the caller's memories.
        """
        require_access(await memories.get(deps.pool, auth.user.id, memory_id), "memory.read")
        present = await memories.linked(deps.pool, memory_id, data.ids)
        allowed = await _shareable(deps, auth.user.id, data.ids)
        async with deps.pool.acquire() as conn, conn.transaction():
            wanted = [i for i in data.ids if i in allowed and i not in present]
            added = await memories.add_assets(conn, memory_id, auth.user.id, wanted)
            if added:
                await memories.touch(conn, memory_id)
        if added:
            await _tell(deps, MemoryUpdated, memory_id, auth.user.id)
        return bulk_id_responses(add_outcomes(data.ids, added, present, allowed))

    @delete("/{memory_id:uuid}/assets", status_code=200, permission="memoryAsset.delete")
    async def remove_memory_assets(
        self,
        memory_id: FromPath[uuid.UUID],
        data: JSONBody[BulkIds],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[BulkIdResponse]:
        """Remove assets; per id: success or ``not_found`` (not in the memory).

        Raises:
            NoAccess: Not one of the caller's memories.
        """
        require_access(await memories.get(deps.pool, auth.user.id, memory_id), "memory.update")
        removed = await memories.remove_assets(deps.pool, memory_id, data.ids)
        if removed:
            await memories.touch(deps.pool, memory_id)
            await _tell(deps, MemoryUpdated, memory_id, auth.user.id)
        return bulk_id_responses(remove_outcomes(data.ids, removed))


ROUTES = [MemoryController]
