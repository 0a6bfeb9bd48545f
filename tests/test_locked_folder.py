"""PIN code and locked folder (issue #18 item 2), through HTTP against the running stack.

What this proves, as Immich 3.1 answers it (``AuthService``, ``requireElevatedPermission``,
``checkOwnerAccess(..., hasElevatedPermission)``):

- the PIN code is set once (six digits), changed with the old PIN, reset with the password;
  a wrong PIN is 400 ``Wrong PIN code`` and PIN checks are throttled like logins (429);
- ``POST /api/auth/session/unlock`` unlocks only the calling session (``isElevated``,
  ``pinExpiresAt``), ``/session/lock`` ends it, and so does the unlock's end;
- moving an asset into the locked folder needs an unlocked session (401); it then leaves its
  album and shared link;
- a locked asset is absent from every listing (timeline buckets, search metadata/random/
  statistics/explore, albums, shared links, a partner's timeline and sync, map markers) and
  every id-taking route refuses it (the route list of ``tests/test_error_bodies.py``), for its
  owner too, until the owner's session is unlocked; the locked folder (``visibility=locked``)
  is then listed, and hidden again after lock;
- the PIN never reaches a log file.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload, upload_jpeg, wait_processed
from .test_assets_timeline import make_mp4
from .test_sync import Device

#: The owner's PIN: starts with 0, so no number a log prints (pids, ports, sizes) can be it.
PIN = "042917"
WRONG_PIN = "111111"
ELEVATION_REQUIRED = {"message": "Elevated permission is required"}


def _session(stack: Stack, user: User) -> httpx.Client:
    """A signed-in session of ``user`` (Bearer token): only sessions can be unlocked."""
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


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text)
    return r.json() if r.content else None


@pytest.fixture(scope="module")
def world(
    stack: Stack, admin: User, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """An owner (API key and a session with the PIN set) with two placed photos, both in an
    album and a shared link, the first a live photo (its motion part a video); a partner the
    owner shares with (in their timeline)."""
    owner, partner = make_user(stack, admin), make_user(stack, admin)
    session = _session(stack, owner)
    _ok(session.post("/api/auth/pin-code", json={"pinCode": PIN}), 204)
    secret, plain = upload_jpeg(owner, noise_jpeg(1)), upload_jpeg(owner, noise_jpeg(2))
    clip = make_mp4(tmp_path_factory.mktemp("motion") / "motion.mp4")
    motion = _ok(upload(owner, Path("motion.mp4"), data=clip), 201)["id"]
    wait_processed(owner, [secret, plain, motion])
    _ok(owner.client.put(f"/api/assets/{secret}", json={"livePhotoVideoId": motion}))
    for asset_id in (secret, plain):  # on the map
        _ok(
            owner.client.put(f"/api/assets/{asset_id}", json={"latitude": 48.85, "longitude": 2.35})
        )
    album = _ok(
        owner.client.post("/api/albums", json={"albumName": "L", "assetIds": [secret, plain]}), 201
    )
    link = _ok(
        owner.client.post(
            "/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [secret, plain]}
        ),
        201,
    )
    person = _ok(owner.client.post("/api/people", json={"name": "Someone"}), 201)
    face = {"assetId": secret, "personId": person["id"], "imageWidth": 64, "imageHeight": 48}
    face |= {"x": 4, "y": 4, "width": 20, "height": 20}
    _ok(owner.client.post("/api/faces", json=face), 201)
    _ok(owner.client.post("/api/partners", json={"sharedWithId": partner.id}), 201)
    _ok(partner.client.put(f"/api/partners/{owner.id}", json={"inTimeline": True}))
    anon = httpx.Client(base_url=stack.url, timeout=60)
    yield {
        "owner": owner,
        "session": session,
        "partner": partner,
        "secret": secret,
        "plain": plain,
        "motion": motion,
        "album": album["id"],
        "key": link["key"],
        "anon": anon,
    }
    session.close()
    anon.close()


def _bucket_ids(client: httpx.Client, **params: Any) -> set[str]:
    buckets = client.get("/api/timeline/buckets", params=params)
    ids: set[str] = set()
    for bucket in _ok(buckets):
        page = client.get(
            "/api/timeline/bucket", params={**params, "timeBucket": bucket["timeBucket"]}
        )
        ids |= set(_ok(page)["id"])
    return ids


def _search_ids(client: httpx.Client, **body: Any) -> set[str]:
    found = _ok(client.post("/api/search/metadata", json={"size": 1000, **body}))
    return {a["id"] for a in found["assets"]["items"]}


def _listed(w: dict[str, Any]) -> dict[str, set[str]]:
    """Every listing the issue names, as the owner (key and session), the partner and the
    link's visitor see them: name -> asset ids."""
    owner, session, partner, anon = w["owner"].client, w["session"], w["partner"].client, w["anon"]
    link = _ok(anon.get("/api/shared-links/me", params={"key": w["key"]}))
    random = _ok(owner.post("/api/search/random", json={"size": 100}))
    return {
        "timeline (key)": _bucket_ids(owner),
        "timeline (session)": _bucket_ids(session),
        "search (key)": _search_ids(owner),
        "search (session)": _search_ids(session),
        "random search": {a["id"] for a in random},
        "album": _bucket_ids(owner, albumId=w["album"]),
        "shared link": {a["id"] for a in link["assets"]},
        "partner timeline": _bucket_ids(partner, withPartners="true", visibility="timeline"),
        "partner search": _search_ids(partner),
        "map markers": {m["id"] for m in _ok(owner.get("/api/map/markers"))},
        "partner map": {
            m["id"] for m in _ok(partner.get("/api/map/markers", params={"withPartners": "true"}))
        },
    }


#: (method, path, body, permission) of the id-taking asset routes (tests/test_error_bodies.py's
#: list and the bulk routes): each refuses a locked asset as it refuses someone else's.
ID_ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", "/api/assets/{id}", None, "asset.read"),
    ("PUT", "/api/assets/{id}", {"isFavorite": True}, "asset.update"),
    ("GET", "/api/assets/{id}/original", None, "asset.download"),
    ("GET", "/api/assets/{id}/thumbnail", None, "asset.view"),
    ("GET", "/api/assets/{id}/video/playback", None, "asset.view"),
    ("PUT", "/api/assets", {"ids": ["{id}"], "isFavorite": True}, "asset.update"),
    ("DELETE", "/api/assets", {"ids": ["{id}"]}, "asset.delete"),
    ("GET", "/api/assets/{id}/metadata", None, "asset.read"),
    ("POST", "/api/download/info", {"assetIds": ["{id}"]}, "asset.download"),
]


def _refuses(client: httpx.Client, asset_id: str) -> list[str]:
    """The id-taking routes that do NOT refuse ``asset_id`` (empty: all refuse)."""
    wrong = []
    for method, path, body, permission in ID_ROUTES:
        sent = (
            None
            if body is None
            else {k: [asset_id] if v == ["{id}"] else v for k, v in body.items()}
        )
        r = client.request(method, path.format(id=asset_id), json=sent)
        if r.status_code != 400 or r.json() != {"message": f"Not found or no {permission} access"}:
            wrong.append(f"{method} {path}: {r.status_code} {r.text[:80]}")
    return wrong


def _set_pin_expiry(stack: Stack, session: httpx.Client, seconds_from_now: float) -> None:
    """Move the session's unlock end (the database is the real one; nothing is mocked)."""
    token = session.headers["Authorization"].removeprefix("Bearer ")

    async def run() -> None:
        conn = await asyncpg.connect(stack.postgres.url)  # type: ignore[union-attr]
        try:
            await conn.execute(
                "UPDATE sessions SET pin_expires_at = now() + make_interval(secs => $2) "
                "WHERE token_hash = $1",
                hashlib.sha256(token.encode()).hexdigest(),
                seconds_from_now,
            )
        finally:
            await conn.close()

    asyncio.run(run())


def test_locked_asset_is_hidden_everywhere_until_the_session_is_unlocked(
    stack: Stack, world: dict[str, Any]
) -> None:
    w = world
    owner, session, secret, plain = w["owner"], w["session"], w["secret"], w["plain"]
    before = _listed(w)
    for name, ids in before.items():
        assert {secret, plain} <= ids, f"{name} lacks the photos before locking"

    # moving into the locked folder needs an unlocked session: an API key never is one
    lock = {"ids": [secret], "visibility": "locked"}
    assert owner.client.put("/api/assets", json=lock).json() == ELEVATION_REQUIRED
    refused = session.put("/api/assets", json=lock)
    assert refused.status_code == 401 and refused.json() == ELEVATION_REQUIRED
    wrong = session.post("/api/auth/session/unlock", json={"pinCode": WRONG_PIN})
    assert wrong.status_code == 400 and wrong.json() == {"message": "Wrong PIN code"}
    _ok(session.post("/api/auth/session/unlock", json={"pinCode": PIN}), 204)
    status = _ok(session.get("/api/auth/status"))
    assert status["isElevated"] is True and status["pinCode"] is True, status
    assert status["pinExpiresAt"], status
    assert _ok(owner.client.get("/api/auth/status"))["isElevated"] is False  # only that session
    _ok(session.put("/api/assets", json=lock), 204)
    _ok(session.post("/api/auth/session/lock"), 204)
    assert _ok(session.get("/api/auth/status"))["isElevated"] is False

    # locked: absent from every listing, for everyone; the album lost it as its thumbnail
    album = _ok(owner.client.get(f"/api/albums/{w['album']}"))
    assert album["albumThumbnailAssetId"] == plain and album["assetCount"] == 1, album
    after = _listed(w)
    for name, ids in after.items():
        assert secret not in ids, f"{name} still shows the locked asset"
        assert plain in ids, f"{name} lost the other photo"
    # ... from the partner's sync too (the app learns it left), and from explore/statistics
    partner_device = Device(stack, w["partner"])
    lines = partner_device.sync(["PartnerAssetsV1"])
    upserts = {
        x["data"]["id"] for x in lines if x["type"] in ("PartnerAssetV1", "PartnerAssetBackfillV1")
    }
    deleted = {x["data"]["assetId"] for x in lines if x["type"] == "PartnerAssetDeleteV1"}
    assert plain in upserts and secret not in upserts and secret in deleted, lines
    total = _ok(owner.client.post("/api/search/statistics", json={}))["total"]
    assert total == 1
    # ... and the owner's own sync sends it as Immich does: AssetV1 with visibility locked
    mine = Device(stack, owner).sync(["AssetsV1"])
    assert {x["data"]["visibility"] for x in mine if x["data"].get("id") == secret} == {"locked"}

    # the locked folder itself needs an unlocked session
    for r in (
        session.get("/api/timeline/buckets", params={"visibility": "locked"}),
        session.post("/api/search/metadata", json={"visibility": "locked"}),
        session.get("/api/assets/statistics", params={"visibility": "locked"}),
        owner.client.get("/api/timeline/buckets", params={"visibility": "locked"}),
    ):
        assert r.status_code == 401 and r.json() == ELEVATION_REQUIRED, r.text

    # its faces are not listed either (Immich: asset.read access on the id)
    assert session.get("/api/faces", params={"id": secret}).status_code == 400
    # every id-taking route refuses it and its motion part: owner (key and locked session),
    # partner, link visitor
    for client in (owner.client, session, w["partner"].client):
        assert _refuses(client, secret) == []
        assert _refuses(client, w["motion"]) == []
    assert w["anon"].get(f"/api/assets/{secret}", params={"key": w["key"]}).status_code == 400
    # it cannot be shared again, even by an unlocked owner
    _ok(session.post("/api/auth/session/unlock", json={"pinCode": PIN}), 204)
    added = _ok(session.put(f"/api/albums/{w['album']}/assets", json={"ids": [secret]}))
    assert [(a["id"], a["success"], a.get("error")) for a in added] == [
        (secret, False, "no_permission")
    ], added

    # unlocked: the locked folder lists it and the id routes reach it
    assert _bucket_ids(session, visibility="locked") == {secret}
    assert _search_ids(session, visibility="locked") == {secret}
    assert secret not in _bucket_ids(session)  # the main timeline still does not show it
    assert _ok(session.get(f"/api/assets/{secret}"))["visibility"] == "locked"
    assert session.get(f"/api/assets/{secret}/thumbnail").status_code == 200
    assert len(_ok(session.get("/api/faces", params={"id": secret}))) == 1
    assert _refuses(owner.client, secret) == []  # an API key is never unlocked

    # the unlock ends on its own: an expired unlock is a locked session
    _set_pin_expiry(stack, session, -1)
    assert _ok(session.get("/api/auth/status"))["isElevated"] is False
    assert _refuses(session, secret) == []
    # ... and one used shortly before its end is kept open for five minutes more
    _set_pin_expiry(stack, session, 30)
    extended = _ok(session.get("/api/auth/status"))
    assert extended["isElevated"] is True
    until = datetime.fromisoformat(extended["pinExpiresAt"].replace("Z", "+00:00"))
    assert until > datetime.now(UTC) + timedelta(minutes=4), extended
    _ok(session.get(f"/api/assets/{secret}"))

    # moving it out of the locked folder needs the unlocked session too; then it is back
    back = {"ids": [secret], "visibility": "timeline"}
    _ok(session.post("/api/auth/session/lock"), 204)
    assert session.put("/api/assets", json=back).status_code == 400
    _ok(session.post("/api/auth/session/unlock", json={"pinCode": PIN}), 204)
    _ok(session.put("/api/assets", json=back), 204)
    _ok(session.post("/api/auth/session/lock"), 204)
    assert secret in _bucket_ids(owner.client) and secret in _search_ids(w["partner"].client)
    motion = _ok(owner.client.get(f"/api/assets/{w['motion']}"))  # hidden again, not locked
    assert motion["visibility"] == "hidden"
    assert w["partner"].client.get(f"/api/assets/{w['motion']}").status_code == 200


def test_pin_code_setup_change_reset_and_throttle(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    with _session(stack, user) as session:
        status = _ok(session.get("/api/auth/status"))
        assert status["pinCode"] is False and status["isElevated"] is False
        assert "pinExpiresAt" not in status
        # unlock without a PIN set; an API key cannot unlock at all
        no_pin = session.post("/api/auth/session/unlock", json={"pinCode": PIN})
        assert no_pin.status_code == 400
        assert no_pin.json() == {"message": "User does not have a PIN code"}
        bad = session.post("/api/auth/pin-code", json={"pinCode": "12345"})
        assert bad.status_code == 400, bad.text  # six digits (spec pattern)
        _ok(session.post("/api/auth/pin-code", json={"pinCode": PIN}), 204)
        again = session.post("/api/auth/pin-code", json={"pinCode": "222222"})
        assert again.json() == {"message": "User already has a PIN code"}
        key_unlock = user.client.post("/api/auth/session/unlock", json={"pinCode": PIN})
        assert key_unlock.status_code == 400
        assert key_unlock.json() == {
            "message": "This endpoint can only be used with a session token"
        }
        # change: with the old PIN (a wrong one is refused), or with the password
        wrong = session.put(
            "/api/auth/pin-code", json={"pinCode": WRONG_PIN, "newPinCode": "333333"}
        )
        assert wrong.status_code == 400 and wrong.json() == {"message": "Wrong PIN code"}
        _ok(session.put("/api/auth/pin-code", json={"pinCode": PIN, "newPinCode": "333333"}), 204)
        assert session.post("/api/auth/session/unlock", json={"pinCode": PIN}).status_code == 400
        _ok(session.post("/api/auth/session/unlock", json={"pinCode": "333333"}), 204)
        # reset with the password: no PIN any more, and every session is locked
        wrong_pw = session.request("DELETE", "/api/auth/pin-code", json={"password": "nope"})
        assert wrong_pw.json() == {"message": "Wrong password"}
        _ok(session.request("DELETE", "/api/auth/pin-code", json={"password": user.password}), 204)
        status = _ok(session.get("/api/auth/status"))
        assert status["pinCode"] is False and status["isElevated"] is False
        # PIN guesses count in the login throttle: the sixth within the minute is 429
        _ok(session.post("/api/auth/pin-code", json={"pinCode": PIN}), 204)
        codes = [
            session.post("/api/auth/session/unlock", json={"pinCode": f"90000{i}"}).status_code
            for i in range(6)
        ]
        assert codes == [400] * 5 + [429], codes
        assert session.post("/api/auth/session/unlock", json={"pinCode": PIN}).status_code == 429
    # the admin resets a user's PIN with pinCode: null
    _ok(admin.client.put(f"/api/admin/users/{user.id}", json={"pinCode": None}))
    with _session(stack, user) as session:
        assert _ok(session.get("/api/auth/status"))["pinCode"] is False


def test_the_pin_never_reaches_a_log(stack: Stack, world: dict[str, Any]) -> None:
    """Runs after the module's PIN traffic (set, wrong and right unlocks)."""
    logs = sorted(p for p in stack.config.data_dir.rglob("*.log") if p.is_file())
    gateway = stack.config.data_dir / "logs" / "gateway.log"
    assert gateway in logs
    pattern = re.compile(
        rb"(?<![0-9A-Za-z.])(" + PIN.encode() + b"|" + WRONG_PIN.encode() + rb")(?![0-9A-Za-z])"
    )
    assert b"auth.pin_code_wrong" in gateway.read_bytes()
    leaks = [str(p) for p in logs if pattern.search(p.read_bytes())]
    assert not leaks, leaks
    assert uuid.UUID(world["secret"])
