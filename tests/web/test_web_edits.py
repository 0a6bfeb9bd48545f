"""The photo editor in a real browser (issue #19 item 2): open a real sample photo in the
viewer, "Edit", drag the crop box's corner, "Rotate right", "Save"; the viewer then shows the
server's edited rendering (cropped, turned to portrait) and the server holds the crop and the
rotation, with the original unchanged; "Revert to original" brings the unedited photo back.
No page error or Content-Security-Policy violation is allowed. Screenshots:
``test-output/web/edits-*.png``.
"""

from __future__ import annotations

import hashlib
import re

import pytest
import pyvips
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir
from playwright.sync_api import expect

from tests.conftest import upload
from tests.web.conftest import (
    axe_violations,
    library_owner,
    needs_build,
    shot,
    signed_in_page,
    wait_processed,
)

SAMPLES = samples_dir()
PHOTO = SAMPLES / "photos" / "recurser_exif-orientation" / "Landscape_0.jpg" if SAMPLES else None

#: The natural size of the viewer's preview <img>.
NATURAL = (
    "() => { const i = document.querySelector('[data-testid=zoom-layer] img');"
    " return i && i.complete && i.naturalWidth ? [i.naturalWidth, i.naturalHeight] : null }"
)


@pytest.mark.skipif(PHOTO is None or not PHOTO.is_file(), reason="no sample photos (../shared)")
def test_crop_and_rotate_in_the_editor(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    needs_build()
    assert PHOTO is not None
    owner = library_owner(stack, request)
    r = upload(owner, PHOTO)
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    page = signed_in_page(browser, stack, owner)
    wait_processed(page, stack.url, [asset_id])
    info = owner.client.get(f"/api/assets/{asset_id}").json()
    assert (info["width"], info["height"]) == (1800, 1200)

    page.goto(f"/photos/{asset_id}")  # type: ignore[attr-defined]
    width, height = page.wait_for_function(NATURAL).json_value()  # type: ignore[attr-defined]
    assert width > height  # landscape before the edit
    page.get_by_role("button", name="Edit", exact=True).click()  # type: ignore[attr-defined]
    editor = page.get_by_role("dialog", name="Edit photo")  # type: ignore[attr-defined]
    expect(editor).to_be_visible()
    crop = editor.locator(".crop")
    expect(crop).to_have_attribute("data-crop", "0.000,0.000,1.000,1.000")

    # the frame is laid out around the preview: wait until the image has loaded, the handle
    # has stood still over three polls (Playwright polls once per animation frame) and its
    # centre hit-tests to the handle itself, or a busy machine's late layout moves it away from
    # under the pointer; the page gives the point to press, measured in that same poll (a
    # synchronous predicate: Playwright takes a returned Promise as truthy and stops polling)
    x, y, frame_width, frame_height = page.wait_for_function(  # type: ignore[attr-defined]
        """() => {
          const handle = document.querySelector('[data-handle="se"]');
          const frame = handle?.closest('.frame');
          const img = frame?.querySelector('img');
          if (!img || !img.complete || img.naturalWidth === 0) return false;
          const r = handle.getBoundingClientRect();
          const at = JSON.stringify(r);
          window.__handleStill = window.__handleAt === at ? (window.__handleStill ?? 0) + 1 : 0;
          window.__handleAt = at;
          const x = r.x + r.width / 2;
          const y = r.y + r.height / 2;
          if (window.__handleStill < 2 || document.elementFromPoint(x, y) !== handle) return false;
          const f = frame.getBoundingClientRect();
          return [x, y, f.width, f.height];
        }"""
    ).json_value()
    # drag the bottom-right corner halfway left and a quarter up
    page.mouse.move(x, y)  # type: ignore[attr-defined]
    page.mouse.down()  # type: ignore[attr-defined]
    page.mouse.move(x - frame_width / 2, y - frame_height / 4, steps=8)  # type: ignore[attr-defined]
    page.mouse.up()  # type: ignore[attr-defined]
    # the corner ends half the width left and a quarter of the height up (within 0.02)
    expect(crop).to_have_attribute(
        "data-crop", re.compile(r"^0\.000,0\.000,0\.(4[89]|5[01])\d,0\.7[3-6]\d$")
    )
    bx, by, bw, bh = (float(v) for v in crop.get_attribute("data-crop").split(","))
    assert (bx, by) == (0, 0) and abs(bw - 0.5) < 0.02 and abs(bh - 0.75) < 0.02, (bw, bh)
    cw, ch = round(bw * 1800), round(bh * 1200)  # the crop in the original's pixels
    editor.get_by_role("button", name="Rotate right").click()
    expect(editor.locator(".frame")).to_have_attribute("data-turns", "1")
    shot(page, "edits-01-editor")
    assert axe_violations(page, '[aria-label="Edit photo"]') == []
    editor.get_by_role("button", name="Save").click()
    expect(editor).to_have_count(0)

    # the server has the crop (about 900x900 of the 1800x1200 original), then the quarter turn
    edits = owner.client.get(f"/api/assets/{asset_id}/edits").json()["edits"]
    assert [(e["action"], e["parameters"]) for e in edits] == [
        ("crop", {"x": 0, "y": 0, "width": cw, "height": ch}),
        ("rotate", {"angle": 90}),
    ]
    # and the viewer shows the edited rendering once it is made (turned: ch x cw, no upscale)
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => {{ const n = ({NATURAL})(); return n && n[0] === {ch} && n[1] === {cw}; }}",
        timeout=120_000,
    )
    # laid out at the edited shape (the asset's width/height stay the original's)
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { const r = document.querySelector('[data-testid=zoom-layer]')"
        ".getBoundingClientRect();"
        f" return r.width > 100 && Math.abs(r.width / r.height - {ch / cw}) < 0.02 }}"
    )
    src = page.locator("[data-testid=zoom-layer] img").first.get_attribute("src")  # type: ignore[attr-defined]
    assert "edited=true" in src, src
    thumb = owner.client.get(f"/api/assets/{asset_id}/thumbnail", params={"edited": True})
    image = pyvips.Image.new_from_buffer(thumb.content, "")
    assert (
        abs(image.width / image.height - ch / cw) < 0.02 and min(image.width, image.height) == 250
    )
    shot(page, "edits-02-viewer-edited")
    original = owner.client.get(f"/api/assets/{asset_id}/original")
    assert hashlib.sha1(original.content).digest() == hashlib.sha1(PHOTO.read_bytes()).digest()

    # "Revert to original": the landscape photo again
    page.get_by_role("button", name="Edit", exact=True).click()  # type: ignore[attr-defined]
    editor.get_by_role("button", name="Revert to original").click()
    expect(editor).to_have_count(0)
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => {{ const n = ({NATURAL})(); return n && n[0] > n[1]; }}", timeout=120_000
    )
    assert owner.client.get(f"/api/assets/{asset_id}/edits").json()["edits"] == []
    assert page.errors == []  # type: ignore[attr-defined]
