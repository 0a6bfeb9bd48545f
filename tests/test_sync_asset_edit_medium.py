"""Replays Immich's server/test/medium/specs/sync/sync-asset-edit.spec.ts over HTTP.

What is checked: replacing an asset's edits (PUT /api/assets/{id}/edits) sends the old edit
as ``AssetEditDeleteV1`` and the new one as ``AssetEditV1`` (``sequence`` 0, its parameters);
edits of several assets all come; acked, nothing comes again; a partner's edits never come in
the caller's ``AssetEditsV1``. The delete line carries ``editId`` as the 3.1 spec's
SyncAssetEditDeleteV1 (the replayed file's version has ``assetId``). (First edits, several
edits of one asset, removing all: tests/test_asset_edits.py.)
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device, upload_processed

CROP = {"action": "crop", "parameters": {"x": 10, "y": 20, "width": 30, "height": 20}}
NEW_CROP = {"action": "crop", "parameters": {"x": 5, "y": 6, "width": 40, "height": 30}}
ROTATE = {"action": "rotate", "parameters": {"angle": 270}}


def _edit(user: User, asset_id: str, *edits: dict) -> list[str]:
    r = user.client.put(f"/api/assets/{asset_id}/edits", json={"edits": list(edits)})
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()["edits"]]


def _data(lines: list[dict]) -> list[tuple[str, dict]]:
    assert lines[-1]["type"] == "SyncCompleteV1"
    return [(x["type"], x["data"]) for x in lines[:-1]]


def test_updated_edits_and_partner_edits(stack: Stack, admin: User) -> None:
    user, partner = make_user(stack, admin), make_user(stack, admin)
    r = partner.client.post("/api/partners", json={"sharedWithId": user.id})
    assert r.status_code == 201, r.text
    first, second = upload_processed(user), upload_processed(user)
    theirs = upload_processed(partner)
    [old] = _edit(user, first, CROP)
    [other] = _edit(user, second, ROTATE)
    _edit(partner, theirs, CROP)

    phone = Device(stack, user)
    lines = phone.sync(["AssetEditsV1"])
    got = sorted(_data(lines), key=lambda t: t[1]["id"])
    assert got == sorted(
        [
            ("AssetEditV1", {"id": old, "assetId": first, "sequence": 0, **CROP}),
            ("AssetEditV1", {"id": other, "assetId": second, "sequence": 0, **ROTATE}),
        ],
        key=lambda t: t[1]["id"],
    )
    phone.ack(lines)
    assert _data(phone.sync(["AssetEditsV1"])) == []

    [new] = _edit(user, first, NEW_CROP)
    lines = phone.sync(["AssetEditsV1"])
    assert _data(lines) == [
        ("AssetEditDeleteV1", {"editId": old}),
        ("AssetEditV1", {"id": new, "assetId": first, "sequence": 0, **NEW_CROP}),
    ]
    phone.ack(lines)
    assert _data(phone.sync(["AssetEditsV1"])) == []
