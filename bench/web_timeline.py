"""Web timeline benchmark: the browser's own timing of the timeline on a 20k-asset library.

Starts the embedded stack (:class:`darkroom_stack.supervisor.Stack`) in a temporary directory,
signs up an admin over HTTP and seeds 20,000 assets for them straight into PostgreSQL
(:func:`seed_library`: bursts of 8 photos a minute apart, spread evenly over 2000-2024, four
aspect ratios, real thumbhashes, an EXIF row with camera and city; no files, so thumbnails
answer 404 and the thumbhash placeholders show). Then Debian's chromium (Playwright) opens
/photos, RUNS times in fresh pages (after one warm-up page):

- ``first_screen_ms``: ``performance.mark('darkroom:timeline-first-screen')``, which the app sets
  when every month crossing the first viewport has its tiles laid out (ms since navigation start,
  so HTML, JS, /api/timeline/buckets and the first /api/timeline/bucket calls are included);
- ``scrub_to_2015_ms``: ``performance.measure('darkroom:scrub')``, from a click on 2015 in the
  scrubber to the target month's screen laid out;
- ``tiles_in_dom``: how many tiles the DOM holds after the jump (virtualisation at work).

Target: first screen under 1 s. Results: bench/results/web_timeline.json.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import httpx
import numpy as np
import structlog
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack, StackConfig
from darkroom_thumbnail.thumbhash import rgba_to_thumbhash

RESULTS = Path(__file__).parent / "results"
CHROMIUM = "/usr/bin/chromium"
ASSETS = 20_000
RUNS = 3
PASSWORD = "correct horse battery staple"
#: (width, height) cycled over the seeded assets: landscape, portrait, 16:9, square.
SIZES = [(4032, 3024), (3024, 4032), (1920, 1080), (1000, 1000)]

log = structlog.get_logger()


def sample_thumbhashes(count: int = 8) -> list[bytes]:
    """``count`` real thumbhashes of small two-colour gradients (distinct hues)."""
    hashes = []
    for k in range(count):
        y, x = np.mgrid[0:32, 0:32].astype(np.float32) / 31
        hue = k / count
        rgba = np.zeros((32, 32, 4), np.uint8)
        rgba[..., 0] = (255 * (0.5 + 0.5 * np.cos(2 * np.pi * hue)) * (1 - y * 0.6)).astype(
            np.uint8
        )
        rgba[..., 1] = (255 * (0.5 + 0.5 * np.cos(2 * np.pi * (hue + 1 / 3))) * x).astype(np.uint8)
        rgba[..., 2] = (255 * (0.5 + 0.5 * np.cos(2 * np.pi * (hue + 2 / 3)))).astype(np.uint8)
        rgba[..., 3] = 255
        hashes.append(rgba_to_thumbhash(rgba))
    return hashes


async def _seed(
    database_url: str, owner: uuid.UUID, count: int, first_year: int, last_year: int
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        # Row triggers off (quota and sync bookkeeping per row would cost minutes at 20k rows).
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            """INSERT INTO assets (id, owner_id, device_asset_id, device_id, type, status,
                 visibility, original_path, original_file_name, original_mime_type, checksum,
                 file_size, file_created_at, file_modified_at, local_date_time, is_favorite,
                 width, height, thumbhash)
               SELECT gen_random_uuid(), $1::uuid, 'seed-' || i, 'seed', 'IMAGE', 'active',
                 'timeline', 'upload/seed/' || i || '.jpg', 'IMG_' || i || '.jpg', 'image/jpeg',
                 substring(sha256(($1::uuid::text || i)::bytea) FROM 1 FOR 20), 1000000 + i,
                 t, t, t, false, ($4::int[])[1 + i % 4], ($5::int[])[1 + i % 4],
                 ($6::bytea[])[1 + i % cardinality($6::bytea[])]
               FROM generate_series(0, $2 - 1) AS i,
                 LATERAL (SELECT make_timestamptz($3, 1, 1, 12, 0, 0, 'UTC')
                          + ((i / 8 * 8)::double precision / $2) * ($7::timestamptz
                            - make_timestamptz($3, 1, 1, 12, 0, 0, 'UTC'))
                          + (i % 8) * interval '1 minute') AS g(t)""",
            owner,
            count,
            first_year,
            [w for w, _ in SIZES],
            [h for _, h in SIZES],
            sample_thumbhashes(),
            datetime(last_year, 12, 31, 12, tzinfo=UTC),
        )
        await conn.execute(
            """INSERT INTO asset_exif (asset_id, owner_id, make, model, city, country,
                 date_time_original, exif_image_width, exif_image_height)
               SELECT id, owner_id, 'NIKON', 'COOLPIX P6000', 'Genoa', 'Italy', file_created_at,
                 width, height
               FROM assets WHERE owner_id = $1 AND device_id = 'seed'""",
            owner,
        )
        await conn.execute("RESET session_replication_role")
        # the triggers that keep the timeline's month counts were off too: recount
        await conn.execute("SELECT darkroom_timeline_counts_rebuild()")
        await conn.execute("ANALYZE assets")
    finally:
        await conn.close()


def seed_library(
    database_url: str, owner: uuid.UUID | str, count: int, first_year: int, last_year: int
) -> None:
    """Insert ``count`` image assets (with EXIF rows) for ``owner``, evenly spread in time in
    bursts of 8 (one minute apart, so a day holds several rows of tiles).

    Args:
        database_url: The stack's PostgreSQL URL (``DARKROOM_DATABASE_URL``).
        owner: An existing user's id.
        count: How many assets.
        first_year: Year of the oldest asset (1 January, 12:00 UTC).
        last_year: Year of the newest asset (31 December, 12:00 UTC).
    """
    if isinstance(database_url, str) and database_url.startswith("postgresql+"):
        database_url = "postgresql://" + database_url.split("://", 1)[1]
    seeding = _seed(database_url, uuid.UUID(str(owner)), count, first_year, last_year)
    # In a thread of its own: callers (pytest with a session event loop) may be inside a loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seeding).result()


def _measure(stack: Stack, email: str) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    runs: list[dict[str, float]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack.url)
        context.set_default_timeout(60_000)
        login = context.request.post("/api/auth/login", data={"email": email, "password": PASSWORD})
        assert login.status == 201, login.text()
        for _ in range(RUNS + 1):  # the first run warms PostgreSQL's and the gateway's caches
            page = context.new_page()
            page.goto("/photos")
            page.wait_for_selector("html[data-first-screen-ms]")
            first = page.evaluate(
                "performance.getEntriesByName('darkroom:timeline-first-screen')[0].startTime"
            )
            page.get_by_role("button", name="2015", exact=True).click()
            page.wait_for_selector("html[data-scrub-ms]")
            scrub = page.evaluate("performance.getEntriesByName('darkroom:scrub')[0].duration")
            month = page.get_by_test_id("scrubber-current").inner_text()
            tiles = page.locator("main a[data-asset-id]").count()
            runs.append(
                {
                    "first_screen_ms": round(first, 1),
                    "scrub_to_2015_ms": round(scrub, 1),
                    "tiles_in_dom": tiles,
                }
            )
            log.info("bench.web_timeline.run", month=month, **runs[-1])
            page.close()
        browser.close()
    measured = runs[1:]
    return {
        "runs": measured,
        "warmup": runs[0],
        "first_screen_ms_median": round(statistics.median(r["first_screen_ms"] for r in measured)),
        "scrub_to_2015_ms_median": round(
            statistics.median(r["scrub_to_2015_ms"] for r in measured)
        ),
        "tiles_in_dom_max": max(r["tiles_in_dom"] for r in measured),
    }


def main() -> None:
    """Run the benchmark and write bench/results/web_timeline.json."""
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-web-") as tmp:
        stack = Stack(
            StackConfig(
                data_dir=Path(tmp),
                gateway_port=free_port(),
                log_to_files=True,
                metrics=False,
            )
        )
        stack.start()
        try:
            email = "bench@darkroom.test"
            r = httpx.post(
                f"{stack.url}/api/auth/admin-sign-up",
                json={"email": email, "password": PASSWORD, "name": "Bench"},
                timeout=60,
            )
            r.raise_for_status()
            started = time.perf_counter()
            seed_library(stack.env()["DARKROOM_DATABASE_URL"], r.json()["id"], ASSETS, 2000, 2024)
            seed_s = time.perf_counter() - started
            measured = _measure(stack, email)
        finally:
            stack.stop()
    result = {
        "assets": ASSETS,
        "years": "2000-2024",
        "viewport": "1280x800",
        "seed_s": round(seed_s, 1),
        "target_first_screen_ms": 1000,
        **measured,
        "browser": "Debian chromium (Playwright), headless",
        "machine": platform.machine(),
        "date": date.today().isoformat(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "web_timeline.json").write_text(json.dumps(result, indent=2) + "\n")
    log.info("bench.web_timeline.done", **{k: v for k, v in result.items() if k != "runs"})


if __name__ == "__main__":
    main()
