"""Replays Immich's server/src/services/shared-link.service.spec.ts over HTTP on the running stack.

The spec calls ``SharedLinkService`` with mocked repositories; here each case a client can
observe is checked through its route (``SharedLinkController``). Checked here:

- login: a caller that did not come through a link is 403 ``Forbidden``; a link without a
  password is 400 ``Shared link is not password protected`` and sets no cookie;
- create and addAssets: a partner's asset may be shared (``AssetShare`` access: the owner's
  assets and those a partnership shows), an asset of someone else's is not.

The spec's other cases (missing links, ``Invalid albumId``/``Invalid assetIds``, album links
refusing asset changes, per-id add/remove results, ``showMetadata`` turning downloads off, the
Open Graph tags) are covered by tests/test_shared_links.py, tests/test_e2e_shared_link.py and
tests/test_album_link_fields_more.py.
"""

from __future__ import annotations

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, upload_jpeg
from .test_e2e_shared_link import link


@pytest.fixture(scope="module")
def users(stack: Stack, admin: User) -> dict[str, User]:
    """Fresh users of this module's: ``owner``, ``partner`` (shares their library with the
    owner) and ``stranger``."""
    found = {name: make_user(stack, admin) for name in ("owner", "partner", "stranger")}
    r = found["partner"].client.post("/api/partners", json={"sharedWithId": found["owner"].id})
    assert r.status_code == 201, r.text
    return found


@pytest.fixture(scope="module")
def anon(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url, timeout=60)


def test_login_needs_a_link_with_a_password(users: dict[str, User], anon: httpx.Client) -> None:
    owner = users["owner"]
    asset = upload_jpeg(owner, noise_jpeg(5101))
    r = owner.client.post("/api/shared-links/login", json={"password": "x"})
    assert (r.status_code, r.json()) == (403, {"message": "Forbidden"}), r.text
    key = link(owner, type="INDIVIDUAL", assetIds=[asset])["key"]
    r = anon.post("/api/shared-links/login", params={"key": key}, json={"password": "x"})
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Shared link is not password protected"
    assert "set-cookie" not in r.headers


def test_partner_assets_may_be_shared(users: dict[str, User]) -> None:
    owner, partner, stranger = users["owner"], users["partner"], users["stranger"]
    theirs = upload_jpeg(partner, noise_jpeg(5102))
    made = link(owner, type="INDIVIDUAL", assetIds=[theirs])
    assert [a["id"] for a in made["assets"]] == [theirs]
    more, foreign = upload_jpeg(partner, noise_jpeg(5103)), upload_jpeg(stranger, noise_jpeg(5104))
    r = owner.client.put(
        f"/api/shared-links/{made['id']}/assets", json={"assetIds": [more, foreign]}
    )
    assert r.status_code == 200, r.text
    assert r.json() == [
        {"assetId": more, "success": True},
        {"assetId": foreign, "success": False, "error": "no_permission"},
    ]
    r = owner.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [foreign]})
    assert r.status_code == 400, r.text
