"""Request and response bodies that several API areas share (Immich spec names)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Literal

import msgspec

#: Spec: BulkIdErrorReason, why one id of a bulk request failed.
BulkIdError = Literal["duplicate", "no_permission", "not_found", "unknown", "validation"]


class BulkIds(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: BulkIdsDto."""

    ids: list[uuid.UUID]


class BulkIdResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    """Spec: BulkIdResponseDto: the outcome of one id of a bulk request."""

    id: str
    success: bool
    error: BulkIdError | None = None
    error_message: str | None = None


def add_outcomes(
    ids: Sequence[uuid.UUID],
    added: Collection[uuid.UUID],
    present: Collection[uuid.UUID],
    allowed: Collection[uuid.UUID],
) -> list[tuple[uuid.UUID, BulkIdError | None]]:
    """Immich's per-id answer to adding ids to a set (an album, a tag, a shared link).

    Args:
        ids: The ids asked for, in the request's order (repeats included).
        added: The ids that were added now.
        present: The ids that were in the set already.
        allowed: The ids the caller may add.

    Returns:
        ``(id, None)`` for an id added (its first occurrence only), ``(id, "duplicate")`` for one
        already in the set or repeated, ``(id, "no_permission")`` for one the caller may not
        add; in request order.
    """
    fresh = set(added)
    outcomes: list[tuple[uuid.UUID, BulkIdError | None]] = []
    for i in ids:
        if i in fresh:
            fresh.discard(i)  # a repeated id is a duplicate the second time
            outcomes.append((i, None))
        elif i in present or i in allowed:
            outcomes.append((i, "duplicate"))
        else:
            outcomes.append((i, "no_permission"))
    return outcomes


def remove_outcomes(
    ids: Sequence[uuid.UUID],
    removed: Collection[uuid.UUID],
    denied: Collection[uuid.UUID] = (),
) -> list[tuple[uuid.UUID, BulkIdError | None]]:
    """Immich's per-id answer to removing ids from a set: ``None`` for an id removed (its first
    occurrence only), ``"no_permission"`` for one in ``denied`` (there, but not the caller's
    to remove), ``"not_found"`` for the rest; in request order."""
    gone = set(removed)
    outcomes: list[tuple[uuid.UUID, BulkIdError | None]] = []
    for i in ids:
        if i in gone:
            gone.discard(i)
            outcomes.append((i, None))
        else:
            outcomes.append((i, "no_permission" if i in denied else "not_found"))
    return outcomes


def bulk_id_responses(
    outcomes: list[tuple[uuid.UUID, BulkIdError | None]],
) -> list[BulkIdResponse]:
    """The spec's ``BulkIdResponseDto`` list of :func:`add_outcomes`/:func:`remove_outcomes`."""
    return [BulkIdResponse(id=str(i), success=e is None, error=e) for i, e in outcomes]
