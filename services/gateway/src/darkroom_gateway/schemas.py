"""Request and response bodies that several API areas share (Immich spec names)."""

from __future__ import annotations

import uuid
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
