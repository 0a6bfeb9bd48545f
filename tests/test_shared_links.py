"""Public shared links over HTTP against the running embedded stack (#14 items 1 and 2).

What this proves: the 9 operations of the spec's "Shared links" tag; a password-less album link
opens the album, its timeline, its assets' info, thumbnails and originals to an anonymous
visitor (by ``?key=``, by the share-key header and by slug); a password link answers 401 until
``POST /api/shared-links/login`` set its cookie; an expired link is refused; ``allowDownload``
false refuses originals and archives but serves thumbnails; ``showMetadata`` false hides EXIF
and GPS; a link key reaches nothing outside its link on any route of the app; another user
cannot read, edit or delete someone's link; an upload through an ``allowUpload`` link lands in
the album, owned by the link's owner and counted to their quota; deleting the link or the album
ends access on the next request; events carry no key or password.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import pyvips
from darkroom_events import SharedLinkCreated, SharedLinkRemoved
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, make_user, stream_events, upload, upload_jpeg, wait_processed

GPS_SAMPLE = Path("photos/ianare_exif-samples/jpg/gps/DSCN0010.jpg")
#: An iPhone 6 clip (H.264/AAC in QuickTime, 4 s).
VIDEO_SAMPLE = "metadata-extractor-images/mov/with-gps.mov"


def jpeg() -> bytes:
    """A small JPEG of random pixels (its own SHA-1 each time)."""
    image = pyvips.Image.new_from_memory(os.urandom(64 * 48 * 3), 64, 48, 3, "uchar")
    return bytes(image.jpegsave_buffer(Q=90))


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """The user who shares."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    """A user nothing is shared with."""
    return make_user(stack, admin)


@pytest.fixture
def anon(stack: Stack) -> Iterator[httpx.Client]:
    """A logged-out browser (keeps cookies)."""
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        yield client


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json() if r.content else None


def refused(r: httpx.Response, status: int, message: str) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.json()["message"] == message, r.text


def make_album(user: User, asset_ids: list[str], name: str = "Shared") -> str:
    return str(
        ok(user.client.post("/api/albums", json={"albumName": name, "assetIds": asset_ids}), 201)[
            "id"
        ]
    )


def make_link(user: User, **body: Any) -> dict[str, Any]:
    link: dict[str, Any] = ok(user.client.post("/api/shared-links", json=body), 201)
    return link


def test_album_link_opens_the_album_logged_out(owner: User, anon: httpx.Client) -> None:
    a1, a2, outside = (upload_jpeg(owner, jpeg()) for _ in range(3))
    album_id = make_album(owner, [a1, a2])
    slug = f"trip-{uuid.uuid4().hex[:8]}"
    link = make_link(owner, type="ALBUM", albumId=album_id, slug=slug, description="Our trip")
    assert link["type"] == "ALBUM" and link["album"]["id"] == album_id
    assert link["password"] is None and link["allowDownload"] and link["allowUpload"]  # Immich
    assert re.fullmatch(r"[A-Za-z0-9_-]{60,}", link["key"]), link["key"]
    key = link["key"]

    me = ok(anon.get("/api/shared-links/me", params={"key": key}))
    assert me["id"] == link["id"] and me["album"]["id"] == album_id
    assert me["description"] == "Our trip"
    by_header = ok(anon.get("/api/shared-links/me", headers={"x-immich-share-key": key}))
    assert by_header["id"] == link["id"]
    assert ok(anon.get("/api/shared-links/me", params={"slug": slug}))["id"] == link["id"]
    assert ok(anon.get("/api/albums/" + album_id, params={"key": key}))["assetCount"] == 2
    buckets = ok(anon.get("/api/timeline/buckets", params={"albumId": album_id, "key": key}))
    assert sum(b["count"] for b in buckets) == 2
    bucket = ok(
        anon.get(
            "/api/timeline/bucket",
            params={"albumId": album_id, "key": key, "timeBucket": buckets[0]["timeBucket"]},
        )
    )
    assert set(bucket["id"]) == {a1, a2}
    info = ok(anon.get(f"/api/assets/{a1}", params={"key": key}))
    assert info["id"] == a1 and info["ownerId"] == owner.id and info["originalPath"] == ""
    assert "owner" not in info  # a link's visitor never gets the owner's e-mail address
    wait_processed(owner, [a1])
    assert anon.get(f"/api/assets/{a1}/thumbnail", params={"key": key}).status_code == 200
    original = anon.get(f"/api/assets/{a1}/original", params={"key": key})
    assert original.status_code == 200 and original.content[:2] == b"\xff\xd8"
    archive = anon.post("/api/download/archive", params={"key": key}, json={"assetIds": [a1, a2]})
    assert archive.status_code == 200
    assert len(zipfile.ZipFile(io.BytesIO(archive.content)).namelist()) == 2
    infos = ok(
        anon.post("/api/download/info", params={"key": key}, json={"albumId": album_id}), 201
    )
    assert sorted(i for a in infos["archives"] for i in a["assetIds"]) == sorted([a1, a2])

    # the owner's other asset is not the link's
    refused(
        anon.get(f"/api/assets/{outside}", params={"key": key}),
        400,
        "Not found or no asset.read access",
    )
    refused(
        anon.post("/api/download/archive", params={"key": key}, json={"assetIds": [outside]}),
        400,
        "Not found or no asset.download access",
    )
    # a visitor is not a user: routes not open to links answer 403
    refused(anon.get("/api/albums", params={"key": key}), 403, "Forbidden")
    refused(anon.get("/api/users/me", params={"key": key}), 403, "Forbidden")
    refused(anon.get("/api/shared-links/me", params={"key": "nope"}), 401, "Invalid share key")
    refused(anon.get("/api/shared-links/me", params={"slug": "nope"}), 401, "Invalid share slug")
    refused(anon.get("/api/shared-links/me"), 401, "Authentication required")


def test_password_link_is_refused_until_login(owner: User, anon: httpx.Client) -> None:
    a1 = upload_jpeg(owner, jpeg())
    album_id = make_album(owner, [a1])
    link = make_link(owner, type="ALBUM", albumId=album_id, password="open sesame")
    assert link["password"] is not None and link["password"] != "open sesame"
    key = link["key"]
    refused(anon.get("/api/shared-links/me", params={"key": key}), 401, "Invalid password")
    refused(anon.get(f"/api/assets/{a1}", params={"key": key}), 401, "Invalid password")
    refused(
        anon.post("/api/shared-links/login", params={"key": key}, json={"password": "wrong"}),
        401,
        "Invalid password",
    )
    login = anon.post(
        "/api/shared-links/login", params={"key": key}, json={"password": "open sesame"}
    )
    assert ok(login, 201)["id"] == link["id"]
    assert "immich_shared_link_token" in login.cookies
    assert ok(anon.get("/api/shared-links/me", params={"key": key}))["id"] == link["id"]
    assert ok(anon.get(f"/api/assets/{a1}", params={"key": key}))["id"] == a1
    # a new password logs every browser out
    ok(owner.client.patch(f"/api/shared-links/{link['id']}", json={"password": "other"}))
    refused(anon.get("/api/shared-links/me", params={"key": key}), 401, "Invalid password")
    # sending the masked value back keeps the password; null removes it
    ok(owner.client.patch(f"/api/shared-links/{link['id']}", json={"password": link["password"]}))
    refused(anon.get("/api/shared-links/me", params={"key": key}), 401, "Invalid password")
    ok(owner.client.patch(f"/api/shared-links/{link['id']}", json={"password": None}))
    assert ok(anon.get("/api/shared-links/me", params={"key": key}))["password"] is None


def test_password_guessing_is_throttled(owner: User, anon: httpx.Client) -> None:
    a1 = upload_jpeg(owner, jpeg())
    key = make_link(owner, type="INDIVIDUAL", assetIds=[a1], password="right")["key"]
    codes = [
        anon.post(
            "/api/shared-links/login", params={"key": key}, json={"password": "x"}
        ).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429], codes
    r = anon.post("/api/shared-links/login", params={"key": key}, json={"password": "right"})
    assert r.status_code == 429, r.text


def test_expired_link_is_refused(owner: User, anon: httpx.Client) -> None:
    a1 = upload_jpeg(owner, jpeg())
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    link = make_link(owner, type="INDIVIDUAL", assetIds=[a1], expiresAt=future)
    assert ok(anon.get(f"/api/assets/{a1}", params={"key": link["key"]}))["id"] == a1
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    edited = ok(owner.client.patch(f"/api/shared-links/{link['id']}", json={"expiresAt": past}))
    assert edited["expiresAt"] is not None
    refused(anon.get(f"/api/assets/{a1}", params={"key": link["key"]}), 401, "Invalid share key")
    refused(anon.get("/api/shared-links/me", params={"key": link["key"]}), 401, "Invalid share key")


def test_no_download_serves_thumbnails_only(owner: User, anon: httpx.Client) -> None:
    a1 = upload_jpeg(owner, jpeg())
    album_id = make_album(owner, [a1])
    key = make_link(owner, type="ALBUM", albumId=album_id, allowDownload=False)["key"]
    wait_processed(owner, [a1])
    assert anon.get(f"/api/assets/{a1}/thumbnail", params={"key": key}).status_code == 200
    original = owner.client.get(f"/api/assets/{a1}/original").content
    assert owner.client.get(f"/api/assets/{a1}/thumbnail?size=fullsize").content == original
    fullsize = anon.get(f"/api/assets/{a1}/thumbnail", params={"key": key, "size": "fullsize"})
    assert fullsize.status_code == 200 and fullsize.content != original  # the preview instead
    refused(
        anon.get(f"/api/assets/{a1}/original", params={"key": key}),
        400,
        "Not found or no asset.download access",
    )
    refused(
        anon.post("/api/download/archive", params={"key": key}, json={"assetIds": [a1]}),
        400,
        "Not found or no asset.download access",
    )
    refused(
        anon.post("/api/download/info", params={"key": key}, json={"albumId": album_id}),
        400,
        "Not found or no album.download access",
    )


def test_hidden_metadata_strips_exif_and_gps(stack: Stack, owner: User, anon: httpx.Client) -> None:
    samples = samples_dir()
    if samples is None:
        pytest.skip("sample media absent (/work/shared/samples or DARKROOM_SAMPLES)")
    photo = upload(owner, samples / GPS_SAMPLE)
    assert photo.status_code in (200, 201), photo.text
    asset_id = photo.json()["id"]
    deadline = time.monotonic() + 120
    while True:  # metadata extraction runs in the background: wait on it
        exif = ok(owner.client.get(f"/api/assets/{asset_id}")).get("exifInfo") or {}
        if exif.get("latitude") is not None or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert exif.get("latitude") is not None, "the sample's GPS was never extracted"
    album_id = make_album(owner, [asset_id], "Places")
    shown = make_link(owner, type="INDIVIDUAL", assetIds=[asset_id])
    hidden = make_link(owner, type="ALBUM", albumId=album_id, showMetadata=False)
    assert hidden["allowDownload"] is False  # hiding metadata hides the originals too

    seen = ok(anon.get(f"/api/assets/{asset_id}", params={"key": shown["key"]}))
    assert seen["exifInfo"]["latitude"] is not None
    info = ok(anon.get(f"/api/assets/{asset_id}", params={"key": hidden["key"]}))
    # Immich's sanitized asset: no exifInfo, people or file name at all
    assert info.get("exifInfo") is None and "people" not in info and not info["hasMetadata"]
    assert "latitude" not in str(info).lower() or info.get("exifInfo") is None
    markers = ok(anon.get(f"/api/albums/{album_id}/map-markers", params={"key": hidden["key"]}))
    assert markers == []
    buckets = ok(
        anon.get("/api/timeline/buckets", params={"albumId": album_id, "key": hidden["key"]})
    )
    bucket = ok(
        anon.get(
            "/api/timeline/bucket",
            params={
                "albumId": album_id,
                "key": hidden["key"],
                "timeBucket": buckets[0]["timeBucket"],
                "withCoordinates": "true",
            },
        )
    )
    # Immich selects the place columns only for a link that shows metadata
    assert "city" not in bucket and "country" not in bucket
    assert "latitude" not in bucket


def test_a_key_never_reaches_outside_its_link(
    owner: User, stranger: User, anon: httpx.Client
) -> None:
    """Every route of the app with an id in its path, tried with the key and foreign ids."""
    from darkroom_gateway.app import create_app
    from darkroom_gateway.settings import GatewaySettings

    mine = upload_jpeg(owner, jpeg())
    foreign_own = upload_jpeg(owner, jpeg())  # the owner's, not in the link
    foreign_other = upload_jpeg(stranger, jpeg())
    other_album = make_album(owner, [foreign_own], "Private")
    link = make_link(owner, type="INDIVIDUAL", assetIds=[mine], allowUpload=True)
    headers = {"x-immich-share-key": link["key"]}
    app = create_app(GatewaySettings())
    tried = 0
    for route in app.routes:
        methods = sorted(set(getattr(route, "methods", ())) - {"HEAD", "OPTIONS"})
        api = route.path.startswith("/api/") and not route.path.startswith("/api/docs")
        if not api or "{" not in route.path or not methods:  # the SPA, the OpenAPI pages
            continue
        for foreign in (foreign_own, foreign_other, other_album, link["id"]):
            path = re.sub(r"\{[^}]+\}", foreign, route.path)
            for method in methods:
                body = {"ids": [foreign], "assetIds": [foreign], "albumId": foreign}
                r = anon.request(
                    method, path, headers=headers, json=None if method == "GET" else body
                )
                tried += 1
                assert r.status_code in (400, 403), (method, path, r.status_code, r.text)
                message = r.json()["message"]
                assert message == "Forbidden" or message.startswith("Not found or no "), (
                    method,
                    path,
                    r.text,
                )
    assert tried > 100
    for path, body in (
        ("/api/download/info", {"assetIds": [foreign_own]}),
        ("/api/download/info", {"albumId": other_album}),
        ("/api/download/info", {"userId": owner.id}),
        ("/api/download/archive", {"assetIds": [mine, foreign_other]}),
    ):
        r = anon.post(path, headers=headers, json=body)
        assert r.status_code == 400 and r.json()["message"].startswith("Not found or no "), r.text
    for params in ({}, {"albumId": other_album}, {"userId": owner.id}):
        r = anon.get("/api/timeline/buckets", headers=headers, params=params)
        assert r.status_code == 400, r.text
    assert ok(anon.get(f"/api/assets/{mine}", headers=headers))["id"] == mine


def test_every_route_refuses_anonymous_and_link_callers_where_immich_does(
    owner: User, anon: httpx.Client
) -> None:
    """Every /api route that needs a caller, with or without an id in its path: 401 with
    Immich's body without credentials; with a link key, 403 "Forbidden" unless it is one of the
    routes Immich opens to shared links (``shared_link=True``). The guard answers before the
    body is read, so an empty body is enough."""
    from darkroom_gateway.app import create_app
    from darkroom_gateway.settings import GatewaySettings

    link = make_link(owner, type="INDIVIDUAL", assetIds=[upload_jpeg(owner, jpeg())])
    headers = {"x-immich-share-key": link["key"]}
    tried = 0
    for route in create_app(GatewaySettings()).routes:
        if not route.path.startswith("/api/") or route.path.startswith("/api/docs"):
            continue
        for handler in getattr(route, "route_handlers", []):
            methods = set(getattr(handler, "http_methods", ())) - {"HEAD", "OPTIONS"}
            if not methods or "auth" not in handler.parsed_fn_signature.parameters:
                continue  # public: ping, version, features, login, sign-up...
            path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
            for method in sorted(methods):
                body = None if method == "GET" else {}
                r = anon.request(method, path, json=body)
                assert r.status_code == 401 and set(r.json()) == {"message"}, (method, path, r.text)
                if not handler.opt.get("shared_link"):
                    r = anon.request(method, path, headers=headers, json=body)
                    assert (r.status_code, r.json()) == (403, {"message": "Forbidden"}), (
                        method,
                        path,
                        r.text,
                    )
                tried += 1
    assert tried > 150


def test_other_users_cannot_touch_a_link(owner: User, stranger: User, anon: httpx.Client) -> None:
    a1 = upload_jpeg(owner, jpeg())
    link = make_link(owner, type="INDIVIDUAL", assetIds=[a1])
    lid = link["id"]
    c = stranger.client
    refused(c.get(f"/api/shared-links/{lid}"), 400, "Shared link not found")
    refused(
        c.patch(f"/api/shared-links/{lid}", json={"description": "x"}), 400, "Shared link not found"
    )
    refused(c.delete(f"/api/shared-links/{lid}"), 400, "Shared link not found")
    refused(
        c.put(f"/api/shared-links/{lid}/assets", json={"assetIds": [a1]}),
        400,
        "Shared link not found",
    )
    refused(
        c.request("DELETE", f"/api/shared-links/{lid}/assets", json={"assetIds": [a1]}),
        400,
        "Shared link not found",
    )
    assert all(x["id"] != lid for x in ok(c.get("/api/shared-links")))
    refused(anon.get("/api/shared-links"), 401, "Authentication required")
    refused(anon.get(f"/api/shared-links/{lid}"), 401, "Authentication required")
    # a stranger cannot make a link to someone else's asset or album
    refused(
        c.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [a1]}),
        400,
        "Not found or no asset.share access",
    )
    album_id = make_album(owner, [a1])
    refused(
        c.post("/api/shared-links", json={"type": "ALBUM", "albumId": album_id}),
        400,
        "Not found or no album.share access",
    )
    assert ok(owner.client.get(f"/api/shared-links/{lid}"))["description"] is None


def test_individual_link_operations(owner: User, anon: httpx.Client) -> None:
    a1, a2, a3 = (upload_jpeg(owner, jpeg()) for _ in range(3))
    refused(
        owner.client.post("/api/shared-links", json={"type": "INDIVIDUAL"}), 400, "Invalid assetIds"
    )
    refused(owner.client.post("/api/shared-links", json={"type": "ALBUM"}), 400, "Invalid albumId")
    link = make_link(owner, type="INDIVIDUAL", assetIds=[a1], description="pick")
    lid = link["id"]
    assert [a["id"] for a in link["assets"]] == [a1]
    added = ok(
        owner.client.put(
            f"/api/shared-links/{lid}/assets", json={"assetIds": [a2, a1, str(uuid.uuid4())]}
        )
    )
    assert [(x["assetId"], x["success"], x.get("error")) for x in added] == [
        (a2, True, None),
        (a1, False, "duplicate"),
        (added[2]["assetId"], False, "no_permission"),
    ]
    assert ok(anon.get(f"/api/assets/{a2}", params={"key": link["key"]}))["id"] == a2
    removed = ok(
        owner.client.request(
            "DELETE", f"/api/shared-links/{lid}/assets", json={"assetIds": [a2, a3]}
        )
    )
    assert [(x["assetId"], x["success"], x.get("error")) for x in removed] == [
        (a2, True, None),
        (a3, False, "not_found"),
    ]
    refused(
        anon.get(f"/api/assets/{a2}", params={"key": link["key"]}),
        400,
        "Not found or no asset.read access",
    )
    got = ok(owner.client.get(f"/api/shared-links/{lid}"))
    assert got["id"] == lid and got["description"] == "pick"
    edited = ok(
        owner.client.patch(
            f"/api/shared-links/{lid}",
            json={"description": "new", "allowUpload": True, "slug": f"s-{lid[:8]}"},
        )
    )
    assert (
        edited["description"] == "new"
        and edited["allowUpload"]
        and edited["slug"] == f"s-{lid[:8]}"
    )
    listed = ok(owner.client.get("/api/shared-links", params={"id": lid}))
    assert [x["id"] for x in listed] == [lid]
    album_id = make_album(owner, [a3])
    album_link = make_link(owner, type="ALBUM", albumId=album_id)
    by_album = ok(owner.client.get("/api/shared-links", params={"albumId": album_id}))
    assert [x["id"] for x in by_album] == [album_link["id"]]
    assert album_link["album"]["hasSharedLink"] is True
    assert ok(owner.client.get(f"/api/albums/{album_id}"))["hasSharedLink"] is True
    listed_albums = ok(owner.client.get("/api/albums"))
    flags = {a["id"]: a["hasSharedLink"] for a in listed_albums}
    assert flags[album_id] is True
    assert not ok(owner.client.get(f"/api/albums/{make_album(owner, [a1])}"))["hasSharedLink"]
    refused(
        owner.client.put(f"/api/shared-links/{album_link['id']}/assets", json={"assetIds": [a1]}),
        400,
        "Invalid shared link type",
    )
    refused(
        owner.client.post(
            "/api/shared-links",
            json={"type": "INDIVIDUAL", "assetIds": [a1], "slug": edited["slug"]},
        ),
        400,
        "Shared link with this slug already exists",
    )
    assert ok(owner.client.delete(f"/api/shared-links/{lid}"), 204) is None
    refused(owner.client.get(f"/api/shared-links/{lid}"), 400, "Shared link not found")


def test_upload_through_a_link_lands_in_the_album(owner: User, anon: httpx.Client) -> None:
    album_id = make_album(owner, [])
    closed = make_link(owner, type="ALBUM", albumId=album_id, allowUpload=False)
    link = make_link(owner, type="ALBUM", albumId=album_id, allowUpload=True)
    before = ok(owner.client.get("/api/users/me"))["quotaUsageInBytes"]
    data = jpeg()

    def send(key: str) -> httpx.Response:
        return anon.post(
            "/api/assets",
            params={"key": key},
            files={"assetData": ("visitor.jpg", data, "image/jpeg")},
            data={
                "deviceAssetId": uuid.uuid4().hex,
                "deviceId": "WEB",
                "fileCreatedAt": "2021-01-01T00:00:00.000Z",
                "fileModifiedAt": "2021-01-01T00:00:00.000Z",
            },
        )

    refused(send(closed["key"]), 401, "Unauthorized")
    asset_id = ok(send(link["key"]), 201)["id"]
    assert ok(owner.client.get(f"/api/assets/{asset_id}"))["ownerId"] == owner.id
    assert ok(owner.client.get(f"/api/albums/{album_id}"))["assetCount"] == 1
    deadline = time.monotonic() + 60
    while ok(owner.client.get("/api/users/me"))["quotaUsageInBytes"] < before + len(data):
        assert time.monotonic() < deadline, "the upload was never counted to the owner"
        time.sleep(0.3)
    assert ok(anon.get(f"/api/assets/{asset_id}", params={"key": link["key"]}))["id"] == asset_id


def test_deleting_the_link_or_the_album_ends_access(owner: User, anon: httpx.Client) -> None:
    a1 = upload_jpeg(owner, jpeg())
    album_id = make_album(owner, [a1])
    by_link = make_link(owner, type="ALBUM", albumId=album_id)
    by_album = make_link(owner, type="ALBUM", albumId=album_id)
    for link in (by_link, by_album):
        assert ok(anon.get(f"/api/assets/{a1}", params={"key": link["key"]}))["id"] == a1
    ok(owner.client.delete(f"/api/shared-links/{by_link['id']}"), 204)
    refused(anon.get(f"/api/assets/{a1}", params={"key": by_link["key"]}), 401, "Invalid share key")
    assert ok(anon.get(f"/api/assets/{a1}", params={"key": by_album["key"]}))["id"] == a1
    ok(owner.client.delete(f"/api/albums/{album_id}"), 204)
    refused(
        anon.get(f"/api/assets/{a1}", params={"key": by_album["key"]}), 401, "Invalid share key"
    )
    refused(
        anon.get(f"/api/albums/{album_id}", params={"key": by_album["key"]}),
        401,
        "Invalid share key",
    )


def test_public_page_has_open_graph_tags(owner: User, anon: httpx.Client) -> None:
    """A pasted /share/<key> or /s/<slug> shows a preview: og tags with escaped values."""
    a1 = upload_jpeg(owner, jpeg())
    album_id = make_album(owner, [a1], 'Beach <b>"&')
    slug = f"og-{uuid.uuid4().hex[:8]}"
    link = make_link(owner, type="ALBUM", albumId=album_id, slug=slug)
    for path in (f"/share/{link['key']}", f"/s/{slug}"):
        page = anon.get(path)
        assert page.status_code == 200, page.text
        if "<title>" not in page.text:
            pytest.skip("web app not built")
        text = page.text
        assert '<meta property="og:title" content="Beach &lt;b&gt;&quot;&amp;" />' in text
        assert '<meta property="og:description" content="1 shared photos &amp; videos" />' in text
        image = re.search(r'<meta property="og:image" content="([^"]+)" />', text)
        assert image is not None, text
        url = image.group(1).replace("&amp;", "&")
        assert url.startswith(str(anon.base_url).rstrip("/") + f"/api/assets/{a1}/thumbnail?key=")
        wait_processed(owner, [a1])
        assert anon.get(url).status_code == 200  # the preview opens through the key
    secret = make_link(owner, type="ALBUM", albumId=album_id, password="pw")
    text = anon.get(f"/share/{secret['key']}").text
    assert "Password required" in text and "og:image" not in text and "Beach" not in text
    assert "og:title" not in anon.get("/share/unknown-key").text
    assert "og:title" not in anon.get("/photos").text


def test_visitor_plays_a_shared_video(owner: User, anon: httpx.Client) -> None:
    samples = samples_dir()
    video = samples / "videos" / VIDEO_SAMPLE if samples is not None else None
    if video is None or not video.is_file():
        pytest.skip(f"sample video {VIDEO_SAMPLE} absent")
    r = upload(owner, video)
    assert r.status_code in (200, 201), r.text
    video_id = r.json()["id"]
    photo = upload_jpeg(owner, jpeg())
    key = make_link(owner, type="INDIVIDUAL", assetIds=[video_id, photo])["key"]
    played = anon.get(
        f"/api/assets/{video_id}/video/playback",
        params={"key": key},
        headers={"Range": "bytes=0-99"},
    )
    assert played.status_code == 206, played.text
    assert played.headers["content-type"].startswith("video/") and len(played.content) == 100
    refused(
        anon.get(f"/api/assets/{photo}/video/playback", params={"key": key}),
        400,
        "Asset is not a video",
    )


def test_link_events_on_the_stream_carry_no_secret(stack: Stack, owner: User) -> None:
    a1 = upload_jpeg(owner, jpeg())
    album_id = make_album(owner, [a1])
    slug = f"ev-{uuid.uuid4().hex[:8]}"
    link = make_link(owner, type="ALBUM", albumId=album_id, password="hush-hush-42", slug=slug)
    ok(owner.client.delete(f"/api/shared-links/{link['id']}"), 204)
    url = stack.env()["DARKROOM_NATS_URL"]
    deadline = time.monotonic() + 60
    while True:  # published after the commit: wait for both on the stream
        created = [
            msgspec.json.decode(d, type=SharedLinkCreated)
            for d in asyncio.run(stream_events(url, SharedLinkCreated.subject))
            if link["id"].encode() in d
        ]
        removed = [
            d
            for d in asyncio.run(stream_events(url, SharedLinkRemoved.subject))
            if link["id"].encode() in d
        ]
        if (created and removed) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(created) == 1 and len(removed) == 1
    event = created[0]
    assert (event.owner_id, event.type, event.album_id) == (owner.id, "ALBUM", album_id)
    assert event.has_password and event.asset_count == 0
    gone = msgspec.json.decode(removed[0], type=SharedLinkRemoved)
    assert (gone.owner_id, gone.album_id) == (owner.id, album_id)
    raw = b"".join(asyncio.run(stream_events(url, "darkroom.shared_link.>")))
    for secret in (link["key"], "hush-hush-42", slug):
        assert secret.encode() not in raw
