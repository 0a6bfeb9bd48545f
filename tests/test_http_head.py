"""HEAD requests answer as GET does, without the body, on every GET route.

Immich's server is NestJS on Express, whose router answers ``HEAD`` with the ``GET`` handler of
the path (express ``lib/router/route.js``: ``_handles_method`` takes ``head`` for ``get``) and
whose HTTP layer (Node's ``http.ServerResponse`` for a HEAD request) writes the status and
headers but no body. So every GET route of the API, the media routes included (``sendFile``:
``Content-Length``, ``ETag``, ``Accept-Ranges``, ``Cache-Control``, 206 for a ``Range``, 304 for
a matching ``If-None-Match``), answers HEAD with GET's status and headers; the guards run as for
GET (401 anonymous, 400 for another user's asset, a shared link's ``key`` opens what it opens).
Clients use it to probe a file before downloading it (size, type, validator).

The module runs a small stack of its own (ingest, metadata, thumbnail, gateway).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack
from darkroom_transcode.testing import make_clip

from .conftest import (
    User,
    first_admin,
    make_user,
    noise_jpeg,
    running_stack,
    upload,
    upload_jpeg,
    wait_processed,
)

#: Headers that differ between two requests whatever their method.
PER_REQUEST = {"date", "x-immich-cid"}


@pytest.fixture(scope="module")
def hstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("head"), services=("ingest", "metadata", "thumbnail", "gateway")
    ) as running:
        yield running


@pytest.fixture(scope="module")
def owner(hstack: Stack) -> User:
    return first_admin(hstack)


@pytest.fixture(scope="module")
def anon(hstack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hstack.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def photo(owner: User) -> str:
    """A processed small photo of the owner's (its original is read at once)."""
    asset_id = upload_jpeg(owner, noise_jpeg(4201))
    wait_processed(owner, [asset_id])
    return asset_id


def big_jpeg() -> bytes:
    """A JPEG of random pixels well over the gateway's one-read size (256 KiB): streamed."""
    pixels = np.random.default_rng(4202).integers(0, 255, size=(600, 800, 3), dtype=np.uint8)
    data = bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=95))
    assert len(data) > 512 * 1024
    return data


def assert_head_as_get(
    client: httpx.Client, url: str, status: int, **kwargs: object
) -> httpx.Response:
    """HEAD ``url`` answers GET's ``status`` with GET's headers and an empty body; the HEAD
    response."""
    got = client.get(url, **kwargs)  # type: ignore[arg-type]
    head = client.head(url, **kwargs)  # type: ignore[arg-type]
    assert got.status_code == status, got.text[:300]
    assert head.status_code == status, (url, head.status_code, head.headers)
    assert head.content == b""
    drop = PER_REQUEST | {"transfer-encoding"}
    expected = {k: v for k, v in got.headers.items() if k not in drop}
    assert {k: v for k, v in head.headers.items() if k not in drop} == expected, url
    if "content-length" in got.headers:  # a rendered body: its length, not the HEAD's (0)
        assert int(head.headers["content-length"]) == len(got.content)
    return head


def test_head_of_json_routes_answers_as_get(owner: User, anon: httpx.Client, photo: str) -> None:
    """The JSON routes: the same status, type and length as GET, anonymous or signed in."""
    assert_head_as_get(anon, "/api/server/ping", 200)
    assert_head_as_get(anon, "/api/server/version", 200)
    me = assert_head_as_get(owner.client, "/api/users/me", 200)
    assert me.headers["content-type"].startswith("application/json")
    assert_head_as_get(owner.client, f"/api/assets/{photo}", 200)
    assert_head_as_get(owner.client, "/api/timeline/buckets", 200)


def test_head_of_media_answers_as_get(owner: User, photo: str) -> None:
    """Originals and thumbnails: type, length, ETag, Cache-Control, Accept-Ranges and
    Content-Disposition as GET sends them (Immich's ``sendFile``), ranges and revalidation
    included."""
    for url in (
        f"/api/assets/{photo}/original",
        f"/api/assets/{photo}/thumbnail",
        f"/api/assets/{photo}/thumbnail?size=preview",
    ):
        head = assert_head_as_get(owner.client, url, 200)
        assert head.headers["etag"] and head.headers["accept-ranges"] == "bytes"
        assert int(head.headers["content-length"]) > 0
    original = assert_head_as_get(owner.client, f"/api/assets/{photo}/original", 200)
    assert original.headers["content-type"] == "image/jpeg"
    etag = original.headers["etag"]
    assert_head_as_get(
        owner.client, f"/api/assets/{photo}/original", 304, headers={"If-None-Match": etag}
    )
    part = assert_head_as_get(
        owner.client, f"/api/assets/{photo}/original", 206, headers={"Range": "bytes=0-99"}
    )
    assert part.headers["content-range"].startswith("bytes 0-99/")
    assert part.headers["content-length"] == "100"
    assert_head_as_get(
        owner.client, f"/api/assets/{photo}/original", 416, headers={"Range": "bytes=99999999-"}
    )


def test_head_of_a_streamed_original_and_a_video(owner: User, tmp_path: Path) -> None:
    """A large original (streamed by GET) and a video's playback: the stored size as the length,
    nothing sent."""
    big = upload_jpeg(owner, big_jpeg())
    head = assert_head_as_get(owner.client, f"/api/assets/{big}/original", 200)
    assert int(head.headers["content-length"]) > 512 * 1024
    part = assert_head_as_get(
        owner.client, f"/api/assets/{big}/original", 206, headers={"Range": "bytes=1000-"}
    )
    assert int(part.headers["content-length"]) == int(head.headers["content-length"]) - 1000

    clip = make_clip(
        tmp_path / f"head-{uuid.uuid4().hex[:6]}.mp4", seconds=1, width=160, height=120
    )
    r = upload(owner, clip)
    assert r.status_code == 201, r.text
    video = r.json()["id"]
    wait_processed(owner, [video])
    play = assert_head_as_get(owner.client, f"/api/assets/{video}/video/playback", 200)
    assert play.headers["content-type"] == "video/mp4"
    assert play.headers["content-length"] == str(clip.stat().st_size)


def test_head_runs_the_same_access_checks(
    hstack: Stack, owner: User, anon: httpx.Client, photo: str
) -> None:
    """Anonymous callers, another user and a shared link's visitor get what GET gives them."""
    stranger = make_user(hstack, owner)
    for url in (f"/api/assets/{photo}/original", f"/api/assets/{photo}/thumbnail", "/api/users/me"):
        assert_head_as_get(anon, url, 401)
    assert_head_as_get(stranger.client, f"/api/assets/{photo}/original", 400)
    assert_head_as_get(stranger.client, f"/api/assets/{photo}/thumbnail", 400)
    assert_head_as_get(stranger.client, f"/api/assets/{photo}", 400)
    assert_head_as_get(owner.client, "/api/assets/not-a-uuid/original", 400)
    assert_head_as_get(owner.client, f"/api/assets/{uuid.uuid4()}/original", 400)

    outside = upload_jpeg(owner, noise_jpeg(4203))
    r = owner.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [photo]})
    assert r.status_code == 201, r.text
    key = {"key": r.json()["key"]}
    assert_head_as_get(anon, f"/api/assets/{photo}/original", 200, params=key)
    assert_head_as_get(anon, f"/api/assets/{photo}/thumbnail", 200, params=key)
    assert_head_as_get(anon, f"/api/assets/{outside}/original", 400, params=key)
    assert_head_as_get(anon, "/api/shared-links/me", 200, params=key)
    assert_head_as_get(anon, "/api/shared-links/me", 401, params={"key": "nope"})


def test_head_of_the_web_app(anon: httpx.Client) -> None:
    """The web app's pages and files (Immich serves them for HEAD too)."""
    assert_head_as_get(anon, "/", anon.get("/").status_code)
    assert_head_as_get(anon, "/photos", anon.get("/photos").status_code)
