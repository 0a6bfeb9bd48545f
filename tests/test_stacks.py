"""Stacks over HTTP against running embedded stacks (issue 16, item 3).

What this proves: the seven stack operations answer as Immich 3.1 does (shapes, status codes,
the first id is the primary, a stack whose primary is listed merges into the new one, PUT changes
the primary, removing an asset, a stack left with one asset is gone, an asset deleted for good
hands the primary on); another user gets 400 ``Not found or no <permission> access`` and an
anonymous client 401; ``GET /api/assets/{id}`` carries the stack; the timeline with
``withStacked`` counts a stack once and its ``stack`` column is ``[stackId, count]``; metadata
search with ``withStacked`` shows only the primary; the sync lines (``StackV1``,
``StackDeleteV1``, ``AssetV1.stackId``) validate against the spec's schemas; and with
``DARKROOM_AUTO_STACK=true`` a RAW+JPEG pair uploaded together is stacked by the metadata service
(JPEG primary), as is a Google-style burst, while with the setting off (the shared stack) the
same pair stays unstacked.

The RAW: ../shared/samples has no camera RAW file (the DNG its SOURCES.tsv lists is not there),
so the pair is made from a real camera photo (Canon PowerShot S40, EXIF DateTimeOriginal
2003-12-14 12:01:44): the JPEG as it is, and a DNG of the same pixels written with pyvips (TIFF)
and tagged with exiv2 (DNGVersion, make, model and the same DateTimeOriginal). Ingest sniffs it
as ``image/dng`` (a camera RAW by Immich's table), as it would a camera's.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyexiv2
import pytest
import pyvips
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import User, first_admin, make_user, running_stack, upload_jpeg, wait_processed
from tests.test_socketio import listeners  # noqa: F401 - a fixture
from tests.test_sync import Device
from tests.test_sync_types import components, validate  # noqa: F401 - components is a fixture

#: Generous ceiling for the pipeline on a busy 2-core machine (polled, not slept).
PIPELINE_S = 600
#: Bucket month of the generated photos (their upload date: they carry no EXIF).
MONTH = "2019-03-01"
CANON = (
    samples_dir() / "photos" / "ianare_exif-samples/jpg/Canon_PowerShot_S40.jpg"
    if samples_dir()
    else None
)


def jpeg(seed: int) -> bytes:
    """A small JPEG of random pixels unique to ``seed``."""
    pixels = np.random.default_rng(seed).integers(0, 255, size=(40, 56, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=80))


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def refused(r: httpx.Response, permission: str) -> None:
    """Immich's access refusal: 400 ``Not found or no <permission> access``."""
    assert r.status_code == 400, r.text
    assert r.json()["message"] == f"Not found or no {permission} access", r.text


def bad_request(r: httpx.Response, message: str) -> None:
    assert r.status_code == 400, r.text
    assert r.json()["message"] == message, r.text


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose stacks and photos are only this module's."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    """Another user, who must be refused."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def photos(owner: User, stranger: User) -> dict[str, str]:
    """Six processed photos of ``owner`` (a..f, all in March 2019) and two of ``stranger``."""
    ids = {
        name: upload_jpeg(owner, jpeg(100 + k), f"2019-03-{10 + k:02d}T10:00:00.000Z")
        for k, name in enumerate("abcdef")
    }
    ids["theirs"] = upload_jpeg(stranger, jpeg(150), "2019-03-05T10:00:00.000Z")
    ids["theirs2"] = upload_jpeg(stranger, jpeg(151), "2019-03-06T10:00:00.000Z")
    wait_processed(owner, [ids[n] for n in "abcdef"], timeout=PIPELINE_S)
    wait_processed(stranger, [ids["theirs"], ids["theirs2"]], timeout=PIPELINE_S)
    return ids


def create(user: User, *asset_ids: str) -> dict[str, Any]:
    return ok(user.client.post("/api/stacks", json={"assetIds": list(asset_ids)}), 201)


def stack_of(user: User, asset_id: str) -> dict[str, Any] | None:
    body = ok(user.client.get(f"/api/assets/{asset_id}"))
    assert "stack" in body, body  # GET /api/assets/{id} always says (Immich's withStack)
    return body["stack"]


def test_operations(owner: User, photos: dict[str, str]) -> None:
    a, b, c, d = (photos[n] for n in "abcd")
    first = create(owner, a, b)
    assert set(first) == {"id", "primaryAssetId", "assets"}
    assert first["primaryAssetId"] == a
    assert [x["id"] for x in first["assets"]] == [a, b]
    assert all(x["exifInfo"] is not None for x in first["assets"])
    assert stack_of(owner, b) == {"id": first["id"], "primaryAssetId": a, "assetCount": 2}
    assert stack_of(owner, c) is None

    assert owner.client.post("/api/stacks", json={"assetIds": [a]}).status_code == 400
    assert owner.client.post("/api/stacks", json={"assetIds": [c, c]}).status_code == 400
    assert owner.client.post("/api/stacks", json={"assetIds": ["x", "y"]}).status_code == 400

    listed = ok(owner.client.get("/api/stacks"))
    assert [s["id"] for s in listed] == [first["id"]]
    assert ok(owner.client.get("/api/stacks", params={"primaryAssetId": a})) == listed
    assert ok(owner.client.get("/api/stacks", params={"primaryAssetId": b})) == []
    assert ok(owner.client.get(f"/api/stacks/{first['id']}")) == first

    # a listed primary brings its stack along: the stacks merge, the old one is gone
    merged = create(owner, a, c)
    assert merged["primaryAssetId"] == a
    assert {x["id"] for x in merged["assets"]} == {a, b, c}
    refused(owner.client.get(f"/api/stacks/{first['id']}"), "stack.read")
    assert [s["id"] for s in ok(owner.client.get("/api/stacks"))] == [merged["id"]]

    sid = merged["id"]
    bad_request(
        owner.client.put(f"/api/stacks/{sid}", json={"primaryAssetId": d}),
        "Primary asset must be in the stack",
    )
    moved = ok(owner.client.put(f"/api/stacks/{sid}", json={"primaryAssetId": c}))
    assert moved["primaryAssetId"] == c and moved["assets"][0]["id"] == c
    assert ok(owner.client.put(f"/api/stacks/{sid}", json={}))["primaryAssetId"] == c

    bad_request(
        owner.client.delete(f"/api/stacks/{sid}/assets/{c}"), "Cannot remove stack's primary asset"
    )
    bad_request(owner.client.delete(f"/api/stacks/{sid}/assets/{d}"), "Asset not in stack")
    ok(owner.client.delete(f"/api/stacks/{sid}/assets/{b}"), 204)
    assert stack_of(owner, b) is None
    assert stack_of(owner, a) == {"id": sid, "primaryAssetId": c, "assetCount": 2}
    # fewer than 2 assets left: the stack is deleted
    ok(owner.client.delete(f"/api/stacks/{sid}/assets/{a}"), 204)
    refused(owner.client.get(f"/api/stacks/{sid}"), "stack.read")
    assert stack_of(owner, c) is None

    one, two = create(owner, a, b), create(owner, c, d)
    ok(owner.client.delete(f"/api/stacks/{one['id']}"), 204)
    assert stack_of(owner, a) is None and stack_of(owner, b) is None
    ok(owner.client.request("DELETE", "/api/stacks", json={"ids": [two["id"]]}), 204)
    assert ok(owner.client.get("/api/stacks")) == []


def test_primary_deleted_for_good_hands_on(owner: User, photos: dict[str, str]) -> None:
    """A stack whose primary is deleted for good keeps its other assets under a new primary
    (the database repairs it: migration 0019), and goes when one asset is left."""
    extra = [upload_jpeg(owner, jpeg(200 + k), "2018-01-01T10:00:00.000Z") for k in range(3)]
    made = create(owner, *extra)
    ok(owner.client.request("DELETE", "/api/assets", json={"ids": [extra[0]], "force": True}), 204)
    left = ok(owner.client.get(f"/api/stacks/{made['id']}"))
    assert left["primaryAssetId"] in extra[1:]
    assert {x["id"] for x in left["assets"]} == set(extra[1:])
    ok(owner.client.request("DELETE", "/api/assets", json={"ids": [extra[1]], "force": True}), 204)
    refused(owner.client.get(f"/api/stacks/{made['id']}"), "stack.read")
    assert stack_of(owner, extra[2]) is None


def test_another_user_and_anonymous_are_refused(
    stack: Stack, owner: User, stranger: User, photos: dict[str, str]
) -> None:
    a, b, e = photos["a"], photos["b"], photos["e"]
    made = create(owner, a, b)
    sid = made["id"]
    other = stranger.client
    refused(other.get(f"/api/stacks/{sid}"), "stack.read")
    refused(other.put(f"/api/stacks/{sid}", json={"primaryAssetId": b}), "stack.update")
    refused(other.delete(f"/api/stacks/{sid}"), "stack.delete")
    refused(other.delete(f"/api/stacks/{sid}/assets/{b}"), "stack.update")
    refused(other.request("DELETE", "/api/stacks", json={"ids": [sid]}), "stack.delete")
    refused(other.post("/api/stacks", json={"assetIds": [a, e]}), "asset.update")
    refused(
        owner.client.post("/api/stacks", json={"assetIds": [e, photos["theirs"]]}), "asset.update"
    )
    assert ok(other.get("/api/stacks")) == []
    assert ok(other.get("/api/stacks", params={"primaryAssetId": a})) == []

    anonymous = httpx.Client(base_url=stack.url, timeout=60)
    for method, path, body in (
        ("GET", "/api/stacks", None),
        ("POST", "/api/stacks", {"assetIds": [a, b]}),
        ("DELETE", "/api/stacks", {"ids": [sid]}),
        ("GET", f"/api/stacks/{sid}", None),
        ("PUT", f"/api/stacks/{sid}", {"primaryAssetId": b}),
        ("DELETE", f"/api/stacks/{sid}", None),
        ("DELETE", f"/api/stacks/{sid}/assets/{b}", None),
    ):
        r = anonymous.request(method, path, json=body)
        assert r.status_code == 401, (method, path, r.text)
    # nothing happened to the stack
    assert ok(owner.client.get(f"/api/stacks/{sid}"))["primaryAssetId"] == a
    ok(owner.client.delete(f"/api/stacks/{sid}"), 204)


def test_timeline_and_search_show_a_stack_once(owner: User, photos: dict[str, str]) -> None:
    a, b, c = photos["a"], photos["b"], photos["c"]
    made = create(owner, b, a, c)  # b is the primary
    try:

        def month_count(**params: Any) -> int:
            buckets = ok(owner.client.get("/api/timeline/buckets", params=params))
            return next(x["count"] for x in buckets if x["timeBucket"].startswith(MONTH))

        assert month_count() == 6
        assert month_count(withStacked="true") == 4  # a, c hidden behind b
        bucket = ok(
            owner.client.get(
                "/api/timeline/bucket", params={"timeBucket": MONTH, "withStacked": "true"}
            )
        )
        assert len(bucket["id"]) == 4 and b in bucket["id"]
        assert a not in bucket["id"] and c not in bucket["id"]
        stacks = dict(zip(bucket["id"], bucket["stack"], strict=True))
        assert stacks[b] == [made["id"], "3"]
        assert stacks[photos["d"]] is None
        plain = ok(owner.client.get("/api/timeline/bucket", params={"timeBucket": MONTH}))
        assert len(plain["id"]) == 6 and "stack" not in plain

        def found(**extra: Any) -> set[str]:
            body = {"takenAfter": "2019-03-01T00:00:00.000Z", "size": 100, **extra}
            r = ok(owner.client.post("/api/search/metadata", json=body))
            return {x["id"] for x in r["assets"]["items"]}

        assert found() == {photos[n] for n in "abcdef"}
        assert found(withStacked=True) == {photos[n] for n in "bdef"}
    finally:
        ok(owner.client.delete(f"/api/stacks/{made['id']}"), 204)


def test_sync_stream_stacks(
    stack: Stack,
    owner: User,
    photos: dict[str, str],
    components: dict[str, Any],  # noqa: F811 - the fixture imported above
) -> None:
    device = Device(stack, owner)
    device.sync_and_ack(["AssetsV1", "StacksV1"])
    made = create(owner, photos["e"], photos["f"])
    lines = device.sync_and_ack(["AssetsV1", "StacksV1"])
    validate(components, lines)
    stack_lines = [x["data"] for x in lines if x["type"] == "StackV1"]
    assert [(x["id"], x["primaryAssetId"], x["ownerId"]) for x in stack_lines] == [
        (made["id"], photos["e"], owner.id)
    ]
    assets = {x["data"]["id"]: x["data"] for x in lines if x["type"] == "AssetV1"}
    assert assets[photos["e"]]["stackId"] == assets[photos["f"]]["stackId"] == made["id"]

    ok(owner.client.delete(f"/api/stacks/{made['id']}"), 204)
    lines = device.sync_and_ack(["AssetsV1", "StacksV1"])
    validate(components, lines)
    assert [x["data"] for x in lines if x["type"] == "StackDeleteV1"] == [{"stackId": made["id"]}]
    assets = {x["data"]["id"]: x["data"] for x in lines if x["type"] == "AssetV1"}
    assert assets[photos["e"]]["stackId"] is None


#: Partner stack lines have the shapes of the caller's own (the spec has no Sync* of their own).
PARTNER_STACK_SHAPES = {
    "PartnerStackV1": "StackV1",
    "PartnerStackBackfillV1": "StackV1",
    "PartnerStackDeleteV1": "StackDeleteV1",
}


def validate_partner(components: dict[str, Any], lines: list[dict[str, Any]]) -> None:  # noqa: F811
    validate(
        components, [{**x, "type": PARTNER_STACK_SHAPES.get(x["type"], x["type"])} for x in lines]
    )


def test_sync_stream_partner_stacks(
    stack: Stack,
    owner: User,
    stranger: User,
    photos: dict[str, str],
    components: dict[str, Any],  # noqa: F811 - the fixture imported above
) -> None:
    """A partner's stack made before the partnership comes on a first sync as PartnerStackV1
    (no checkpoint: nothing to back-fill, as Immich), one made after too, and the end of the
    partnership deletes them (PartnerStackDeleteV1)."""
    device = Device(stack, owner)
    before = create(stranger, photos["theirs"], photos["theirs2"])
    ok(stranger.client.post("/api/partners", json={"sharedWithId": owner.id}), 201)
    try:
        lines = device.sync_and_ack(["PartnerStacksV1"])
        validate_partner(components, lines)
        upserts = [x["data"]["id"] for x in lines if x["type"] == "PartnerStackV1"]
        assert upserts == [before["id"]]
        ok(stranger.client.delete(f"/api/stacks/{before['id']}"), 204)
        after = create(stranger, photos["theirs2"], photos["theirs"])
        lines = device.sync_and_ack(["PartnerStacksV1"])
        validate_partner(components, lines)
        assert [x["data"] for x in lines if x["type"] == "PartnerStackDeleteV1"] == [
            {"stackId": before["id"]}
        ]
        assert [x["data"]["id"] for x in lines if x["type"] == "PartnerStackV1"] == [after["id"]]
    finally:
        ok(stranger.client.delete(f"/api/partners/{owner.id}"), 204)
    lines = device.sync_and_ack(["PartnerStacksV1"])
    validate_partner(components, lines)
    assert {x["data"]["stackId"] for x in lines if x["type"] == "PartnerStackDeleteV1"} == {
        after["id"]
    }
    ok(stranger.client.delete(f"/api/stacks/{after['id']}"), 204)


# --- automatic stacking at ingest ----------------------------------------------------------


def raw_and_jpeg(source: Path) -> tuple[bytes, bytes]:
    """(DNG, JPEG) of one real photo with the same capture time (module docstring)."""
    original = source.read_bytes()
    with pyexiv2.ImageData(original) as image:
        exif = image.read_exif()
    tiff = bytes(pyvips.Image.new_from_buffer(original, "").tiffsave_buffer())
    with pyexiv2.ImageData(tiff) as image:
        image.modify_exif(
            {
                "Exif.Image.DNGVersion": "1 4 0 0",
                "Exif.Image.Make": exif["Exif.Image.Make"],
                "Exif.Image.Model": exif["Exif.Image.Model"],
                "Exif.Photo.DateTimeOriginal": exif["Exif.Photo.DateTimeOriginal"],
            }
        )
        dng = image.get_bytes()
    return dng, original


def upload_named(user: User, name: str, data: bytes) -> str:
    r = user.client.post(
        "/api/assets",
        files={"assetData": (name, data, "application/octet-stream")},
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "pytest",
            "fileCreatedAt": "2024-01-01T00:00:00.000Z",
            "fileModifiedAt": "2024-01-01T00:00:00.000Z",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def wait_extracted(user: User, ids: list[str], timeout: float = PIPELINE_S) -> None:
    """Wait until the metadata service has stored the EXIF of every asset (automatic stacking
    happens in the same transaction)."""
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for asset_id in list(pending):
            if ok(user.client.get(f"/api/assets/{asset_id}"))["exifInfo"] is not None:
                pending.discard(asset_id)
        time.sleep(0.3)
    assert not pending, f"metadata not extracted in {timeout} s: {pending}"


@pytest.fixture(scope="module")
def auto_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A small stack (no thumbnails, faces, search) whose metadata service stacks at ingest."""
    with running_stack(
        tmp_path_factory.mktemp("auto-stack"),
        services=("ingest", "metadata", "gateway"),
        env={"DARKROOM_AUTO_STACK": "true"},
    ) as running:
        yield running


needs_canon = pytest.mark.skipif(CANON is None or not CANON.is_file(), reason="no samples")


@needs_canon
def test_raw_jpeg_pair_is_stacked_when_on(auto_stack: Stack) -> None:
    assert CANON is not None
    user = first_admin(auto_stack)
    dng, jpg = raw_and_jpeg(CANON)
    raw_id = upload_named(user, "IMG_0042.DNG", dng)
    jpg_id = upload_named(user, "IMG_0042.JPG", jpg)
    other = upload_named(user, "IMG_0043.JPG", jpeg(300))  # another name: never stacked
    wait_extracted(user, [raw_id, jpg_id, other])
    raw_info = ok(user.client.get(f"/api/assets/{raw_id}"))
    assert raw_info["originalMimeType"] == "image/dng"
    assert raw_info["exifInfo"]["dateTimeOriginal"].startswith("2003-12-14T12:01:44")
    stacked = raw_info["stack"]
    assert stacked is not None and stacked["primaryAssetId"] == jpg_id  # the JPEG leads
    assert stacked["assetCount"] == 2
    assert stack_of(user, jpg_id) == stacked
    assert stack_of(user, other) is None
    # the timeline counts the pair once
    buckets = ok(user.client.get("/api/timeline/buckets", params={"withStacked": "true"}))
    assert sum(x["count"] for x in buckets if x["timeBucket"].startswith("2003-12")) == 1


def test_burst_is_stacked_when_on(auto_stack: Stack) -> None:
    user = first_admin(auto_stack)
    names = [
        "IMG_20240101_123456_BURST002.jpg",
        "IMG_20240101_123456_BURST001_COVER.jpg",
        "IMG_20240101_123456_BURST003.jpg",
    ]
    ids = [upload_named(user, name, jpeg(400 + k)) for k, name in enumerate(names)]
    wait_extracted(user, ids)
    found = ok(user.client.get("/api/stacks", params={"primaryAssetId": ids[1]}))
    assert len(found) == 1
    assert {x["id"] for x in found[0]["assets"]} == set(ids)


@needs_canon
def test_raw_jpeg_pair_is_not_stacked_when_off(stack: Stack, admin: User) -> None:
    assert CANON is not None
    user = make_user(stack, admin)
    dng, jpg = raw_and_jpeg(CANON)
    ids = [upload_named(user, "IMG_0042.DNG", dng), upload_named(user, "IMG_0042.JPG", jpg)]
    wait_extracted(user, ids)
    assert [stack_of(user, i) for i in ids] == [None, None]
    assert ok(user.client.get("/api/stacks")) == []


async def test_websocket_tells_the_owner_only(
    stack: Stack,
    owner: User,
    stranger: User,
    photos: dict[str, str],
    listeners: Any,  # noqa: F811 - the fixture imported above
) -> None:
    """``on_asset_stack_update`` (no payload, as Immich 3.1) reaches the stack's owner's
    sockets and not another user's."""
    mine, theirs = listeners(), listeners()
    for client, user in ((mine, owner), (theirs, stranger)):
        client.sio.on("on_asset_stack_update", client._recorder("on_asset_stack_update"))
        await client.connect(stack.url, {"x-api-key": user.api_key})
        await client.wait_for("on_server_version", lambda _: True)
    made = await asyncio.to_thread(create, owner, photos["a"], photos["f"])
    assert await mine.wait_for("on_asset_stack_update", lambda _: True) is None
    # the stranger's own change reaches it after the owner's was dispatched (stream order)
    other = await asyncio.to_thread(create, stranger, photos["theirs"], photos["theirs2"])
    await theirs.wait_for("on_asset_stack_update", lambda _: True)
    assert len(theirs.of("on_asset_stack_update")) == 1
    for user, stack_id in ((owner, made["id"]), (stranger, other["id"])):
        r = await asyncio.to_thread(user.client.delete, f"/api/stacks/{stack_id}")
        assert r.status_code == 204, r.text
