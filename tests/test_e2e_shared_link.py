"""Replays Immich's e2e/src/api/specs/shared-link.e2e-spec.ts against the running embedded stack.

Checked here, each of which Darkroom answered otherwise before: the public page of a link
(``/share/<key>``, ``/s/<slug>``) carries ``<meta name="description" content="<n> shared photos
&amp; videos" />`` (the count of the album's or the link's assets) besides the Open Graph and
Twitter tags, written as Immich's server renders them; the page of an unknown key is the plain
``index.html`` answered 404, with no Open Graph tag.

The spec's API cases (list, filter by album, /shared-links/me for keys, soft-deleted targets,
metadata hiding, add/remove assets by link type, 400 for unknown ids) held already and are
covered by tests/test_shared_links.py and tests/test_album_link_fields_more.py. Left as they are:
a password sent as a query parameter of GET /shared-links/me (Immich 3.1's spec has no such
parameter; the password goes through POST /shared-links/login), the ``og:image`` fallback to
``https://my.immich.app`` without a Host header (Darkroom runs offline and names itself), and
a password link's page, which Darkroom titles "Password required" instead of leaving untagged.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose links are only this module's."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def anon(stack: Stack) -> httpx.Client:
    """A client with no credentials (a visitor opening the link)."""
    return httpx.Client(base_url=stack.url, timeout=60)


def link(owner: User, **body: object) -> dict[str, Any]:
    """``POST /api/shared-links`` as ``owner`` with ``body``; the link made (201 asserted)."""
    r = owner.client.post("/api/shared-links", json=body)
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


def page(anon: httpx.Client, path: str, status: int = 200) -> str:
    r = anon.get(path)
    assert r.status_code == status, r.text
    assert "text/html" in r.headers["content-type"]
    if "<title>" not in r.text:
        pytest.skip("web app not built")
    return r.text


def description(count: int) -> str:
    return f'<meta name="description" content="{count} shared photos &amp; videos" />'


def test_share_page_describes_the_asset_count(owner: User, anon: httpx.Client) -> None:
    asset = upload_jpeg(owner, noise_jpeg(8801))
    empty = owner.client.post("/api/albums", json={"albumName": "album"}).json()["id"]
    slug = f"metadata-{uuid.uuid4().hex[:8]}"
    individual = link(owner, type="INDIVIDUAL", assetIds=[asset], slug=slug)
    album = link(owner, type="ALBUM", albumId=empty)
    assert description(1) in page(anon, f"/share/{individual['key']}")
    assert description(1) in page(anon, f"/s/{slug}")
    text = page(anon, f"/share/{album['key']}")
    assert description(0) in text
    assert '<meta name="twitter:card" content="summary_large_image" />' in text
    assert '<meta property="og:title" content="album" />' in text


def test_unknown_link_page_is_404(anon: httpx.Client) -> None:
    text = page(anon, "/share/invalid-key", 404)
    for tag in ("og:type", "og:title", "og:description", "og:image"):
        assert tag not in text
    page(anon, "/s/no-such-slug", 404)
