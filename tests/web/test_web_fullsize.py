"""Full resolution in the viewer (issue 19 item 4): zooming a HEIC past its preview loads the
server's full-size rendering, an image as wide as the original."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pillow_heif
import pytest
import pyvips
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import User, make_user, upload
from tests.web.conftest import needs_build, shot, signed_in_page, watch_errors

HEIC = "photos/ente_test-fixtures/ml/indexing/v1/files/IMG_8606_rotate_90_cw_contains_text.HEIC"


@pytest.fixture
def fullsize_on(admin: User) -> Iterator[None]:
    """``image.fullsize.enabled`` for the test; the config restored after."""
    before = admin.client.get("/api/system-config").json()
    image = {**before["image"], "fullsize": {**before["image"]["fullsize"], "enabled": True}}
    assert admin.client.put("/api/system-config", json={**before, "image": image}).is_success
    try:
        yield
    finally:
        assert admin.client.put("/api/system-config", json=before).is_success


def test_heic_zoomed_in_the_viewer_loads_full_resolution(
    stack: Stack, admin: User, browser: object, fullsize_on: None
) -> None:
    needs_build()
    root = samples_dir()
    path = root / HEIC if root else None
    if path is None or not path.exists():
        pytest.skip(f"sample {HEIC} absent (set DARKROOM_SAMPLES or ../shared/samples)")
    width = pillow_heif.open_heif(str(path)).size[0]
    user = make_user(stack, admin)
    r = upload(user, path)
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    deadline = time.monotonic() + 240  # the pipeline, then the full-size rendering
    url = f"/api/assets/{asset_id}/thumbnail?size=fullsize"
    while time.monotonic() < deadline:
        got = user.client.get(url)
        if got.status_code == 200 and pyvips.Image.new_from_buffer(got.content, "").width == width:
            break  # the rendering is stored (the preview stands in until then)
        time.sleep(0.5)

    page = signed_in_page(browser, stack, user)
    errors = watch_errors(page)
    page.goto(f"/photos/{asset_id}")  # type: ignore[attr-defined]
    viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    viewer.locator("img.loaded").wait_for()
    full = viewer.locator("img.original")
    for _ in range(4):  # zoom until the preview's own pixels are magnified
        if full.count():
            break
        viewer.get_by_role("button", name="Zoom in").click()
        page.wait_for_timeout(400)  # type: ignore[attr-defined]
    full.wait_for()
    assert "size=fullsize" in (full.get_attribute("src") or "")
    page.wait_for_function(  # type: ignore[attr-defined]
        "w => { const i = document.querySelector('img.original');"
        " return i && i.complete && i.naturalWidth === w; }",
        arg=width,
        timeout=60_000,
    )
    shot(page, "viewer-fullsize-heic")
    assert not errors, errors
    page.context.close()  # type: ignore[attr-defined]
