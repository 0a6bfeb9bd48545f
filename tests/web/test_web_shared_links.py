"""Public shared links in a real browser: the public page logged out (desktop and phone width),
with and without password, opening, downloading and uploading; making a link in the album's
Share dialog and managing it on the Shared links page.

Screenshots: ``test-output/web/shared-*.png``.
"""

from __future__ import annotations

import os
import re
import time

import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, upload_jpeg
from tests.web.conftest import (
    TIMEOUT_MS,
    axe_violations,
    needs_build,
    shot,
    signed_in_page,
    watch_errors,
)

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


def jpeg() -> bytes:
    image = pyvips.Image.new_from_memory(os.urandom(64 * 48 * 3), 64, 48, 3, "uchar")
    return bytes(image.jpegsave_buffer(Q=90))


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def _album(owner: User, name: str, count: int) -> tuple[str, list[str]]:
    ids = [upload_jpeg(owner, jpeg()) for _ in range(count)]
    r = owner.client.post("/api/albums", json={"albumName": name, "assetIds": ids})
    assert r.status_code == 201, r.text
    return r.json()["id"], ids


def _visitor(browser: object, stack: Stack, size: tuple[int, int]) -> object:
    """A logged-out page (no cookies) at ``size``; errors and CSP violations collected."""
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": size[0], "height": size[1]}, base_url=stack.url
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.errors = watch_errors(page)
    return page


@pytest.mark.parametrize("width", list(WIDTHS))
def test_public_page_logged_out(browser: object, stack: Stack, owner: User, width: str) -> None:
    needs_build()
    album_id, ids = _album(owner, f"Sunny {width}", 2)
    link = owner.client.post(
        "/api/shared-links",
        json={"type": "ALBUM", "albumId": album_id, "allowUpload": True, "description": "Hi"},
    ).json()
    page = _visitor(browser, stack, WIDTHS[width])
    for asset_id in ids:  # thumbnails exist before the page shows them
        _wait_thumb(owner, asset_id)
    page.goto(f"/share/{link['key']}")  # type: ignore[attr-defined]
    page.get_by_role("heading", name=f"Sunny {width}").wait_for()  # type: ignore[attr-defined]
    assert (
        page.get_by_text("Shared by")
        .inner_text()
        .endswith(  # type: ignore[attr-defined]
            "Other"
        )
    )
    grid = page.get_by_role("list", name="Shared photos and videos")  # type: ignore[attr-defined]
    tiles = grid.get_by_role("button", name="Open photo")
    tiles.nth(1).wait_for()
    assert tiles.count() == 2
    page.wait_for_function(  # type: ignore[attr-defined]  # the thumbnails load through the key
        "() => [...document.querySelectorAll('.grid img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.url.endswith(f"/share/{link['key']}")  # type: ignore[attr-defined]
    shot(page, f"shared-public-{width}")
    assert axe_violations(page) == []

    tiles.first.click()
    viewer = page.get_by_role("dialog", name="Viewer")  # type: ignore[attr-defined]
    image = viewer.get_by_role("img", name="Shared")
    image.wait_for()
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { const i = document.querySelector('.viewer img'); "
        "return i && i.complete && i.naturalWidth > 0; }"
    )
    download = viewer.get_by_role("link", name="Download")
    assert "/original?key=" in (download.get_attribute("href") or "")
    shot(page, f"shared-viewer-{width}")
    viewer.get_by_role("button", name="Close").click()

    page.locator("input[type=file]").set_input_files(  # type: ignore[attr-defined]
        [{"name": "visitor.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    page.get_by_role("status").get_by_text("Uploaded 1 file").wait_for()  # type: ignore[attr-defined]
    tiles.nth(2).wait_for()
    album = owner.client.get(f"/api/albums/{album_id}").json()
    assert album["assetCount"] == 3
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def _wait_thumb(owner: User, asset_id: str) -> None:
    """Poll (generous ceiling) until the asset's thumbnail is rendered."""
    deadline = time.monotonic() + 120
    while owner.client.get(f"/api/assets/{asset_id}/thumbnail").status_code != 200:
        assert time.monotonic() < deadline, f"no thumbnail for {asset_id}"
        time.sleep(0.3)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_password_page_asks_first(browser: object, stack: Stack, owner: User, width: str) -> None:
    needs_build()
    album_id, ids = _album(owner, f"Secret {width}", 1)
    slug = f"secret-{width}-{os.urandom(3).hex()}"
    link = owner.client.post(
        "/api/shared-links",
        json={"type": "ALBUM", "albumId": album_id, "password": "letmein", "slug": slug},
    )
    assert link.status_code == 201, link.text
    _wait_thumb(owner, ids[0])
    page = _visitor(browser, stack, WIDTHS[width])
    page.goto(f"/s/{slug}")  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Password required").wait_for()  # type: ignore[attr-defined]
    assert page.get_by_role("button", name="Open photo").count() == 0  # type: ignore[attr-defined]
    shot(page, f"shared-password-{width}")
    assert axe_violations(page) == []
    page.get_by_label("Password", exact=True).fill("wrong")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Open", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_role("alert").get_by_text("Wrong password.").wait_for()  # type: ignore[attr-defined]
    page.get_by_label("Password", exact=True).fill("letmein")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Open", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_role("heading", name=f"Secret {width}").wait_for()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Open photo").first.wait_for()  # type: ignore[attr-defined]
    assert page.get_by_role("heading", name="Password required").count() == 0  # type: ignore[attr-defined]
    page.reload()  # type: ignore[attr-defined]  # the cookie keeps it open
    page.get_by_role("button", name="Open photo").first.wait_for()  # type: ignore[attr-defined]
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_create_link_in_share_dialog(browser: object, stack: Stack, owner: User) -> None:
    needs_build()
    album_id, _ = _album(owner, "Dialog album", 1)
    page = signed_in_page(browser, stack, owner)
    page.goto(f"/albums/{album_id}")  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Dialog album").wait_for()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Share", exact=True).click()  # type: ignore[attr-defined]
    dialog = page.get_by_role("dialog", name=re.compile("Share"))  # type: ignore[attr-defined]
    dialog.get_by_label("Description").fill("For the family")
    dialog.get_by_label("Expire after").select_option(label="7 days")
    dialog.get_by_label("Allow public upload").check()
    dialog.get_by_role("button", name="Create link").click()
    url = dialog.get_by_label("Shared link URL")
    url.wait_for()
    assert re.search(r"/share/[A-Za-z0-9_-]{60,}$", url.input_value())
    shot(page, "shared-dialog")
    links = owner.client.get("/api/shared-links", params={"albumId": album_id}).json()
    assert len(links) == 1
    made = links[0]
    assert made["description"] == "For the family" and made["allowUpload"] is True
    assert made["expiresAt"] is not None and url.input_value().endswith(made["key"])
    dialog.get_by_role("button", name="Done").click()

    page.goto("/sharing/sharedlinks")  # type: ignore[attr-defined]
    row = page.locator(f"li[data-link-id='{made['id']}']")  # type: ignore[attr-defined]
    row.get_by_text("Dialog album").wait_for()
    row.get_by_role("button", name=re.compile("^Edit link")).click()
    row.get_by_label("Description").fill("Renamed")
    row.get_by_role("button", name="Save").click()
    page.get_by_role("status").get_by_text("Link saved").wait_for()  # type: ignore[attr-defined]
    assert owner.client.get(f"/api/shared-links/{made['id']}").json()["description"] == "Renamed"
    shot(page, "shared-links-page")
    assert axe_violations(page) == []
    row.get_by_role("button", name=re.compile("^Delete link")).click()
    page.get_by_role("status").get_by_text("Link deleted").wait_for()  # type: ignore[attr-defined]
    assert owner.client.get("/api/shared-links", params={"albumId": album_id}).json() == []
    assert not page.errors, page.errors  # type: ignore[attr-defined]
