"""Album activity and the notifications bell in a real browser.

A member opens a shared album's activity panel, comments and likes (the comment appears, the
like is counted; the owner sees both over the API); in the viewer opened from the album, the
member comments on the photo. A user invited to an album sees the bell's unread count go up
live (``on_notification``), opens the list and marks it read. Screenshots go to
``test-output/web/activity-*.png``. No uncaught error or CSP violation on the way.
"""

from __future__ import annotations

import time

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_albums import upload_new
from tests.web.conftest import needs_build, shot, signed_in_page

#: Generous: the websocket fan-out on a busy 2-core machine.
CEILING_S = 120.0


def _wait_api(check: object) -> None:
    deadline = time.monotonic() + CEILING_S
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the server never showed the change"
        time.sleep(0.3)


def test_activity_panel_comment_and_like(browser: object, stack: Stack, admin: User) -> None:
    needs_build()
    owner, member = make_user(stack, admin), make_user(stack, admin)
    asset_id = upload_new(owner)
    r = owner.client.post(
        "/api/albums",
        json={
            "albumName": "Trip",
            "assetIds": [asset_id],
            "albumUsers": [{"userId": member.id, "role": "viewer"}],
        },
    )
    assert r.status_code == 201, r.text
    album_id = r.json()["id"]

    page = signed_in_page(browser, stack, member)
    page.goto(f"/albums/{album_id}")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Activity", exact=True).click()  # type: ignore[attr-defined]
    panel = page.get_by_role("region", name="Activity")  # type: ignore[attr-defined]
    panel.get_by_text("No comments yet.").wait_for()
    panel.get_by_label("Add a comment").fill("Lovely <b>day</b>")
    panel.get_by_role("button", name="Comment").click()
    panel.locator("li[data-type=comment]").get_by_text("Lovely <b>day</b>").wait_for()
    panel.get_by_role("button", name="Like").click()
    panel.get_by_role("button", name="Unlike").wait_for()
    panel.locator("li[data-type=like]").get_by_text("liked this").wait_for()
    shot(page, "activity-album")

    def seen() -> list[dict[str, object]]:
        got = owner.client.get("/api/activities", params={"albumId": album_id, "level": "album"})
        assert got.status_code == 200, got.text
        return list(got.json())

    items = seen()
    assert [(a["type"], a.get("comment")) for a in items] == [
        ("comment", "Lovely <b>day</b>"),
        ("like", None),
    ]
    assert all(a["user"]["id"] == member.id for a in items)

    # the viewer opened from the album: activity of the photo itself
    page.goto(f"/albums/{album_id}/photos/{asset_id}")  # type: ignore[attr-defined]
    viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    viewer.get_by_role("button", name="Activity", exact=True).click()
    on_photo = viewer.get_by_role("region", name="Activity")
    on_photo.get_by_label("Add a comment").fill("this one!")
    on_photo.get_by_role("button", name="Comment").click()
    on_photo.locator("li[data-type=comment]").get_by_text("this one!").wait_for()
    shot(page, "activity-viewer")
    of_asset = owner.client.get(
        "/api/activities", params={"albumId": album_id, "assetId": asset_id}
    ).json()
    assert [a["comment"] for a in of_asset] == ["this one!"]
    assert page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [1280, 390])
def test_bell_shows_an_album_invite_live(
    browser: object, stack: Stack, admin: User, width: int
) -> None:
    needs_build()
    owner, guest = make_user(stack, admin), make_user(stack, admin)
    page = signed_in_page(browser, stack, guest, width=width)
    page.goto("/photos")  # type: ignore[attr-defined]
    page.locator("html[data-live=connected]").wait_for()  # type: ignore[attr-defined]
    bell = page.get_by_role("button", name="Notifications, 0 unread")  # type: ignore[attr-defined]
    bell.wait_for()

    r = owner.client.post(
        "/api/albums",
        json={"albumName": "Party", "albumUsers": [{"userId": guest.id, "role": "editor"}]},
    )
    assert r.status_code == 201, r.text
    album_id = r.json()["id"]

    live = page.get_by_role("button", name="Notifications, 1 unread")  # type: ignore[attr-defined]
    live.wait_for(timeout=CEILING_S * 1000)
    live.click()
    panel = page.get_by_role("region", name="Notifications")  # type: ignore[attr-defined]
    panel.get_by_text("Shared album invitation").wait_for()
    panel.get_by_text("shared an album (Party) with you").wait_for()
    shot(page, f"activity-bell-{width}")
    panel.get_by_role("button", name="Mark all read").click()
    page.get_by_role("button", name="Notifications, 0 unread").wait_for()  # type: ignore[attr-defined]

    def read() -> bool:
        got = guest.client.get("/api/notifications", params={"type": "AlbumInvite"}).json()
        mine = [n for n in got if n.get("data", {}).get("albumId") == album_id]
        return len(mine) == 1 and "readAt" in mine[0]

    _wait_api(read)
    assert page.errors == []  # type: ignore[attr-defined]
