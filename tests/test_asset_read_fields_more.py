"""Asset reads and media: behaviours of Immich's that no other test exercises.

* ``GET /api/assets/{id}`` gives every viewer the asset's tags: Immich's ``AssetService.get``
  loads them (``getById(id, { tags: true })``) for any caller with ``asset.read`` and
  ``mapAsset`` maps them; only the people are the owner's alone (``data.people = []`` for
  anyone else) and the favourite flag (``isFavorite`` of the owner only). An album member, a
  partner and a link visitor with ``showMetadata`` see the owner's tags; a stranger is refused.
  The link visitor's asset is mapped ``withStack`` too (``stack`` null when in none).
* ``resized`` is true (``mapAsset`` sets ``resized: true``).
* Through a shared link that hides metadata, the asset is the sanitized one
  (``mapAsset(asset, { stripMetadata: true })``: SanitizedAssetResponseDto): no file name,
  path, dates but ``localDateTime``, owner or checksum; ``hasMetadata`` false.
* ``GET /api/assets/{id}/thumbnail?size=original`` is refused, 400 "May not request original
  file" (``AssetMediaService.viewThumbnail``).
* A shared-link visitor gets the edited rendering when there is one, without asking
  (``viewThumbnail`` and ``downloadOriginal`` set ``dto.edited = true`` for a shared link).
* Media name their file inline, as Immich's ``sendFile`` does (``Content-Disposition: inline;
  filename*=UTF-8''...``): the original by its file name; a thumbnail or preview as
  ``<name>_<size>.<ext>``, with the asset id for the name through a link that hides metadata
  (``viewThumbnail``'s ``fileNameBase``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg, wait_processed

#: The members of Immich's SanitizedAssetResponseDto.
SANITIZED = {
    "id",
    "type",
    "thumbhash",
    "originalMimeType",
    "localDateTime",
    "duration",
    "livePhotoVideoId",
    "hasMetadata",
    "width",
    "height",
}


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def member(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def partner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def anon(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        yield client


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, (r.status_code, r.text)
    return r.json() if r.content else None


def _wait_for(check: Callable[[], Any], what: str, ceiling: float = 180) -> Any:
    deadline = time.monotonic() + ceiling
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"no {what} within {ceiling} s")


@pytest.fixture(scope="module")
def photo(owner: User) -> str:
    """A processed photo of ``owner``'s (file name ``gen.jpg``)."""
    asset_id = upload_jpeg(owner, noise_jpeg(4711))
    wait_processed(owner, [asset_id])
    return asset_id


def _link(owner: User, asset_id: str, **body: Any) -> str:
    link = ok(
        owner.client.post(
            "/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [asset_id], **body}
        ),
        201,
    )
    return str(link["key"])


def test_every_viewer_sees_the_tags(
    owner: User, member: User, partner: User, stranger: User, anon: httpx.Client, photo: str
) -> None:
    tag = ok(owner.client.post("/api/tags", json={"name": "Seen/By/All"}), 201)
    ok(owner.client.put(f"/api/tags/{tag['id']}/assets", json={"ids": [photo]}))
    ok(
        owner.client.post(
            "/api/albums",
            json={
                "albumName": "Tags",
                "assetIds": [photo],
                "albumUsers": [{"userId": member.id, "role": "viewer"}],
            },
        ),
        201,
    )
    ok(owner.client.post("/api/partners", json={"sharedWithId": partner.id}), 201)
    ok(owner.client.put(f"/api/assets/{photo}", json={"isFavorite": True}))
    key = _link(owner, photo, showMetadata=True)

    mine = ok(owner.client.get(f"/api/assets/{photo}"))
    assert [t["value"] for t in mine["tags"]] == ["Seen/By/All"]
    assert mine["resized"] is True and mine["isFavorite"] is True
    for seen in (
        ok(member.client.get(f"/api/assets/{photo}")),
        ok(partner.client.get(f"/api/assets/{photo}")),
        ok(anon.get(f"/api/assets/{photo}", params={"key": key})),
    ):
        assert [t["id"] for t in seen["tags"]] == [tag["id"]], seen
        assert seen["people"] == [] and seen["isFavorite"] is False
        assert seen["resized"] is True
        assert seen["stack"] is None  # mapped withStack, a link visitor's too: in no stack
    r = stranger.client.get(f"/api/assets/{photo}")
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Not found or no asset.read access"


def test_a_link_hiding_metadata_gets_the_sanitized_asset(
    owner: User, anon: httpx.Client, photo: str
) -> None:
    key = _link(owner, photo, showMetadata=False)
    seen = ok(anon.get(f"/api/assets/{photo}", params={"key": key}))
    assert set(seen) <= SANITIZED, sorted(set(seen) - SANITIZED)
    assert seen["id"] == photo and seen["type"] == "IMAGE" and seen["hasMetadata"] is False
    assert seen["originalMimeType"] == "image/jpeg" and seen["width"] == 64
    me = ok(anon.get("/api/shared-links/me", params={"key": key}))
    assert [set(a) <= SANITIZED for a in me["assets"]] == [True], me["assets"]


def test_thumbnail_refuses_the_original_size(owner: User, photo: str) -> None:
    r = owner.client.get(f"/api/assets/{photo}/thumbnail", params={"size": "original"})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "May not request original file"


def test_media_name_their_file_inline(owner: User, anon: httpx.Client, photo: str) -> None:
    original = owner.client.get(f"/api/assets/{photo}/original")
    assert original.status_code == 200
    disposition = original.headers["content-disposition"]
    assert disposition.startswith("inline; ") and "filename*=UTF-8''gen.jpg" in disposition
    for size in ("thumbnail", "preview"):
        r = owner.client.get(f"/api/assets/{photo}/thumbnail", params={"size": size})
        assert r.status_code == 200
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("inline; "), disposition
        assert f"filename*=UTF-8''gen_{size}." in disposition, disposition
    key = _link(owner, photo, showMetadata=False)
    r = anon.get(f"/api/assets/{photo}/thumbnail", params={"key": key})
    assert r.status_code == 200
    assert f"filename*=UTF-8''{photo}_thumbnail." in r.headers["content-disposition"]


def _halves() -> bytes:
    """A 96x48 JPEG: left half red, right half blue."""
    red = pyvips.Image.black(48, 48).new_from_image([255, 0, 0])
    blue = pyvips.Image.black(48, 48).new_from_image([0, 0, 255])
    return bytes(red.join(blue, "horizontal").copy(interpretation="srgb").jpegsave_buffer(Q=91))


def _red_left(r: httpx.Response) -> bool:
    """Whether the image answered has red on its left (the unedited ``_halves``)."""
    assert r.status_code == 200, r.text
    image = pyvips.Image.new_from_buffer(r.content, "")
    return bool(image(image.width // 8, image.height // 2)[0] > 200)


def test_link_visitors_get_the_edited_rendering(owner: User, anon: httpx.Client) -> None:
    asset_id = upload_jpeg(owner, _halves())
    wait_processed(owner, [asset_id])
    _wait_for(lambda: owner.client.get(f"/api/assets/{asset_id}").json()["width"], "metadata")
    mirror = [{"action": "mirror", "parameters": {"axis": "horizontal"}}]
    ok(owner.client.put(f"/api/assets/{asset_id}/edits", json={"edits": mirror}))
    thumb = f"/api/assets/{asset_id}/thumbnail"
    _wait_for(
        lambda: not _red_left(owner.client.get(thumb, params={"edited": True})), "edited thumbnail"
    )
    _wait_for(
        lambda: (
            not _red_left(
                owner.client.get(f"/api/assets/{asset_id}/original", params={"edited": True})
            )
        ),
        "edited full size",
    )
    assert _red_left(owner.client.get(thumb))  # the owner asked for nothing: unedited
    key = _link(owner, asset_id, allowDownload=True)
    for size in ("thumbnail", "preview"):
        assert not _red_left(anon.get(thumb, params={"key": key, "size": size})), size
    assert not _red_left(anon.get(f"/api/assets/{asset_id}/original", params={"key": key}))
