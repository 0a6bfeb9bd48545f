"""Stacks and tags: behaviour of Immich 3.1 that no other test exercises.

* A stack's assets are only those the timelines show: not in the trash, not locked, not hidden
  (Immich: stack.repository ``withAssets`` filters ``deletedAt IS NULL`` and
  ``withDefaultVisibility``, archive or timeline); so ``GET /api/stacks/{id}`` and
  ``GET /api/stacks`` leave such members out, and ``PUT /api/stacks/{id}`` refuses one as the
  primary with 400 "Primary asset must be in the stack" (stack.service ``update`` checks
  ``stack.assets`` as loaded by ``getById``).
* ``PUT /api/stacks/{id}`` tells the owner's sockets ``on_asset_stack_update`` whatever the body
  (stack.service ``update`` always emits ``StackUpdate``; notification.service
  ``onStackUpdate`` sends it).
* Tagging and untagging an asset (``PUT``/``DELETE /api/tags/{id}/assets``,
  ``PUT /api/tags/assets``) tells its owner's sockets ``on_asset_update`` with the asset as it is
  now, its tags included (tag.service ``addAssets``/``removeAssets``/``bulkTagAssets`` emit
  ``AssetTag``/``AssetUntag``; metadata.service queues the sidecar write, whose re-extraction
  (source ``sidecar-write``) sends ``on_asset_update`` to the owner); another user's socket gets
  nothing.
* ``PUT /api/tags/assets`` tags a locked asset when the caller's session is unlocked with the
  PIN code (tag.service ``bulkTagAssets`` checks ``asset.update``, whose ``checkOwnerAccess``
  counts locked assets for an elevated session), never with an API key, nor another user's;
  ``PUT /api/tags/{id}/assets`` still refuses a locked asset (``asset.share`` ignores the
  elevation: ``checkOwnerAccess(..., false)``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed
from tests.test_socketio import Listener, listeners  # noqa: F401 - listeners is a fixture

PIN = "123456"
#: How long a socket waits for an event it should get (polled, not slept).
EVENT_S = 30.0


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text)
    return r.json() if r.content else None


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user, so stacks and tags of other modules do not mix in."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def photos(owner: User) -> list[str]:
    """Eight processed photos of the owner."""
    ids = [upload_jpeg(owner, noise_jpeg(7100 + i)) for i in range(8)]
    wait_processed(owner, ids)
    return ids


def session_of(stack: Stack, user: User) -> httpx.Client:
    """A signed-in session of ``user`` (Bearer token): only a session can be unlocked."""
    login = httpx.post(
        f"{stack.url}/api/auth/login",
        json={"email": user.email, "password": user.password},
        timeout=60,
    )
    assert login.status_code == 201, login.text
    token = login.json()["accessToken"]
    return httpx.Client(
        base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )


async def wait_for(listener: Listener, name: str, match: Callable[[Any], bool]) -> Any:
    """The first ``name`` event of ``listener`` whose payload ``match``es, within EVENT_S."""
    deadline = time.monotonic() + EVENT_S
    while time.monotonic() < deadline:
        for data in listener.of(name):
            if match(data):
                return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"no matching {name} in {EVENT_S} s; got {[e for e, _ in listener.got]}")


async def connected(make: Callable[[], Listener], stack: Stack, user: User) -> Listener:
    listener = make()
    listener.sio.on("on_asset_stack_update", listener._recorder("on_asset_stack_update"))
    await listener.connect(stack.url, {"x-api-key": user.api_key})
    await wait_for(listener, "on_server_version", lambda _: True)
    return listener


def test_stack_leaves_out_trashed_locked_and_hidden_members(
    stack: Stack, owner: User, photos: list[str]
) -> None:
    a, b, locked, hidden, trashed = photos[:5]
    made = ok(
        owner.client.post("/api/stacks", json={"assetIds": [a, b, locked, hidden, trashed]}), 201
    )
    sid = made["id"]
    assert made["assets"][0]["id"] == a  # the primary first, the others in no set order
    assert {x["id"] for x in made["assets"]} == {a, b, locked, hidden, trashed}
    db_rows(stack, "UPDATE assets SET visibility = 'locked' WHERE id = $1::uuid", locked)
    db_rows(stack, "UPDATE assets SET visibility = 'hidden' WHERE id = $1::uuid", hidden)
    ok(owner.client.request("DELETE", "/api/assets", json={"ids": [trashed]}), 204)

    assert [x["id"] for x in ok(owner.client.get(f"/api/stacks/{sid}"))["assets"]] == [a, b]
    found = ok(owner.client.get("/api/stacks", params={"primaryAssetId": a}))
    assert [[x["id"] for x in s["assets"]] for s in found] == [[a, b]]
    for other in (locked, hidden, trashed):
        r = owner.client.put(f"/api/stacks/{sid}", json={"primaryAssetId": other})
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "Primary asset must be in the stack"
    assert ok(owner.client.get(f"/api/stacks/{sid}"))["primaryAssetId"] == a
    moved = ok(owner.client.put(f"/api/stacks/{sid}", json={"primaryAssetId": b}))
    assert [x["id"] for x in moved["assets"]] == [b, a]
    ok(owner.client.delete(f"/api/stacks/{sid}"), 204)


async def test_stack_update_always_tells_the_owner(
    stack: Stack,
    owner: User,
    stranger: User,
    photos: list[str],
    listeners: Any,  # noqa: F811
) -> None:
    a, b = photos[5], photos[6]
    made = await asyncio.to_thread(
        lambda: ok(owner.client.post("/api/stacks", json={"assetIds": [a, b]}), 201)
    )
    mine, theirs = (
        await connected(listeners, stack, owner),
        await connected(listeners, stack, stranger),
    )
    for body in ({}, {"primaryAssetId": a}):  # nothing to change: Immich still emits StackUpdate
        before = len(mine.of("on_asset_stack_update"))
        await asyncio.to_thread(
            lambda body=body: ok(owner.client.put(f"/api/stacks/{made['id']}", json=body))
        )
        await wait_for(
            mine,
            "on_asset_stack_update",
            lambda _, n=before: len(mine.of("on_asset_stack_update")) > n,
        )
    assert theirs.of("on_asset_stack_update") == []
    await asyncio.to_thread(lambda: ok(owner.client.delete(f"/api/stacks/{made['id']}"), 204))


async def test_tagging_tells_the_owner(
    stack: Stack,
    owner: User,
    stranger: User,
    photos: list[str],
    listeners: Any,  # noqa: F811
) -> None:
    a, b = photos[6], photos[7]
    tag = await asyncio.to_thread(
        lambda: ok(owner.client.post("/api/tags", json={"name": "Socket"}), 201)
    )
    mine, theirs = (
        await connected(listeners, stack, owner),
        await connected(listeners, stack, stranger),
    )

    def tagged_with(asset_id: str, values: list[str]) -> Callable[[Any], bool]:
        return lambda d: d["id"] == asset_id and [t["value"] for t in d["tags"]] == values

    results = await asyncio.to_thread(
        lambda: ok(owner.client.put(f"/api/tags/{tag['id']}/assets", json={"ids": [a]}))
    )
    assert results == [{"id": a, "success": True}]
    await wait_for(mine, "on_asset_update", tagged_with(a, ["Socket"]))

    results = await asyncio.to_thread(
        lambda: ok(
            owner.client.request("DELETE", f"/api/tags/{tag['id']}/assets", json={"ids": [a]})
        )
    )
    assert results == [{"id": a, "success": True}]
    await wait_for(mine, "on_asset_update", tagged_with(a, []))

    body = {"tagIds": [tag["id"]], "assetIds": [b]}
    assert await asyncio.to_thread(lambda: ok(owner.client.put("/api/tags/assets", json=body))) == {
        "count": 1
    }
    await wait_for(mine, "on_asset_update", tagged_with(b, ["Socket"]))
    assert theirs.of("on_asset_update") == []


def test_bulk_tag_assets_honours_an_unlocked_session(
    stack: Stack, owner: User, stranger: User, photos: list[str]
) -> None:
    secret = upload_jpeg(owner, noise_jpeg(7200))
    wait_processed(owner, [secret])
    session = session_of(stack, owner)
    ok(session.post("/api/auth/pin-code", json={"pinCode": PIN}), 204)
    ok(session.post("/api/auth/session/unlock", json={"pinCode": PIN}), 204)
    ok(session.put("/api/assets", json={"ids": [secret], "visibility": "locked"}), 204)
    tag = ok(owner.client.post("/api/tags", json={"name": "Vault"}), 201)
    body = {"tagIds": [tag["id"]], "assetIds": [secret]}

    # an API key is never elevated; asset.share (PUT /tags/{id}/assets) ignores the elevation
    assert ok(owner.client.put("/api/tags/assets", json=body)) == {"count": 0}
    single = ok(session.put(f"/api/tags/{tag['id']}/assets", json={"ids": [secret]}))
    assert single == [{"id": secret, "success": False, "error": "no_permission"}]
    # a stranger, with their own tag, cannot tag the owner's locked photo
    theirs = ok(stranger.client.post("/api/tags", json={"name": "Vault"}), 201)
    stolen = {"tagIds": [theirs["id"]], "assetIds": [secret]}
    assert ok(stranger.client.put("/api/tags/assets", json=stolen)) == {"count": 0}

    assert ok(session.put("/api/tags/assets", json=body)) == {"count": 1}
    shown = ok(session.get(f"/api/assets/{secret}"))
    assert [t["value"] for t in shown["tags"]] == ["Vault"]
    session.close()
