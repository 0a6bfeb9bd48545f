"""Replays Immich's server/test/medium/specs/sync/sync-partner.spec.ts over HTTP (PartnersV1).

Checked, each with fresh users and sessions: a partnership the caller is on either side of is
a ``PartnerV1`` line exactly ``{sharedById, sharedWithId, inTimeline}``; one made and removed
before the first sync is a ``PartnerDeleteV1`` line exactly ``{sharedById, sharedWithId}``;
sharing both ways gives two lines; turning ``inTimeline`` on sends the partnership again; a
partnership of two other users, and its removal, never reach the caller; once the sharer is
deleted for good, their partnership is not sent as a ``PartnerDeleteV1`` (Immich's partner
audit trigger skips cascades: the app learns it from ``UserDeleteV1``); acked lines do not
come again.
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from .conftest import User, make_user
from .test_sync import Device

TYPES = ["PartnersV1"]


def _types(lines: list[dict[str, Any]]) -> list[str]:
    return [line["type"] for line in lines]


def _partner(by: User, with_: User) -> None:
    r = by.client.post("/api/partners", json={"sharedWithId": with_.id})
    assert r.status_code == 201, r.text


def test_partner_lines(stack: Stack, admin: User) -> None:
    me, sharer, shared_with, gone = (make_user(stack, admin) for _ in range(4))
    third, fourth = make_user(stack, admin), make_user(stack, admin)
    _partner(gone, me)
    assert gone.client.delete(f"/api/partners/{me.id}").status_code == 204
    _partner(third, fourth)  # unrelated
    phone = Device(stack, me)
    lines = phone.sync(TYPES)
    assert lines[:-1] == [
        {
            "type": "PartnerDeleteV1",
            "data": {"sharedById": gone.id, "sharedWithId": me.id},
            "ack": lines[0]["ack"],
        }
    ], lines
    phone.ack(lines)

    _partner(sharer, me)
    _partner(me, shared_with)
    lines = phone.sync(TYPES)
    assert _types(lines) == ["PartnerV1", "PartnerV1", "SyncCompleteV1"], lines
    assert sorted((x["data"] for x in lines[:-1]), key=str) == sorted(
        [
            {"sharedById": sharer.id, "sharedWithId": me.id, "inTimeline": False},
            {"sharedById": me.id, "sharedWithId": shared_with.id, "inTimeline": False},
        ],
        key=str,
    )
    phone.ack(lines)
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]

    r = me.client.put(f"/api/partners/{sharer.id}", json={"inTimeline": True})
    assert r.status_code == 200, r.text
    assert third.client.delete(f"/api/partners/{fourth.id}").status_code == 204
    lines = phone.sync(TYPES)
    assert [x["data"] for x in lines[:-1]] == [
        {"sharedById": sharer.id, "sharedWithId": me.id, "inTimeline": True}
    ], lines
    phone.ack(lines)
    phone.ack(lines)  # a re-sent ack is harmless
    assert _types(phone.sync(TYPES)) == ["SyncCompleteV1"]


def test_no_partner_delete_for_a_purged_user(stack: Stack, admin: User) -> None:
    me, sharer = make_user(stack, admin), make_user(stack, admin)
    _partner(sharer, me)
    r = admin.client.request("DELETE", f"/api/admin/users/{sharer.id}", json={"force": True})
    assert r.status_code == 200, r.text
    assert _types(Device(stack, me).sync(TYPES)) == ["SyncCompleteV1"]
