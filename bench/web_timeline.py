"""Web timeline benchmark: the browser's own timing of the Photos timeline on a 100k-asset library
with real thumbnail files (issue #20 item 4).

What it times is what a person gets in production: the embedded stack
(:class:`darkroom_stack.supervisor.Stack`: NATS, PostgreSQL, every service; the gateway serves
the built web app and the API) in a temporary directory; an admin signed up over HTTP; their
library of ``ASSETS`` image assets seeded straight into PostgreSQL (:func:`seed_library`: bursts
of 8 photos a minute apart, spread evenly over 2000-2024, so about 330 a month) with, for every
asset, a real thumbnail file in the filesystem storage and its ``asset_files`` row, exactly where
the thumbnail service puts them (``thumbs/<user>/<ab>/<cd>/<asset>-thumbnail.webp``). The
thumbnails are WebPs rendered by the thumbnail service's own :func:`~darkroom_thumbnail.render.
render` from up to 32 sample photos (``$DARKROOM_SAMPLES``; synthetic gradients when absent, the
report says which), each asset carrying the width/height and ThumbHash of its thumbnail; every
asset has its own file (no links), so the gateway reads 100k distinct files as in production.

Debian's chromium (Playwright, headless, software rendering) then opens ``/photos`` with the
session cookie of a login, in a fresh page per run (``RUNS`` runs after one warm-up page that
fills PostgreSQL's and the gateway's caches; the browser's HTTP cache is per context and each
run gets a new context, so every run fetches HTML, JS, API answers and thumbnails again), at
each width of ``VIEWPORTS`` (desktop 1280x800, phone 390x844). Per run:

- ``first_thumbnails_ms``: the browser's Element Timing (``renderTime`` of the thumbnails'
  ``<img elementtiming>``, ms since navigation start) of the LAST thumbnail image painted among
  every tile crossing the first viewport: all of the first screen's real thumbnails visible
  (fade-in included: Chromium reports an image once it paints visibly). Target < 1,000 ms.
  ``first_thumbnail_ms`` is the first one of them; ``first_screen_ms`` is the app's own mark
  ``darkroom:timeline-first-screen`` (the first viewport's tiles laid out, placeholders shown);
  ``startup_long_tasks_ms``: long tasks (Long Tasks API) before the first screen's thumbnails.
- Scrolling: starting at the top once the first screen is painted, ``SCROLL_PX_PER_S`` px/s
  for ``SCROLL_S`` s as real input: ``Input.synthesizeScrollGesture`` (DevTools protocol, the
  gesture Chromium's own smoothness benchmarks use; mouse-wheel source, precise deltas) at the
  middle of the page. Frame times are the intervals between consecutive
  ``requestAnimationFrame`` callbacks over the gesture (a main-thread frame: what the app's
  code and layout cost shows there), ``fps`` = frames / gesture seconds, ``frame_p95_ms``;
  ``long_tasks_ms``: every long task (> 50 ms, Long Tasks API) that started during the gesture.
  Targets: 60 fps, p95 <= 20 ms, no long task.
- ``scrub_to_2015_ms``: the app's measure ``darkroom:scrub``, from a click on 2015 in the
  scrubber to that month's screen laid out; ``tiles_in_dom``: tiles the DOM holds after it.

Figures are medians over runs (long tasks: the worst run's list). ``os.getloadavg()`` before and
after each width is recorded: the machine is shared and load moves every figure.
``DARKROOM_BENCH_WEB_ASSETS`` sets a smaller library for quick runs (the report says which size
it measured), ``DARKROOM_BENCH_WEB_RUNS`` the runs per width. The app measured is the gateway's
(``DARKROOM_WEB_DIR`` when set, e.g. an older build to compare under the same load; the report
names it). Results: bench/results/web_timeline.json, or ``DARKROOM_BENCH_WEB_RESULT`` (a file
name in bench/results/).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import httpx
import msgspec
import numpy as np
import structlog
from darkroom_db import users
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack, StackConfig
from darkroom_thumbnail.thumbhash import rgba_to_thumbhash

RESULTS = Path(__file__).parent / "results"
CHROMIUM = "/usr/bin/chromium"
ASSETS = int(os.environ.get("DARKROOM_BENCH_WEB_ASSETS", "100000"))
RUNS = int(os.environ.get("DARKROOM_BENCH_WEB_RUNS", "3"))
PASSWORD = "correct horse battery staple"
#: (width, height) cycled over the seeded assets: landscape, portrait, 16:9, square.
SIZES = [(4032, 3024), (3024, 4032), (1920, 1080), (1000, 1000)]
#: name -> (width, height) of the browser's viewport, CSS px.
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
SCROLL_PX_PER_S = 2400
SCROLL_S = 10
#: Most distinct thumbnails rendered (each asset gets its own copy of one of them).
THUMBNAIL_SOURCES = 32

log = structlog.get_logger()


class Thumbnail(msgspec.Struct, frozen=True):
    """One rendered thumbnail the seeded assets share the pixels of.

    Attributes:
        data: The WebP file, as the thumbnail service stores it.
        width: Its width in px (the asset's ratio is ``width / height``).
        height: Its height in px.
        thumbhash: Its ThumbHash (raw bytes).
    """

    data: bytes
    width: int
    height: int
    thumbhash: bytes


def sample_thumbhashes(count: int = 8) -> list[bytes]:
    """``count`` real thumbhashes of small two-colour gradients (distinct hues)."""
    return [rgba_to_thumbhash(_gradient(32, 32, k / count)) for k in range(count)]


def _gradient(width: int, height: int, hue: float) -> np.ndarray:
    """An RGBA uint8 array (height, width, 4) of a two-colour gradient of ``hue`` (0-1)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y /= max(1, height - 1)
    x /= max(1, width - 1)
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., 0] = (255 * (0.5 + 0.5 * np.cos(2 * np.pi * hue)) * (1 - y * 0.6)).astype(np.uint8)
    rgba[..., 1] = (255 * (0.5 + 0.5 * np.cos(2 * np.pi * (hue + 1 / 3))) * x).astype(np.uint8)
    rgba[..., 2] = int(255 * (0.5 + 0.5 * np.cos(2 * np.pi * (hue + 2 / 3))))
    rgba[..., 3] = 255
    return rgba


def render_thumbnails(count: int = THUMBNAIL_SOURCES) -> tuple[list[Thumbnail], str]:
    """Up to ``count`` thumbnails rendered by the thumbnail service's :func:`render`.

    From the sample JPEG photos (``$DARKROOM_SAMPLES``) when present, else from synthetic
    gradients at the four :data:`SIZES` ratios written as PNG.

    Returns:
        The thumbnails and where their pixels came from (``"samples"`` or ``"synthetic"``).
    """
    import pyvips
    from darkroom_stack.testing import samples_dir
    from darkroom_thumbnail.render import RenderSettings, render

    settings = RenderSettings()
    out: list[Thumbnail] = []
    samples = samples_dir()
    if samples is not None:
        photos = sorted(p for p in (samples / "photos").rglob("*") if p.suffix.lower() == ".jpg")
        for path in photos:
            if len(out) >= count:
                break
            try:
                made = render(path, mime_type="image/jpeg", settings=settings)
            except Exception:  # noqa: BLE001 - a sample that does not render is skipped
                continue
            if made.thumbnail.width >= 100 and made.thumbnail.height >= 100:
                thumb = made.thumbnail
                out.append(Thumbnail(thumb.data, thumb.width, thumb.height, made.thumbhash))
        if len(out) >= 4:
            return out, "samples"
        out = []
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-thumbs-") as tmp:
        for k in range(count):
            width, height = SIZES[k % len(SIZES)]
            rgba = _gradient(width // 4, height // 4, k / count)
            path = Path(tmp) / f"{k}.png"
            pyvips.Image.new_from_array(rgba[..., :3]).pngsave(str(path))
            made = render(path, mime_type="image/png", settings=settings)
            thumb = made.thumbnail
            out.append(Thumbnail(thumb.data, thumb.width, thumb.height, made.thumbhash))
    return out, "synthetic"


async def _seed(
    database_url: str,
    owner: uuid.UUID,
    count: int,
    first_year: int,
    last_year: int,
    thumbnails: list[Thumbnail] | None,
    storage_root: Path | None,
) -> None:
    if thumbnails:
        widths = [t.width for t in thumbnails]
        heights = [t.height for t in thumbnails]
        hashes = [t.thumbhash for t in thumbnails]
    else:
        hashes = sample_thumbhashes()
        widths = [SIZES[k % len(SIZES)][0] for k in range(len(hashes))]
        heights = [SIZES[k % len(SIZES)][1] for k in range(len(hashes))]
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
                 t, t, t, false, ($4::int[])[1 + i % cardinality($4::int[])],
                 ($5::int[])[1 + i % cardinality($5::int[])],
                 ($6::bytea[])[1 + i % cardinality($6::bytea[])]
               FROM generate_series(0, $2 - 1) AS i,
                 LATERAL (SELECT make_timestamptz($3, 1, 1, 12, 0, 0, 'UTC')
                          + ((i / 8 * 8)::double precision / $2) * ($7::timestamptz
                            - make_timestamptz($3, 1, 1, 12, 0, 0, 'UTC'))
                          + (i % 8) * interval '1 minute') AS g(t)""",
            owner,
            count,
            first_year,
            widths,
            heights,
            hashes,
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
        if thumbnails and storage_root is not None:
            await _seed_thumbnail_files(conn, owner, thumbnails, storage_root)
        await conn.execute("RESET session_replication_role")
        # the triggers that keep the timeline's month counts and the quota usage were off too:
        # recount both (a later delete through the API subtracts from the usage: it must hold
        # these rows, or it goes negative)
        await conn.execute("SELECT darkroom_timeline_counts_rebuild()")
        await users.sync_quota_usage(conn)
        await conn.execute("ANALYZE assets")
    finally:
        await conn.close()


async def _seed_thumbnail_files(
    conn: asyncpg.Connection, owner: uuid.UUID, thumbnails: list[Thumbnail], root: Path
) -> None:
    """Write every seeded asset's thumbnail file and its ``asset_files`` row (the thumbnail
    service's key layout, :func:`darkroom_thumbnail.keys.thumbs_key`)."""
    from darkroom_thumbnail.keys import thumbs_key

    rows = await conn.fetch(
        "SELECT id, substring(device_asset_id FROM 6)::int AS i FROM assets "
        "WHERE owner_id = $1 AND device_id = 'seed'",
        owner,
    )
    files = []
    made: set[Path] = set()
    for row in rows:
        thumb = thumbnails[row["i"] % len(thumbnails)]
        key = thumbs_key(str(owner), str(row["id"]), "thumbnail", "webp")
        path = root / key
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(thumb.data)
        files.append((row["id"], owner, key, thumb.width, thumb.height, len(thumb.data)))
    await conn.executemany(
        "INSERT INTO asset_files (id, asset_id, owner_id, type, path, mime_type, width, height,"
        " size) VALUES (gen_random_uuid(), $1, $2, 'thumbnail', $3, 'image/webp', $4, $5, $6)",
        files,
    )


def seed_library(
    database_url: str,
    owner: uuid.UUID | str,
    count: int,
    first_year: int,
    last_year: int,
    *,
    thumbnails: list[Thumbnail] | None = None,
    storage_root: Path | None = None,
) -> None:
    """Insert ``count`` image assets (with EXIF rows) for ``owner``, evenly spread in time in
    bursts of 8 (one minute apart, so a day holds several rows of tiles).

    Args:
        database_url: The stack's PostgreSQL URL (``DARKROOM_DATABASE_URL``).
        owner: An existing user's id.
        count: How many assets.
        first_year: Year of the oldest asset (1 January, 12:00 UTC).
        last_year: Year of the newest asset (31 December, 12:00 UTC).
        thumbnails: Thumbnails (:func:`render_thumbnails`) cycled over the assets: each asset
            gets its size and ThumbHash and, with ``storage_root``, a copy of its file. Without
            them the assets have gradient ThumbHashes and no files (thumbnails answer 404).
        storage_root: The filesystem storage's root (``DARKROOM_STORAGE_ROOT``).
    """
    if isinstance(database_url, str) and database_url.startswith("postgresql+"):
        database_url = "postgresql://" + database_url.split("://", 1)[1]
    seeding = _seed(
        database_url,
        uuid.UUID(str(owner)),
        count,
        first_year,
        last_year,
        thumbnails,
        storage_root,
    )
    # In a thread of its own: callers (pytest with a session event loop) may be inside a loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, seeding).result()


def sign_up_admin(url: str, email: str) -> str:
    """Sign up the first admin (``PASSWORD``) over HTTP and finish their onboarding, as a
    person does once; returns their user id."""
    r = httpx.post(
        f"{url}/api/auth/admin-sign-up",
        json={"email": email, "password": PASSWORD, "name": "Bench"},
        timeout=60,
    )
    r.raise_for_status()
    login = httpx.post(
        f"{url}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=60
    )
    login.raise_for_status()
    done = httpx.post(
        f"{url}/api/system-metadata/admin-onboarding",
        json={"isOnboarded": True},
        headers={"Authorization": f"Bearer {login.json()['accessToken']}"},
        timeout=60,
    )
    done.raise_for_status()
    return str(r.json()["id"])


#: Installed before the app's scripts: collects long tasks and thumbnail paints (Element
#: Timing) from navigation start, keyed by the tile's asset id.
OBSERVERS = """
window.__bench = { longTasks: [], painted: new Map() };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__bench.longTasks.push([e.startTime, e.duration]);
}).observe({ type: 'longtask', buffered: true });
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const tile = e.element && e.element.closest('a[data-asset-id]');
    if (tile && !window.__bench.painted.has(tile.dataset.assetId)) {
      window.__bench.painted.set(tile.dataset.assetId, e.renderTime || e.loadTime);
    }
  }
}).observe({ type: 'element', buffered: true });
"""

#: null until every tile crossing the viewport has its thumbnail painted; then the first and
#: last paint times (ms since navigation start) and how many tiles.
FIRST_SCREEN_PAINTED = """() => {
  const tiles = [...document.querySelectorAll('main a[data-asset-id]')].filter((a) => {
    const r = a.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
  });
  if (!tiles.length) return null;
  const times = tiles.map((a) => window.__bench.painted.get(a.dataset.assetId));
  if (times.some((t) => t === undefined)) return null;
  return { tiles: tiles.length, first: Math.min(...times), last: Math.max(...times) };
}"""

#: Starts recording requestAnimationFrame timestamps (stopped by FRAMES_STOP).
FRAMES_START = """() => {
  const rec = { times: [], on: true };
  window.__frames = rec;
  const frame = (t) => { rec.times.push(t); if (rec.on) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  return new Promise((resolve) => requestAnimationFrame(() => resolve(scrollY)));
}"""

FRAMES_STOP = """() => {
  const rec = window.__frames;
  rec.on = false;
  return { times: rec.times, scrollY, longTasks: window.__bench.longTasks };
}"""


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _one_run(browser: object, stack: Stack, email: str, viewport: tuple[int, int]) -> dict:
    """One fresh context and page: first thumbnails, the scroll gesture, the scrubber."""
    width, height = viewport
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": width, "height": height}, base_url=stack.url
    )
    context.set_default_timeout(120_000)
    login = context.request.post("/api/auth/login", data={"email": email, "password": PASSWORD})
    assert login.status == 201, login.text()
    context.add_init_script(OBSERVERS)
    page = context.new_page()
    page.goto("/photos")
    painted = page.wait_for_function(FIRST_SCREEN_PAINTED, polling=50).json_value()
    first_screen = page.evaluate(
        "performance.getEntriesByName('darkroom:timeline-first-screen')[0]?.startTime ?? null"
    )
    startup_long = page.evaluate(
        "(end) => window.__bench.longTasks.filter(([s]) => s < end).map(([, d]) => d)",
        painted["last"],
    )

    # scrolling: the gesture, with rAF timestamps recorded over it
    cdp = context.new_cdp_session(page)
    start_y = page.evaluate(FRAMES_START)
    distance = SCROLL_PX_PER_S * SCROLL_S
    started = time.perf_counter()
    cdp.send(
        "Input.synthesizeScrollGesture",
        {
            "x": width // 2,
            "y": height // 2,
            "yDistance": -distance,
            "speed": SCROLL_PX_PER_S,
            "gestureSourceType": "mouse",
            "preventFling": True,
        },
    )
    gesture_s = time.perf_counter() - started
    rec = page.evaluate(FRAMES_STOP)
    times: list[float] = rec["times"]
    # the frames whose rAF fell inside the gesture (its wall time, from the last frame back)
    t_end = times[-1]
    t_start = t_end - gesture_s * 1000
    inside = [t for t in times if t >= t_start]
    intervals = [b - a for a, b in zip(inside, inside[1:], strict=False)]
    long_tasks = [round(d) for s, d in rec["longTasks"] if t_start <= s <= t_end]

    # the scrubber
    page.get_by_role("button", name="2015", exact=True).click()
    page.wait_for_selector("html[data-scrub-ms]")
    scrub = page.evaluate("performance.getEntriesByName('darkroom:scrub')[0].duration")
    tiles = page.locator("main a[data-asset-id]").count()
    context.close()
    duration_s = (inside[-1] - inside[0]) / 1000 if len(inside) > 1 else gesture_s
    return {
        "first_thumbnails_ms": round(painted["last"], 1),
        "first_thumbnail_ms": round(painted["first"], 1),
        "first_screen_tiles": painted["tiles"],
        "first_screen_ms": None if first_screen is None else round(first_screen, 1),
        "startup_long_tasks_ms": [round(d) for d in startup_long],
        "scrolled_px": round(rec["scrollY"] - start_y),
        "gesture_s": round(gesture_s, 2),
        "frames": len(intervals),
        "fps": round(len(intervals) / duration_s, 1),
        "frame_p95_ms": round(_p95(intervals), 1),
        "frame_max_ms": round(max(intervals), 1),
        "long_tasks_ms": long_tasks,
        "scrub_to_2015_ms": round(scrub, 1),
        "tiles_in_dom": tiles,
    }


def _summary(runs: list[dict]) -> dict[str, object]:
    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 1)

    worst = max(runs, key=lambda r: max(r["long_tasks_ms"], default=0))
    return {
        "first_thumbnails_ms_median": median("first_thumbnails_ms"),
        "first_thumbnail_ms_median": median("first_thumbnail_ms"),
        "first_screen_ms_median": median("first_screen_ms"),
        "fps_median": median("fps"),
        "frame_p95_ms_median": median("frame_p95_ms"),
        "long_tasks_ms_worst_run": worst["long_tasks_ms"],
        "scrub_to_2015_ms_median": median("scrub_to_2015_ms"),
        "tiles_in_dom_max": max(r["tiles_in_dom"] for r in runs),
    }


def _measure(stack: Stack, email: str) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    out: dict[str, object] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        for name, viewport in VIEWPORTS.items():
            load_before = os.getloadavg()
            runs = [_one_run(browser, stack, email, viewport) for _ in range(RUNS + 1)]
            for run in runs:
                log.info("bench.web_timeline.run", viewport=name, **run)
            out[name] = {
                "viewport": f"{viewport[0]}x{viewport[1]}",
                **_summary(runs[1:]),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "runs": runs[1:],
                "warmup": runs[0],
            }
        browser.close()
    return out


def main() -> None:
    """Run the benchmark and write bench/results/web_timeline.json."""
    thumbnails, source = render_thumbnails()
    # removing 100k thumbnail files takes minutes on a busy disk: the report is written first
    tmp = tempfile.mkdtemp(prefix="darkroom-bench-web-")
    try:
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
            owner = sign_up_admin(stack.url, email)
            started = time.perf_counter()
            seed_library(
                stack.env()["DARKROOM_DATABASE_URL"],
                owner,
                ASSETS,
                2000,
                2024,
                thumbnails=thumbnails,
                storage_root=Path(stack.env()["DARKROOM_STORAGE_ROOT"]),
            )
            seed_s = time.perf_counter() - started
            measured = _measure(stack, email)
        finally:
            stack.stop()
        _report(seed_s, measured, thumbnails, source)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _report(
    seed_s: float, measured: dict[str, object], thumbnails: list[Thumbnail], source: str
) -> None:
    """Write the results JSON and log its summary."""
    result = {
        "assets": ASSETS,
        "thumbnail_files": ASSETS,
        "thumbnail_pixels_from": source,
        "distinct_thumbnails": len(thumbnails),
        "years": "2000-2024",
        "seed_s": round(seed_s, 1),
        "scroll": f"{SCROLL_PX_PER_S} px/s for {SCROLL_S} s (synthesizeScrollGesture, mouse)",
        "targets": {
            "first_thumbnails_ms": 1000,
            "fps": 60,
            "frame_p95_ms": 20,
            "long_task_max_ms": 50,
        },
        **measured,
        "web_dir": os.environ.get("DARKROOM_WEB_DIR") or "services/gateway/web/dist",
        "browser": "Debian chromium (Playwright), headless, --disable-gpu",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
        "date": date.today().isoformat(),
    }
    RESULTS.mkdir(exist_ok=True)
    name = os.environ.get("DARKROOM_BENCH_WEB_RESULT") or "web_timeline.json"
    (RESULTS / Path(name).name).write_text(json.dumps(result, indent=2) + "\n")
    log.info(
        "bench.web_timeline.done",
        **{
            k: {kk: vv for kk, vv in v.items() if kk not in ("runs", "warmup")}
            if isinstance(v, dict)
            else v
            for k, v in result.items()
        },
    )


if __name__ == "__main__":
    main()
