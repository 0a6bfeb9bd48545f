"""Replays Immich's server/test/medium/specs/sync/sync-partner-asset-exif.spec.ts over HTTP
(PartnerAssetExifsV1).

Checked, each with fresh users and sessions: on a first sync a sharer's EXIF (of an asset
older than the partnership too) is a ``PartnerAssetExifV1`` line with exactly the
``SyncAssetExifV1`` fields; the caller's own EXIF and that of a user sharing with nobody never
come; a partnership made after the caller's checkpoint back-fills the EXIF up to it
(``PartnerAssetExifBackfillV1``, before the upserts, then a ``SyncAckV1``) and sends newer
EXIF as
``PartnerAssetExifV1``; acked lines do not come again.

Not replayed: the user ids below a UUIDv7 case (Darkroom's acks hold no user ids).
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import SPEC_FIELDS, Device, upload_processed

TYPES = ["PartnerAssetExifsV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _partner(by: User, with_: User) -> None:
    r = by.client.post("/api/partners", json={"sharedWithId": with_.id})
    assert r.status_code == 201, r.text


def _pairs(lines: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(x["type"], x["data"].get("assetId")) for x in lines[:-1]]


def test_partner_exif_lines_and_backfill(stack: Stack, admin: User) -> None:
    me, first, second, stranger = (make_user(stack, admin) for _ in range(4))
    old = upload_processed(second)
    current = upload_processed(first)
    middle = upload_processed(second)
    upload_processed(me)
    upload_processed(stranger)
    _partner(first, me)
    phone = Device(stack, me)

    lines = phone.sync(TYPES)
    assert _pairs(lines) == [("PartnerAssetExifV1", current)], lines
    assert lines[-1]["type"] == "SyncCompleteV1"
    assert set(lines[0]["data"]) == SPEC_FIELDS["AssetExifV1"]
    assert (lines[0]["data"]["exifImageWidth"], lines[0]["data"]["exifImageHeight"]) == (64, 48)
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]

    _partner(second, me)
    lines = phone.sync(TYPES)
    assert _pairs(lines) == [
        ("PartnerAssetExifBackfillV1", old),
        ("SyncAckV1", None),
        ("PartnerAssetExifV1", middle),
    ], lines
    phone.ack(lines)
    phone.ack(lines)  # a re-sent ack is harmless
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]
