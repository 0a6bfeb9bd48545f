"""The mobile app's sync protocol (POST /api/sync/stream, /api/sync/ack) over HTTP.

What this proves: a session's first sync returns the user's own user row, assets, EXIF and albums
(with their members and assets) as JSON lines with the spec's field names; acknowledged changes
are not sent again; a favourite, an album addition and a permanent delete come back as exactly
those changes (including delete lines); another user never gets the first user's assets, until
an album is shared with them, which brings the album, its members and its assets (as album
assets), and unsharing sends the album's deletion; acks can be listed and forgotten; a pending
reset sends only SyncResetV1 until the app streams with ``reset``; API keys are refused.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import httpx
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user

SPEC_FIELDS = {
    "AuthUserV1": {
        "id", "name", "email", "avatarColor", "deletedAt", "hasProfileImage", "profileChangedAt",
        "isAdmin", "oauthId", "pinCode", "quotaSizeInBytes", "quotaUsageInBytes", "storageLabel",
    },
    "UserV1": {
        "id", "name", "email", "avatarColor", "deletedAt", "hasProfileImage", "profileChangedAt",
    },
    "AssetV1": {
        "checksum", "createdAt", "deletedAt", "duration", "fileCreatedAt", "fileModifiedAt",
        "height", "id", "isEdited", "isFavorite", "libraryId", "livePhotoVideoId",
        "localDateTime", "originalFileName", "ownerId", "stackId", "thumbhash", "type",
        "visibility", "width",
    },
    "AssetExifV1": {
        "assetId", "city", "country", "dateTimeOriginal", "description", "exifImageHeight",
        "exifImageWidth", "exposureTime", "fNumber", "fileSizeInByte", "focalLength", "fps",
        "iso", "latitude", "lensModel", "longitude", "make", "model", "modifyDate",
        "orientation", "profileDescription", "projectionType", "rating", "state", "timeZone",
    },
    "AlbumV1": {
        "createdAt", "description", "id", "isActivityEnabled", "name", "order", "ownerId",
        "thumbnailAssetId", "updatedAt",
    },
    "AlbumToAssetV1": {"albumId", "assetId"},
    "AlbumUserV1": {"albumId", "role", "userId"},
}  # fmt: skip

ALL_TYPES = [
    "AuthUsersV1",
    "UsersV1",
    "AssetsV1",
    "AssetExifsV1",
    "AlbumsV1",
    "AlbumUsersV1",
    "AlbumToAssetsV1",
    "AlbumAssetsV1",
    "AlbumAssetExifsV1",
]


class Device:
    """A signed-in mobile app: a session token (Bearer), as the app logs in."""

    def __init__(self, stack: Stack, user: User) -> None:
        login = httpx.post(
            f"{stack.url}/api/auth/login",
            json={"email": user.email, "password": user.password},
            timeout=60,
        )
        assert login.status_code == 201, login.text
        self.user = user
        self.client = httpx.Client(
            base_url=stack.url,
            headers={"Authorization": f"Bearer {login.json()['accessToken']}"},
            timeout=60,
        )

    def sync(self, types: list[str] | None = None, *, reset: bool = False) -> list[dict[str, Any]]:
        """POST /api/sync/stream; the parsed lines."""
        body: dict[str, Any] = {"types": types or ALL_TYPES}
        if reset:
            body["reset"] = True
        r = self.client.post("/api/sync/stream", json=body)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/jsonlines+json")
        return [json.loads(line) for line in r.text.splitlines() if line]

    def ack(self, lines: list[dict[str, Any]]) -> None:
        """POST the last ack of each type, as the app does after storing a batch."""
        last = {line["type"]: line["ack"] for line in lines}
        r = self.client.post("/api/sync/ack", json={"acks": list(last.values())})
        assert r.status_code == 204, r.text

    def sync_and_ack(self, types: list[str] | None = None) -> list[dict[str, Any]]:
        lines = self.sync(types)
        self.ack(lines)
        return lines


def pairs(lines: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(type, main id) of every data line (the complete line left out)."""
    out = set()
    for line in lines:
        data = line["data"]
        if line["type"] == "SyncCompleteV1":
            continue
        if "albumId" in data and ("assetId" in data or "userId" in data):
            key = f"{data['albumId']}:{data.get('assetId') or data.get('userId')}"
        else:
            key = data.get("id") or data.get("assetId") or data.get("albumId") or data["userId"]
        out.add((line["type"], key))
    return out


def jpeg() -> bytes:
    """A small JPEG of random pixels (so each has its own SHA-1)."""
    image = pyvips.Image.new_from_memory(os.urandom(64 * 48 * 3), 64, 48, 3, "uchar")
    return bytes(image.jpegsave_buffer(Q=90))


def upload_processed(user: User, timeout: float = 90) -> str:
    """Upload a fresh JPEG and wait until the pipeline has written its EXIF and thumbhash (so
    that nothing changes it behind the test's back); its asset id."""
    r = user.client.post(
        "/api/assets",
        files={"assetData": ("gen.jpg", jpeg(), "image/jpeg")},
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "pytest",
            "fileCreatedAt": "2020-01-01T00:00:00.000Z",
            "fileModifiedAt": "2020-01-01T00:00:00.000Z",
        },
    )
    assert r.status_code == 201, r.text
    asset_id = str(r.json()["id"])
    deadline = time.monotonic() + timeout
    while True:
        info = user.client.get(f"/api/assets/{asset_id}").json()
        if info.get("thumbhash") and info.get("exifInfo"):
            return asset_id
        assert time.monotonic() < deadline, f"asset {asset_id} not processed: {info}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def alice(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def bob(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def library(alice: User) -> dict[str, str]:
    """Alice's three processed assets and an album holding a1 and a3."""
    ids = {name: upload_processed(alice) for name in ("a1", "a2", "a3")}
    r = alice.client.post(
        "/api/albums", json={"albumName": "Trip", "assetIds": [ids["a1"], ids["a3"]]}
    )
    assert r.status_code == 201, r.text
    return ids | {"album": r.json()["id"]}


def test_api_keys_are_refused(alice: User) -> None:
    r = alice.client.post("/api/sync/stream", json={"types": ["AssetsV1"]})
    assert r.status_code == 403, r.text
    assert alice.client.get("/api/sync/ack").status_code == 403
    r = alice.client.post("/api/sync/ack", json={"acks": []})
    assert r.status_code == 403


def test_first_sync_then_only_changes(
    stack: Stack, alice: User, bob: User, library: dict[str, str]
) -> None:
    phone = Device(stack, alice)
    a1, a2, a3, album = library["a1"], library["a2"], library["a3"], library["album"]

    lines = phone.sync()
    assert lines[-1]["type"] == "SyncCompleteV1"
    for line in lines:
        assert set(line) == {"type", "data", "ack"}
        if line["type"] in SPEC_FIELDS:
            assert set(line["data"]) == SPEC_FIELDS[line["type"]], line
    got = pairs(lines)
    assert {p for p in got if p[0] == "AuthUserV1"} == {("AuthUserV1", alice.id)}
    assert {("UserV1", alice.id), ("UserV1", bob.id)} <= got
    assert {p for p in got if p[0] == "AssetV1"} == {("AssetV1", i) for i in (a1, a2, a3)}
    assert {p for p in got if p[0] == "AssetExifV1"} == {("AssetExifV1", i) for i in (a1, a2, a3)}
    assert {p for p in got if p[0].startswith("Album")} == {
        ("AlbumV1", album),
        ("AlbumUserV1", f"{album}:{alice.id}"),  # the owner, role "owner", as Immich 3.x
        ("AlbumToAssetV1", f"{album}:{a1}"),
        ("AlbumToAssetV1", f"{album}:{a3}"),
        # own assets are album assets too, as Immich's AlbumAssetSync
        *{(t, i) for t in ("AlbumAssetCreateV1", "AlbumAssetExifCreateV1") for i in (a1, a3)},
    }
    auth_user = next(x["data"] for x in lines if x["type"] == "AuthUserV1")
    assert auth_user["email"] == alice.email and auth_user["isAdmin"] is False
    assert auth_user["quotaUsageInBytes"] > 0
    asset = next(x["data"] for x in lines if x["type"] == "AssetV1" and x["data"]["id"] == a1)
    assert asset["ownerId"] == alice.id and asset["type"] == "IMAGE"
    assert asset["visibility"] == "timeline" and asset["isFavorite"] is False
    assert asset["deletedAt"] is None and asset["thumbhash"] and len(asset["checksum"]) == 28
    assert asset["fileCreatedAt"].startswith("2020-01-01T00:00:00")
    exif = next(x["data"] for x in lines if x["type"] == "AssetExifV1")
    assert exif["exifImageWidth"] == 64 and exif["exifImageHeight"] == 48
    synced_album = next(x["data"] for x in lines if x["type"] == "AlbumV1")
    assert synced_album["name"] == "Trip" and synced_album["ownerId"] == alice.id
    # positions only grow within a type, so the app can resume from any line
    assets = [x["ack"] for x in lines if x["type"] == "AssetV1"]
    assert [int(a.split("|")[1]) for a in assets] == sorted(int(a.split("|")[1]) for a in assets)

    phone.ack(lines)
    assert [x["type"] for x in phone.sync()] == ["SyncCompleteV1"]

    # favourite a1, add a2 to the album, delete a3 for good
    r = alice.client.put(f"/api/assets/{a1}", json={"isFavorite": True})
    assert r.status_code == 200, r.text
    r = alice.client.put(f"/api/albums/{album}/assets", json={"ids": [a2]})
    assert r.status_code == 200, r.text
    r = alice.client.request("DELETE", "/api/assets", json={"ids": [a3], "force": True})
    assert r.status_code == 204, r.text

    lines = phone.sync()
    got = pairs(lines)
    # the album changed too (its AlbumV1 and its owner's AlbumUserV1 come again)
    owner_row = ("AlbumUserV1", f"{album}:{alice.id}")
    assert {p for p in got if p[0] != "AlbumV1" and p != owner_row} == {
        ("AssetV1", a1),
        ("AssetDeleteV1", a3),
        ("AlbumToAssetV1", f"{album}:{a2}"),
        ("AlbumToAssetDeleteV1", f"{album}:{a3}"),
        ("AlbumAssetCreateV1", a1),  # the favourite, and a2 now in the album
        ("AlbumAssetCreateV1", a2),
        ("AlbumAssetExifCreateV1", a2),
        # the delete lowered alice's quota usage: her user row changed too
        ("AuthUserV1", alice.id),
        ("UserV1", alice.id),
    }
    assert next(x["data"] for x in lines if x["type"] == "AssetV1")["isFavorite"] is True
    usage = next(x["data"] for x in lines if x["type"] == "AuthUserV1")["quotaUsageInBytes"]
    assert usage < auth_user["quotaUsageInBytes"]
    # deletions come before upserts of the same request type
    types = [x["type"] for x in lines]
    assert types.index("AssetDeleteV1") < types.index("AssetV1")
    phone.ack(lines)
    assert [x["type"] for x in phone.sync()] == ["SyncCompleteV1"]

    # another session of the same user has its own checkpoints: it gets everything
    tablet = Device(stack, alice)
    got = pairs(tablet.sync(["AssetsV1"]))
    assert got == {("AssetV1", a1), ("AssetV1", a2), ("AssetDeleteV1", a3)}


def test_sharing_shows_album_and_its_assets_to_member_only(
    stack: Stack, alice: User, bob: User, library: dict[str, str]
) -> None:
    bobs_phone = Device(stack, bob)
    mine = upload_processed(bob)
    alice_assets = {library["a1"], library["a2"], library["a3"]}
    album = library["album"]

    lines = bobs_phone.sync_and_ack()
    ids = {key.split(":")[-1] for _, key in pairs(lines)}
    assert ("AssetV1", mine) in pairs(lines)
    assert not ids & alice_assets and album not in ids

    # alice's album (created before bob could see it) is shared: everything in it comes now
    r = alice.client.put(
        f"/api/albums/{album}/users", json={"albumUsers": [{"userId": bob.id, "role": "viewer"}]}
    )
    assert r.status_code == 200, r.text
    # what bob may open now is exactly what the album holds
    in_album = {a for a in alice_assets if bob.client.get(f"/api/assets/{a}").status_code == 200}
    assert in_album and in_album <= alice_assets
    lines = bobs_phone.sync_and_ack()
    got = pairs(lines)
    assert ("AlbumV1", album) in got
    assert ("AlbumUserV1", f"{album}:{bob.id}") in got
    assert ("AlbumUserV1", f"{album}:{alice.id}") in got
    album_assets = {key.split(":")[1] for t, key in got if t == "AlbumToAssetV1"}
    assert album_assets == in_album
    assert {key for t, key in got if t == "AlbumAssetCreateV1"} == album_assets
    assert {key for t, key in got if t == "AlbumAssetExifCreateV1"} == album_assets
    assert not [p for p in got if p[0] == "AssetV1"], "alice's assets are not bob's own"
    roles = {x["data"]["userId"]: x["data"]["role"] for x in lines if x["type"] == "AlbumUserV1"}
    assert roles == {alice.id: "owner", bob.id: "viewer"}

    # unsharing tells bob the album is gone
    r = alice.client.delete(f"/api/albums/{album}/user/{bob.id}")
    assert r.status_code == 204, r.text
    assert ("AlbumDeleteV1", album) in pairs(bobs_phone.sync_and_ack())
    assert [x["type"] for x in bobs_phone.sync()] == ["SyncCompleteV1"]


def test_acks_list_delete_and_reset(stack: Stack, bob: User) -> None:
    phone = Device(stack, bob)
    assert phone.client.get("/api/sync/ack").json() == []
    lines = phone.sync_and_ack(["AuthUsersV1", "AssetsV1"])
    acks = phone.client.get("/api/sync/ack")
    assert acks.status_code == 200 and acks.headers["content-type"].startswith("application/json")
    assert {a["type"] for a in acks.json()} == {"AuthUserV1", "AssetV1", "SyncCompleteV1"}
    last_asset = [x["ack"] for x in lines if x["type"] == "AssetV1"][-1]
    assert {"type": "AssetV1", "ack": last_asset} in acks.json()

    for bad in ("NotAType|1|x", "AssetV1|99999999999999999999|x", "AssetV1", "AssetV1|-1|x"):
        r = phone.client.post("/api/sync/ack", json={"acks": [bad]})
        assert r.status_code == 400, bad

    # forgetting the AssetV1 checkpoint sends the assets again, and only them
    r = phone.client.request("DELETE", "/api/sync/ack", json={"types": ["AssetV1"]})
    assert r.status_code == 204
    again = phone.sync(["AuthUsersV1", "AssetsV1"])
    assert {x["type"] for x in again} == {"AssetV1", "SyncCompleteV1"}

    # a reset asked for through the sessions API: only SyncResetV1 until reset: true
    sessions = phone.client.get("/api/sessions").json()
    current = next(s["id"] for s in sessions if s["current"])
    r = phone.client.put(f"/api/sessions/{current}", json={"isPendingSyncReset": True})
    assert r.status_code == 200, r.text
    assert [x["type"] for x in phone.sync(["AssetsV1"])] == ["SyncResetV1"]
    fresh = phone.sync(["AuthUsersV1"], reset=True)
    assert [x["type"] for x in fresh] == ["AuthUserV1", "SyncCompleteV1"]
    assert phone.client.get("/api/sync/ack").json() == []

    r = phone.client.request("DELETE", "/api/sync/ack", json={})
    assert r.status_code == 204
