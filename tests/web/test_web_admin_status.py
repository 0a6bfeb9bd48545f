"""Administration > Server Status, and user editing, in a real browser against the real stack,
at desktop (1280 px) and phone (390 px) width; screenshots go to
``test-output/web/admin-status-*.png`` and axe-core checks the page (no serious/critical
WCAG 2.1 A/AA violation).

What the tests prove:
- The admin sees the server's totals (photos, videos, storage) and one row per user with their
  photo count and usage, exactly as GET /api/server/statistics reports them; a user with a
  quota shows "<usage> of <quota>" and a meter of the share used.
- A quota set on Administration > Users (PUT /api/admin/users/{id}) shows on Server Status,
  at both widths; at phone width each user is a card (no sideways scrolling).
- A user who is not an admin gets "Administrators only" and no statistics (the API answers
  403 to them).
"""

from __future__ import annotations

from typing import Any

import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, noise_jpeg, upload_jpeg, wait_processed
from tests.web.conftest import axe_violations, needs_build, shot, signed_in_page

GIB = 1024**3


def format_bytes(n: int) -> str:
    """What the web app's ``formatBytes`` writes: binary units, one decimal above bytes."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    value, unit = float(n), 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{n} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def no_sideways_scroll(page: Any) -> None:
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
        ".filter(e => { for (let p = e.parentElement; p && p !== document.body;"
        " p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') return false;"
        " return true; })"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px: {wide}"


@pytest.mark.parametrize("width", [1280, 390])
def test_server_status_and_quota_edit(
    stack: Stack, browser: object, request: pytest.FixtureRequest, width: int
) -> None:
    needs_build()
    admin: User = request.getfixturevalue("admin")
    user = make_user(stack, admin)
    ids = [upload_jpeg(user, noise_jpeg(seed)) for seed in (width, width + 1)]
    wait_processed(user, ids)
    email = user.email
    quota_gib = 3 if width > 1000 else 5

    page: Any = signed_in_page(browser, stack, admin, width=width)
    # the quota, set where an admin edits users
    page.goto("/admin/users")
    page.get_by_role("button", name=f"Edit {email}").click()
    form = page.get_by_role("form", name=f"Edit {email}")
    form.get_by_label("Quota (GiB, empty: unlimited)").fill(str(quota_gib))
    shot(page, f"admin-status-edit-user-{width}")
    no_sideways_scroll(page)
    form.get_by_role("button", name="Save").click()
    page.get_by_role("status").get_by_text(f"Saved {email}").wait_for()
    assert admin.client.get(f"/api/admin/users/{user.id}").json()["quotaSizeInBytes"] == (
        quota_gib * GIB
    )

    page.get_by_role("link", name="Server Status").click()
    page.wait_for_url("**/admin/server-status")
    page.get_by_role("heading", name="Usage by user").wait_for()
    stats = admin.client.get("/api/server/statistics").json()
    totals = page.get_by_label("Totals")
    assert totals.get_by_text(f"{stats['photos']:,}", exact=True).count() >= 1
    assert totals.get_by_text(format_bytes(stats["usage"]), exact=True).count() == 1
    mine = next(u for u in stats["usageByUser"] if u["userId"] == user.id)
    assert mine["photos"] == 2 and mine["usage"] > 0
    row = page.locator(f"tr[data-user-id='{user.id}']")
    assert row.locator("td").nth(0).inner_text().strip() == "2"
    usage = row.locator("td").nth(2)
    assert f"{format_bytes(mine['usage'])} of {quota_gib}.0 GiB" in usage.inner_text()
    meter = usage.get_by_role("meter")
    assert meter.get_attribute("aria-valuenow") == str(
        min(100, round(mine["usage"] * 100 / (quota_gib * GIB)))
    )
    page.wait_for_load_state("networkidle")
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == [], "dark scheme"
    no_sideways_scroll(page)
    if width < 1000:  # one card per user: the row is as wide as the page, cells stacked
        cells = [row.locator("td").nth(i).bounding_box() for i in range(3)]
        assert cells[0]["y"] < cells[1]["y"] < cells[2]["y"], cells
    shot(page, f"admin-status-{width}")
    row.scroll_into_view_if_needed()
    shot(page, f"admin-status-row-{width}")
    assert page.errors == []


def test_non_admin_is_refused(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    needs_build()
    user = make_user(stack, request.getfixturevalue("admin"))
    page: Any = signed_in_page(browser, stack, user, width=390)
    page.goto("/admin/server-status")
    page.get_by_role("alert").get_by_text("Administrators only").wait_for()
    assert page.get_by_role("heading", name="Usage by user").count() == 0
    r = page.request.get("/api/server/statistics")
    assert r.status == 403 and r.json()["message"], r.text()
    assert user.client.get("/api/server/statistics").status_code == 403
    shot(page, "admin-status-refused-390")
    assert page.errors == []
