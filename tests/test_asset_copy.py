"""``PUT /api/assets/copy`` on the session stack: the target gets the source's albums, shared
links, stack, favourite flag and XMP sidecar, each only when its switch is on; both assets must
be the caller's (another user 400 and nothing changes), anonymous 401, shared-link visitor 403."""

from __future__ import annotations

import uuid

import httpx
from darkroom_stack.supervisor import Stack

from tests.conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg

XMP = b"""<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>
<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>
<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'>
<dc:description><rdf:Alt><rdf:li xml:lang='x-default'>copied sidecar</rdf:li></rdf:Alt>
</dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>"""


def _with_sidecar(user: User, seed: int) -> str:
    r = user.client.post(
        "/api/assets",
        files={
            "assetData": ("src.jpg", noise_jpeg(seed), "image/jpeg"),
            "sidecarData": ("src.jpg.xmp", XMP, "application/xml"),
        },
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "pytest",
            "fileCreatedAt": "2020-01-01T00:00:00Z",
            "fileModifiedAt": "2020-01-01T00:00:00Z",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _relations(stack: Stack, user: User, asset_id: str, album: str, link: str) -> dict:
    in_album = db_rows(
        stack,
        "SELECT 1 FROM album_assets WHERE album_id = $1 AND asset_id = $2",
        uuid.UUID(album),
        uuid.UUID(asset_id),
    )
    link_ids = {a["id"] for a in user.client.get(f"/api/shared-links/{link}").json()["assets"]}
    info = user.client.get(f"/api/assets/{asset_id}").json()
    row = db_rows(stack, "SELECT sidecar_path FROM assets WHERE id = $1", uuid.UUID(asset_id))[0]
    return {
        "album": bool(in_album),
        "link": asset_id in link_ids,
        "stack": (info.get("stack") or {}).get("id"),
        "favorite": info["isFavorite"],
        "sidecar": row["sidecar_path"],
    }


def test_copy_gives_the_target_what_the_source_has(stack: Stack, admin: User) -> None:
    owner = make_user(stack, admin)
    source = _with_sidecar(owner, 9101)
    partner = upload_jpeg(owner, noise_jpeg(9102))
    target, untouched = upload_jpeg(owner, noise_jpeg(9103)), upload_jpeg(owner, noise_jpeg(9104))
    album = owner.client.post("/api/albums", json={"albumName": "c", "assetIds": [source]})
    assert album.status_code == 201, album.text
    album_id = album.json()["id"]
    link = owner.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [source]})
    assert link.status_code == 201, link.text
    link_id = link.json()["id"]
    stacked = owner.client.post("/api/stacks", json={"assetIds": [source, partner]})
    assert stacked.status_code == 201, stacked.text
    r = owner.client.put("/api/assets", json={"ids": [source], "isFavorite": True})
    assert r.status_code == 204, r.text

    # every switch off: nothing moves
    off = {
        "albums": False,
        "sharedLinks": False,
        "stack": False,
        "favorite": False,
        "sidecar": False,
    }
    r = owner.client.put(
        "/api/assets/copy", json={"sourceId": source, "targetId": untouched, **off}
    )
    assert r.status_code == 204, r.text
    assert _relations(stack, owner, untouched, album_id, link_id) == {
        "album": False,
        "link": False,
        "stack": None,
        "favorite": False,
        "sidecar": None,
    }

    r = owner.client.put("/api/assets/copy", json={"sourceId": source, "targetId": target})
    assert r.status_code == 204, r.text
    got = _relations(stack, owner, target, album_id, link_id)
    assert got["album"] and got["link"] and got["favorite"] is True
    assert got["stack"] == stacked.json()["id"]
    assert got["sidecar"] and got["sidecar"].endswith(".xmp")
    src = db_rows(stack, "SELECT sidecar_path FROM assets WHERE id = $1", uuid.UUID(source))[0]
    root = stack.config.data_dir / "storage"
    assert got["sidecar"] != src["sidecar_path"]
    assert (root / got["sidecar"]).read_bytes() == XMP
    # the source keeps everything
    kept = _relations(stack, owner, source, album_id, link_id)
    assert kept["album"] and kept["link"] and kept["favorite"] and kept["sidecar"]
    # again: nothing new, still 204
    r = owner.client.put("/api/assets/copy", json={"sourceId": source, "targetId": target})
    assert r.status_code == 204, r.text


def test_copy_is_refused_to_others(stack: Stack, admin: User, other_user: User) -> None:
    owner = make_user(stack, admin)
    source = upload_jpeg(owner, noise_jpeg(9201))
    target = upload_jpeg(owner, noise_jpeg(9202))
    theirs = upload_jpeg(other_user, noise_jpeg(9203))
    r = owner.client.put("/api/assets", json={"ids": [source], "isFavorite": True})
    assert r.status_code == 204, r.text
    body = {"sourceId": source, "targetId": target}
    for client, payload in (
        (other_user.client, body),
        (other_user.client, {"sourceId": source, "targetId": theirs}),
        (owner.client, {"sourceId": source, "targetId": theirs}),
        (owner.client, {"sourceId": theirs, "targetId": target}),
    ):
        r = client.put("/api/assets/copy", json=payload)
        assert r.status_code == 400, (payload, r.text)
        assert r.json()["message"] == "Not found or no asset.copy access"
    assert other_user.client.get(f"/api/assets/{theirs}").json()["isFavorite"] is False
    assert owner.client.get(f"/api/assets/{target}").json()["isFavorite"] is False
    anon = httpx.Client(base_url=stack.url, timeout=60)
    assert anon.put("/api/assets/copy", json=body).status_code == 401
    link = owner.client.post(
        "/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [source, target]}
    )
    assert link.status_code == 201, link.text
    visitor = anon.put("/api/assets/copy", json=body, params={"key": link.json()["key"]})
    assert visitor.status_code == 403, visitor.text
    assert owner.client.get(f"/api/assets/{target}").json()["isFavorite"] is False
    bad = owner.client.put("/api/assets/copy", json={"sourceId": "nope", "targetId": target})
    assert bad.status_code == 400
