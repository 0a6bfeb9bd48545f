"""The sync stream's users that an admin deleted: soft-deleted is a ``UserV1`` with
``deletedAt``, purged is a ``UserDeleteV1``.

Immich (server/src/repositories/sync.repository.ts, ``UserSync``): ``getUpserts`` selects every
row of ``user`` changed since the ack, deleted ones included (no ``deletedAt`` filter; the query
in server/src/queries/sync.repository.sql reads ``"user"`` with the update id alone), and
``getDeletes`` reads ``user_audit``, which only the ``user_delete_audit`` trigger writes
(server/src/schema/functions.ts: ``AFTER DELETE`` on ``user``). An admin's soft delete
(user-admin.service ``delete``: ``status`` and ``deletedAt`` updated, which bumps ``updateId``)
therefore reaches every device as a ``UserV1`` whose ``deletedAt`` is set; a restore as a
``UserV1`` with ``deletedAt`` null again; only the purge (force delete, or the nightly removal)
sends ``UserDeleteV1``. The partnership of a soft-deleted user is untouched (no
``PartnerDeleteV1``), as Immich's partner rows go only with the user row.
"""

from __future__ import annotations

from typing import Any

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device

TYPES = ["UsersV1", "PartnersV1"]


def _user_lines(lines: list[dict[str, Any]], user_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of the user lines (upsert or delete) about ``user_id``, in stream order."""
    return [
        (line["type"], line["data"])
        for line in lines
        if line["type"] in ("UserV1", "UserDeleteV1")
        and user_id in (line["data"].get("id"), line["data"].get("userId"))
    ]


def test_soft_deleted_user_is_a_user_row_with_deleted_at(stack: Stack, admin: User) -> None:
    """Soft delete: ``UserV1`` with ``deletedAt`` (incremental and on a first sync), no
    ``UserDeleteV1``, the partnership kept; restore: ``UserV1`` with ``deletedAt`` null."""
    viewer = make_user(stack, admin)
    gone = make_user(stack, admin)
    r = gone.client.post(f"/api/partners/{viewer.id}", json={})
    assert r.status_code == 201, r.text
    phone = Device(stack, viewer)
    before = phone.sync_and_ack(TYPES)
    assert [t for t, _ in _user_lines(before, gone.id)] == ["UserV1"]

    r = admin.client.request("DELETE", f"/api/admin/users/{gone.id}", json={"force": False})
    assert r.status_code == 200, r.text
    assert r.json()["deletedAt"]

    lines = phone.sync(TYPES)
    about = _user_lines(lines, gone.id)
    assert [t for t, _ in about] == ["UserV1"], about
    assert about[0][1]["deletedAt"] == r.json()["deletedAt"]
    assert about[0][1]["email"] == gone.email
    assert not [x for x in lines if x["type"] == "PartnerDeleteV1"]
    phone.ack(lines)

    fresh = Device(stack, viewer).sync(TYPES)  # a new device: its first sync lists them too
    about = _user_lines(fresh, gone.id)
    assert [t for t, _ in about] == ["UserV1"] and about[0][1]["deletedAt"], about
    assert any(x["type"] == "PartnerV1" and x["data"]["sharedById"] == gone.id for x in fresh), (
        fresh
    )

    r = admin.client.post(f"/api/admin/users/{gone.id}/restore")
    assert r.status_code == 200, r.text
    about = _user_lines(phone.sync_and_ack(TYPES), gone.id)
    assert [t for t, _ in about] == ["UserV1"] and about[0][1]["deletedAt"] is None, about


def test_purged_user_is_a_user_delete(stack: Stack, admin: User) -> None:
    """A force delete (the user row goes) sends ``UserDeleteV1`` and no ``UserV1``; a device
    that never saw the user gets nothing of them but that deletion."""
    viewer = make_user(stack, admin)
    gone = make_user(stack, admin)
    phone = Device(stack, viewer)
    assert [t for t, _ in _user_lines(phone.sync_and_ack(TYPES), gone.id)] == ["UserV1"]

    r = admin.client.request("DELETE", f"/api/admin/users/{gone.id}", json={"force": True})
    assert r.status_code == 200, r.text

    about = _user_lines(phone.sync_and_ack(TYPES), gone.id)
    assert about == [("UserDeleteV1", {"userId": gone.id})], about
    assert phone.sync(TYPES)[-1]["type"] == "SyncCompleteV1"
    assert not _user_lines(phone.sync(TYPES), gone.id)
