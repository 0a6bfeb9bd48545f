"""Replays Immich's e2e/src/api/specs/timeline.e2e-spec.ts (``/timeline/*``).

The stored spec still sends ``size`` (``MONTH``/``DAY``), which Immich 3.1 no longer has: its
validation drops unknown query fields, so both sizes are answered as the month listing
(``YYYY-MM-DD`` buckets). A shared link of single assets (no album) may not list buckets (400
``Not found or no timeline.read access``). All of the spec's cases held already; the 401s, the
``withPartners`` refusals (archive, favourite true/false, trash), five-digit years and the
column shape of a bucket are covered by tests/test_assets_timeline.py,
tests/test_medium_timeline.py and tests/test_timeline_values_more.py.
"""

from __future__ import annotations

import httpx
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, noise_jpeg, upload_jpeg


def test_size_is_ignored_and_an_asset_link_lists_no_buckets(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    ids = [
        upload_jpeg(user, noise_jpeg(46_100 + seed), f"{day}T00:00:00.000Z")
        for seed, day in enumerate(("1970-01-01", "1970-02-10", "1970-02-11", "1970-02-11"))
    ]
    months = [{"timeBucket": "1970-02-01", "count": 3}, {"timeBucket": "1970-01-01", "count": 1}]
    for size in ("MONTH", "DAY"):
        r = user.client.get("/api/timeline/buckets", params={"size": size})
        assert r.status_code == 200 and r.json() == months, r.text

    link = user.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": ids})
    assert link.status_code == 201, link.text
    anon = httpx.Client(base_url=stack.url, timeout=60)
    r = anon.get("/api/timeline/buckets", params={"key": link.json()["key"], "size": "MONTH"})
    assert r.status_code == 400, r.text
    assert r.json() == {"message": "Not found or no timeline.read access"}
