"""The library in a real browser: multi-select with shift-click ranges and bulk actions,
albums made from a selection and shared as viewer then editor, drag-and-drop upload.

Screenshots of every step go to ``test-output/web/library-*.png`` for a person to look at.
Every step checks the page AND the server's state over the API.
"""

from __future__ import annotations

import base64
import io
import re
import zipfile

import pytest
from darkroom_stack.supervisor import Stack
from PIL import Image

from tests.conftest import User, make_user
from tests.web.conftest import UUID, library_owner, needs_build, seed, shot, signed_in_page

TILE = 'main a[data-asset-id="{}"]'


def _order(page: object) -> list[str]:
    """Ids of the tiles in the DOM, in timeline (display) order."""
    return page.eval_on_selector_all(  # type: ignore[attr-defined]
        "main a[data-asset-id]", "els => els.map(e => e.dataset.assetId)"
    )


def _selected(page: object) -> list[str]:
    """Ids of the tiles drawn as selected, in display order."""
    return page.eval_on_selector_all(  # type: ignore[attr-defined]
        "main a[data-selected]", "els => els.map(e => e.dataset.assetId)"
    )


def _check(page: object, asset_id: str, shift: bool = False) -> None:
    """Click the check circle of a tile (hovering first, as a mouse user does)."""
    page.locator(TILE.format(asset_id)).hover()  # type: ignore[attr-defined]
    page.locator(f'button[data-select-id="{asset_id}"]').click(  # type: ignore[attr-defined]
        modifiers=["Shift"] if shift else []
    )


def _count(page: object, n: int) -> None:
    page.get_by_test_id("selection-count").get_by_text(f"{n} selected").wait_for()  # type: ignore[attr-defined]


def _status(page: object, text: str) -> None:
    page.get_by_role("status").get_by_text(text).wait_for()  # type: ignore[attr-defined]


def _jpeg(color: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=90)
    return out.getvalue()


def _drop(page: object, files: list[tuple[str, bytes]], name: str) -> None:
    """Drag files over the page (the overlay shows: screenshot ``name``), then drop them: a
    DataTransfer built in the page from the bytes, dispatched as real DragEvents."""
    payload = [[name, base64.b64encode(data).decode()] for name, data in files]
    transfer = page.evaluate_handle(  # type: ignore[attr-defined]
        """(files) => {
            const dt = new DataTransfer();
            for (const [name, b64] of files) {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                dt.items.add(new File([bytes], name, { type: 'image/jpeg' }));
            }
            return dt;
        }""",
        payload,
    )
    page.dispatch_event("main", "dragenter", {"dataTransfer": transfer})  # type: ignore[attr-defined]
    page.get_by_test_id("drop-overlay").wait_for()  # type: ignore[attr-defined]
    shot(page, name)
    page.dispatch_event("main", "drop", {"dataTransfer": transfer})  # type: ignore[attr-defined]
    page.get_by_test_id("drop-overlay").wait_for(state="detached")  # type: ignore[attr-defined]


def _uploaded(page: object, n: int) -> list[str]:
    """Wait for the upload panel to finish ``n`` files; check its per-file and overall bars;
    return the new asset ids."""
    panel = page.get_by_test_id("upload-panel")  # type: ignore[attr-defined]
    panel.get_by_text(f"Uploaded {n} of {n}").wait_for()
    assert panel.get_by_role("progressbar", name="Overall progress").evaluate("e => e.value") == 100
    rows = panel.locator("li[data-asset-id]")
    assert rows.count() == n and panel.locator("li.error").count() == 0
    for i in range(n):
        assert rows.nth(i).get_by_role("progressbar").evaluate("e => e.value") == 100
    ids = [rows.nth(i).get_attribute("data-asset-id") or "" for i in range(n)]
    assert all(re.fullmatch(UUID, i) for i in ids), ids
    return ids


def _album_assets(user: User, album_id: str) -> set[str]:
    """Every asset id of an album, over the timeline API as ``user`` sees it."""
    ids: set[str] = set()
    buckets = user.client.get("/api/timeline/buckets", params={"albumId": album_id}).json()
    for bucket in buckets:
        columns = user.client.get(
            "/api/timeline/bucket", params={"albumId": album_id, "timeBucket": bucket["timeBucket"]}
        ).json()
        ids.update(columns["id"])
    return ids


def test_select_bulk_actions_album_share_and_drop_upload(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Select (click + shift-click range), bulk favorite/archive/trash/restore, a new album from
    the selection shared with a viewer (no add/remove) then editor (drops a photo in, removes
    it), drag-and-drop upload with progress, and the selection bar at phone width."""
    needs_build()
    owner = library_owner(stack, request)
    friend = make_user(stack, request.getfixturevalue("admin"))
    api = owner.client
    seed(stack, owner.id, 16, 2019, 2019)
    page = signed_in_page(browser, stack, owner)

    page.goto("/photos")  # type: ignore[attr-defined]
    # a function, not a bare expression: Playwright evaluates expressions with eval(), which
    # the app's Content-Security-Policy refuses
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelectorAll('main a[data-asset-id]').length === 16"
    )
    order = _order(page)
    months = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "main section[data-rendered]", "els => els.map(e => e.dataset.month)"
    )
    assert len(months) >= 2, months  # the range below crosses a month boundary
    assert page.get_by_test_id("selection-bar").count() == 0  # type: ignore[attr-defined]

    # Click-select one tile, shift-click another: everything between is selected, in order.
    _check(page, order[2])
    _count(page, 1)
    page.locator(TILE.format(order[10])).click(modifiers=["Shift"])  # type: ignore[attr-defined]
    _count(page, 9)
    assert _selected(page) == order[2:11]
    assert page.url.endswith("/photos")  # type: ignore[attr-defined]  # no viewer opened
    shot(page, "library-01-range-selected")

    # While selecting, a plain click on a tile toggles it instead of opening the viewer.
    page.locator(TILE.format(order[10])).click()  # type: ignore[attr-defined]
    _count(page, 8)
    page.locator(TILE.format(order[10])).click()  # type: ignore[attr-defined]
    _count(page, 9)

    # Bulk favorite: the server says isFavorite for exactly those nine; hearts show in place.
    bar = page.get_by_test_id("selection-bar")  # type: ignore[attr-defined]
    bar.get_by_role("button", name="Favorite", exact=True).click()
    _status(page, "Added 9 items to favorites")
    assert bar.count() == 0  # the selection cleared, the top bar is back
    for i, asset_id in enumerate(order):
        assert api.get(f"/api/assets/{asset_id}").json()["isFavorite"] is (2 <= i <= 10)
    assert page.locator("main .fav").count() == 9  # type: ignore[attr-defined]
    shot(page, "library-02-favorited")

    # Escape clears a selection.
    _check(page, order[0])
    _count(page, 1)
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    bar.wait_for(state="detached")
    assert _selected(page) == []

    # Bulk archive: both leave the timeline (no reload) and appear in /archive.
    _check(page, order[0])
    _check(page, order[1])
    _count(page, 2)
    bar.get_by_role("button", name="Archive", exact=True).click()
    _status(page, "Archived 2 items")
    page.locator(TILE.format(order[0])).wait_for(state="detached")  # type: ignore[attr-defined]
    assert page.locator(TILE.format(order[1])).count() == 0  # type: ignore[attr-defined]
    assert len(_order(page)) == 14
    for asset_id in order[:2]:
        assert api.get(f"/api/assets/{asset_id}").json()["visibility"] == "archive"
    shot(page, "library-03-archived")
    page.goto("/archive")  # type: ignore[attr-defined]
    page.locator(TILE.format(order[1])).wait_for()  # type: ignore[attr-defined]
    assert sorted(_order(page)) == sorted(order[:2])
    shot(page, "library-04-archive-page")
    _check(page, order[1])
    bar.get_by_role("button", name="Unarchive").click()
    _status(page, "Unarchived 1 item")
    page.locator(TILE.format(order[1])).wait_for(state="detached")  # type: ignore[attr-defined]
    assert api.get(f"/api/assets/{order[1]}").json()["visibility"] == "timeline"
    assert _order(page) == [order[0]]

    # Bulk delete to the trash, then restore the selection from /trash ("select day").
    page.goto("/photos")  # type: ignore[attr-defined]
    page.locator(TILE.format(order[12])).wait_for()  # type: ignore[attr-defined]
    _check(page, order[12])
    page.locator(TILE.format(order[13])).click(modifiers=["Shift"])  # type: ignore[attr-defined]
    _count(page, 2)
    bar.get_by_role("button", name="Delete", exact=True).click()
    _status(page, "Moved 2 items to the trash")
    page.locator(TILE.format(order[12])).wait_for(state="detached")  # type: ignore[attr-defined]
    for asset_id in order[12:14]:
        assert api.get(f"/api/assets/{asset_id}").json()["isTrashed"] is True
    page.goto("/trash")  # type: ignore[attr-defined]
    page.locator(TILE.format(order[12])).wait_for()  # type: ignore[attr-defined]
    assert sorted(_order(page)) == sorted(order[12:14])
    day = page.get_by_role("button", name=re.compile("^Select all photos of"))  # type: ignore[attr-defined]
    assert day.count() == 1  # one burst, one day
    day.click()
    _count(page, 2)
    assert sorted(_selected(page)) == sorted(order[12:14])
    assert bar.get_by_role("button", name="Delete permanently").is_visible()
    shot(page, "library-05-trash-selected")
    bar.get_by_role("button", name="Restore", exact=True).click()
    _status(page, "Restored 2 items")
    page.locator(TILE.format(order[12])).wait_for(state="detached")  # type: ignore[attr-defined]
    for asset_id in order[12:14]:
        assert api.get(f"/api/assets/{asset_id}").json()["isTrashed"] is False
    shot(page, "library-06-restored")

    # Delete permanently (after a confirm) from the trash.
    assert api.request("DELETE", "/api/assets", json={"ids": [order[15]]}).status_code == 204
    page.reload()  # type: ignore[attr-defined]
    _check(page, order[15])
    page.once("dialog", lambda dialog: dialog.accept())  # type: ignore[attr-defined]
    bar.get_by_role("button", name="Delete permanently").click()
    _status(page, "Deleted 1 item permanently")
    page.locator(TILE.format(order[15])).wait_for(state="detached")  # type: ignore[attr-defined]
    assert api.get(f"/api/assets/{order[15]}").status_code in (400, 404)

    # "Add to album" -> New album holding exactly the selection.
    page.goto("/photos")  # type: ignore[attr-defined]
    page.locator(TILE.format(order[5])).wait_for()  # type: ignore[attr-defined]
    _check(page, order[5])
    page.locator(TILE.format(order[8])).click(modifiers=["Shift"])  # type: ignore[attr-defined]
    _count(page, 4)
    bar.get_by_role("button", name="Add to album").click()
    dialog = page.get_by_role("dialog", name=re.compile("Add 4 items to an album"))  # type: ignore[attr-defined]
    dialog.get_by_label("New album").fill("Trip 2019")
    shot(page, "library-07-add-to-album")
    dialog.get_by_role("button", name="Create").click()
    _status(page, "Created album Trip 2019 with 4 items")
    albums = [a for a in api.get("/api/albums").json() if a["albumName"] == "Trip 2019"]
    assert len(albums) == 1
    album_id = albums[0]["id"]
    assert _album_assets(owner, album_id) == set(order[5:9])

    # Share it with the friend as a viewer.
    page.goto(f"/albums/{album_id}")  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Trip 2019").wait_for()  # type: ignore[attr-defined]
    page.locator(TILE.format(order[5])).wait_for()  # type: ignore[attr-defined]
    page.get_by_role("button", name="Share", exact=True).click()  # type: ignore[attr-defined]
    share = page.get_by_role("dialog", name=re.compile("Share"))  # type: ignore[attr-defined]
    share.get_by_label("User").select_option(friend.id)
    share.get_by_label("Role", exact=True).select_option("viewer")
    share.get_by_role("button", name="Share", exact=True).click()
    share.get_by_role("status").get_by_text("as viewer").wait_for()
    shot(page, "library-08-share-dialog")
    members = api.get(f"/api/albums/{album_id}").json()["albumUsers"]
    assert {(m["user"]["id"], m["role"]) for m in members} == {
        (owner.id, "owner"),
        (friend.id, "viewer"),
    }
    share.get_by_role("button", name="Done").click()
    page.get_by_test_id("album-members").get_by_text("(viewer)").wait_for()  # type: ignore[attr-defined]

    # The viewer sees it under Albums (shared with me), with the photos, and cannot add/remove.
    guest = signed_in_page(browser, stack, friend)
    guest.goto("/albums")  # type: ignore[attr-defined]
    shared = guest.get_by_role("list", name="Shared with me")  # type: ignore[attr-defined]
    link = shared.locator(f'a[data-album-id="{album_id}"]')
    link.wait_for()
    assert "Shared" in link.inner_text()
    shot(guest, "library-09-guest-albums")
    link.click()
    guest.wait_for_url(f"**/albums/{album_id}")  # type: ignore[attr-defined]
    for asset_id in order[5:9]:  # the album's tiles come as their days are laid out
        guest.locator(TILE.format(asset_id)).wait_for()  # type: ignore[attr-defined]
    assert sorted(_order(guest)) == sorted(order[5:9])
    guest.get_by_text("View only").wait_for()  # type: ignore[attr-defined]
    assert guest.get_by_role("button", name="Share", exact=True).count() == 0  # type: ignore[attr-defined]
    _check(guest, order[5])
    _count(guest, 1)
    guest_bar = guest.get_by_test_id("selection-bar")  # type: ignore[attr-defined]
    assert guest_bar.get_by_role("button", name="Download").is_visible()
    for absent in ("Remove from album", "Add to album", "Delete", "Archive", "Favorite"):
        assert guest_bar.get_by_role("button", name=absent, exact=True).count() == 0, absent
    guest.keyboard.press("Escape")  # type: ignore[attr-defined]
    # Dragging files over the album offers no drop target to a viewer.
    guest.dispatch_event(  # type: ignore[attr-defined]
        "main",
        "dragenter",
        {
            "dataTransfer": guest.evaluate_handle(  # type: ignore[attr-defined]
                "() => { const d = new DataTransfer();"
                " d.items.add(new File(['x'], 'x.jpg')); return d; }"
            )
        },
    )
    assert guest.get_by_test_id("drop-overlay").count() == 0  # type: ignore[attr-defined]
    shot(guest, "library-10-guest-viewer")
    # The server agrees: a viewer cannot remove.
    refused = friend.client.request(
        "DELETE", f"/api/albums/{album_id}/assets", json={"ids": [order[5]]}
    )
    assert refused.status_code == 400  # Immich: "Not found or no albumAsset.delete access"
    assert refused.json()["message"] == "Not found or no albumAsset.delete access"

    # The owner makes them an editor: they drop a photo into the album and can remove it.
    page.get_by_role("button", name="Share", exact=True).click()  # type: ignore[attr-defined]
    share.get_by_label(re.compile("Role of")).select_option("editor")
    share.get_by_role("status").get_by_text("is now editor").wait_for()
    assert {
        (m["user"]["id"], m["role"])
        for m in api.get(f"/api/albums/{album_id}").json()["albumUsers"]
    } == {
        (owner.id, "owner"),
        (friend.id, "editor"),
    }
    share.get_by_role("button", name="Done").click()

    guest.reload()  # type: ignore[attr-defined]
    guest.locator(TILE.format(order[5])).wait_for()  # type: ignore[attr-defined]
    # the album (and so their role) has loaded: an editor's "Add photos", the drop zone with it
    guest.get_by_role("button", name="Add photos").wait_for()  # type: ignore[attr-defined]
    assert guest.get_by_text("View only").count() == 0  # type: ignore[attr-defined]
    _drop(guest, [("guest-red.jpg", _jpeg((200, 30, 30)))], "library-11-guest-drop-overlay")
    (mine,) = _uploaded(guest, 1)
    guest.locator(TILE.format(mine)).wait_for()  # type: ignore[attr-defined]
    assert _album_assets(owner, album_id) == {*order[5:9], mine}
    shot(guest, "library-12-guest-dropped-into-album")
    _check(guest, mine)
    _count(guest, 1)
    guest_bar.get_by_role("button", name="Remove from album").click()
    _status(guest, "Removed 1 item from the album")
    guest.locator(TILE.format(mine)).wait_for(state="detached")  # type: ignore[attr-defined]
    assert _album_assets(owner, album_id) == set(order[5:9])
    assert friend.client.get(f"/api/assets/{mine}").json()["isTrashed"] is False  # still theirs
    shot(guest, "library-13-guest-removed")
    assert guest.errors == [], guest.errors  # type: ignore[attr-defined]
    guest.context.close()  # type: ignore[attr-defined]

    # Drag-and-drop upload on the photos page: per-file and overall progress, tiles appear.
    page.goto("/photos")  # type: ignore[attr-defined]
    page.locator(TILE.format(order[2])).wait_for()  # type: ignore[attr-defined]
    colors = [(30, 160, 60), (40, 70, 200), (230, 200, 40)]
    files = [(f"drop-{i}.jpg", _jpeg(c, (80 + i, 60))) for i, c in enumerate(colors)]
    _drop(page, files, "library-14-drop-overlay")
    ids = _uploaded(page, 3)
    for asset_id in ids:
        page.locator(TILE.format(asset_id)).wait_for()  # type: ignore[attr-defined]
        assert api.get(f"/api/assets/{asset_id}").json()["originalFileName"].startswith("drop-")
    page.evaluate("window.scrollTo(0, 0)")  # type: ignore[attr-defined]
    shot(page, "library-15-dropped")

    # Download the three: a ZIP of their originals (the bytes dropped in).
    for asset_id in ids:
        _check(page, asset_id)
    _count(page, 3)
    with page.expect_download() as download:  # type: ignore[attr-defined]
        bar.get_by_role("button", name="Download").click()
    _status(page, "Downloading 3 items")
    with zipfile.ZipFile(download.value.path()) as archive:
        contents = sorted(archive.read(name) for name in archive.namelist())
    assert contents == sorted(data for _, data in files)

    # Phone width: the selection bar fits and its controls work.
    page.set_viewport_size({"width": 390, "height": 844})  # type: ignore[attr-defined]
    page.get_by_role("button", name="Close uploads").click()  # type: ignore[attr-defined]
    _check(page, order[11])
    _count(page, 1)
    fits = page.evaluate(  # type: ignore[attr-defined]
        """() => { const bar = document.querySelector('[data-testid="selection-bar"]');
            return [...bar.querySelectorAll('button')].map((b) => {
                const r = b.getBoundingClientRect();
                const inside = r.left >= 0 && r.right <= innerWidth;
                return [b.textContent.trim(), inside && r.width >= 32];
            }); }"""
    )
    assert fits and all(ok for _, ok in fits), fits
    shot(page, "library-16-phone-selection-bar")
    bar.get_by_role("button", name="Favorite", exact=True).click()
    _status(page, "Added 1 item to favorites")
    assert api.get(f"/api/assets/{order[11]}").json()["isFavorite"] is True
    _check(page, order[11])
    bar.get_by_role("button", name="Clear selection").click()
    bar.wait_for(state="detached")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]
