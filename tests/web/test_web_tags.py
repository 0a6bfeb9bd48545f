"""Tags and folders in a real browser against the real stack (issue 16, items 2 and 4).

Tagging a timeline selection (the "Tag" action creates the path's parents), the tag tree on the
Tags page and a parent tag's photos (its descendants' included), the tag editor in the viewer
(add a new path, remove a tag), and the Folders page (the tree down to an upload's folder and
the photos in it). Every step checks the page AND the server's state over the API; no page
error or Content-Security-Policy violation is allowed. Screenshots go to
``test-output/web/tags-*.png``.
"""

from __future__ import annotations

import re

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, noise_jpeg, upload_jpeg, wait_processed
from tests.web.conftest import (
    UUID,
    axe_violations,
    library_owner,
    needs_build,
    seed,
    shot,
    signed_in_page,
)

TILE = 'main a[data-asset-id="{}"]'


def _tag_values(user: User, asset_id: str) -> set[str]:
    r = user.client.get(f"/api/assets/{asset_id}")
    assert r.status_code == 200, r.text
    return {t["value"] for t in r.json()["tags"]}


def _tagged(user: User, tag_id: str) -> set[str]:
    r = user.client.post("/api/search/metadata", json={"tagIds": [tag_id]})
    assert r.status_code == 200, r.text
    return {a["id"] for a in r.json()["assets"]["items"]}


def test_tag_a_selection_tag_tree_and_viewer_editor(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    needs_build()
    owner = library_owner(stack, request)
    seed(stack, owner.id, 4, 2021, 2021)
    page = signed_in_page(browser, stack, owner)

    page.goto("/photos")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelectorAll('main a[data-asset-id]').length === 4"
    )
    ids = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "main a[data-asset-id]", "els => els.map(e => e.dataset.assetId)"
    )
    chosen, others = ids[:2], ids[2:]
    for asset_id in chosen:
        page.locator(TILE.format(asset_id)).hover()  # type: ignore[attr-defined]
        page.locator(f'button[data-select-id="{asset_id}"]').click()  # type: ignore[attr-defined]
    page.get_by_test_id("selection-count").get_by_text("2 selected").wait_for()  # type: ignore[attr-defined]

    # "Tag" on the selection: a new path, created with its parents
    page.get_by_test_id("selection-bar").get_by_role("button", name="Tag").click()  # type: ignore[attr-defined]
    dialog = page.get_by_role("dialog", name="Tag 2 items")  # type: ignore[attr-defined]
    dialog.get_by_label("Tag", exact=True).fill("Travel/2024/Japan")
    shot(page, "tags-01-tag-dialog")
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="Tag", exact=True).click()
    page.get_by_role("status").get_by_text(  # type: ignore[attr-defined]
        "Tagged 2 items with Travel/2024/Japan"
    ).wait_for()
    tree = {t["value"]: t for t in owner.client.get("/api/tags").json()}
    assert {"Travel", "Travel/2024", "Travel/2024/Japan"} <= set(tree)
    assert _tagged(owner, tree["Travel/2024/Japan"]["id"]) == set(chosen)

    # The Tags page: the tree, and the parent's photos include its descendants'
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Tags").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/tags")  # type: ignore[attr-defined]
    nav = page.get_by_role("navigation", name="Tags")  # type: ignore[attr-defined]
    # nested: Japan's link is inside 2024's item, which is inside Travel's
    travel = nav.locator("li", has=page.get_by_role("link", name="Travel", exact=True)).first  # type: ignore[attr-defined]
    travel.get_by_role("link", name="2024", exact=True).wait_for()
    travel.get_by_role("link", name="Japan", exact=True).wait_for()
    shot(page, "tags-02-tree")
    nav.get_by_role("link", name="Travel", exact=True).click()
    page.wait_for_url(re.compile(rf"/tags/{tree['Travel']['id']}$"))  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelectorAll('main a[data-asset-id]').length === 2"
    )
    shown = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "main a[data-asset-id]", "els => els.map(e => e.dataset.assetId)"
    )
    assert set(shown) == set(chosen)
    shot(page, "tags-03-parent-photos")
    assert axe_violations(page) == []

    # The viewer's tag editor: add a new path, remove the first tag
    first = chosen[0]
    page.locator(TILE.format(first)).click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf"/tags/{UUID}/photos/{first}$"))  # type: ignore[attr-defined]
    viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    page.keyboard.press("i")  # type: ignore[attr-defined]
    info = viewer.get_by_role("complementary", name="Info")
    info.get_by_test_id("asset-tags").get_by_role("link", name="Travel/2024/Japan").wait_for()
    info.get_by_label("Add a tag").fill("Family/Ann")
    info.get_by_role("button", name="Add", exact=True).click()
    info.get_by_test_id("asset-tags").get_by_role("link", name="Family/Ann").wait_for()
    assert _tag_values(owner, first) == {"Travel/2024/Japan", "Family/Ann"}
    shot(page, "tags-04-viewer-editor")
    assert axe_violations(page) == []
    info.get_by_role("button", name="Remove tag Travel/2024/Japan").click()
    info.get_by_test_id("asset-tags").get_by_role("link", name="Travel/2024/Japan").wait_for(
        state="detached"
    )
    assert _tag_values(owner, first) == {"Family/Ann"}
    assert _tagged(owner, tree["Travel"]["id"]) == {chosen[1]}
    assert all(_tag_values(owner, i) == set() for i in others)
    assert page.errors == []  # type: ignore[attr-defined]


def test_folders_page(stack: Stack, browser: object, request: pytest.FixtureRequest) -> None:
    needs_build()
    owner = library_owner(stack, request)
    asset_id = upload_jpeg(owner, noise_jpeg(314))
    wait_processed(owner, [asset_id], timeout=600)
    path = owner.client.get(f"/api/assets/{asset_id}").json()["originalPath"]
    folder = path.rsplit("/", 1)[0]
    assert owner.client.get("/api/view/folder/unique-paths").json() == [folder]
    page = signed_in_page(browser, stack, owner)

    page.goto("/photos")  # type: ignore[attr-defined]
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Folders").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/folders")  # type: ignore[attr-defined]
    tree = page.get_by_role("navigation", name="Folders")  # type: ignore[attr-defined]
    parts = folder.split("/")
    # walk down the tree, one folder at a time; each opens its sub-folders
    for i, part in enumerate(parts):
        # .last: a child named as its parent (hex "ab/ab") is drawn inside it
        tree.get_by_role("link", name=part, exact=True).last.click()
        prefix = "/".join(parts[: i + 1])
        page.wait_for_function(  # type: ignore[attr-defined]
            "p => new URLSearchParams(location.search).get('path') === p", arg=prefix
        )
    grid = page.get_by_test_id("folder-assets")  # type: ignore[attr-defined]
    grid.locator(f'a[href="/photos/{asset_id}"] img').wait_for()
    assert grid.locator("li").count() == 1
    crumbs = page.get_by_role("navigation", name="Folder path")  # type: ignore[attr-defined]
    assert crumbs.get_by_role("link").count() == len(parts)
    shot(page, "tags-05-folders")
    assert axe_violations(page) == []

    # a parent folder: its sub-folder, no photo directly in it
    crumbs.get_by_role("link").nth(len(parts) - 2).click()
    page.get_by_role("list", name="Sub-folders").get_by_role("link", name=parts[-1]).wait_for()  # type: ignore[attr-defined]
    page.get_by_text("No photos directly in this folder.").wait_for()  # type: ignore[attr-defined]
    # reloading keeps the folder (?path=)
    page.reload()  # type: ignore[attr-defined]
    page.get_by_role("list", name="Sub-folders").get_by_role("link", name=parts[-1]).wait_for()  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
