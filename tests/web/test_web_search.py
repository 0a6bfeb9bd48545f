"""Search in the browser: the top bar's search bar, the filters panel and the result grid.

- Filters (default stack, no CLIP model): on a seeded library with EXIF places and cameras,
  two videos, two favourites and a person with a face on one asset, every filter (place, type,
  person, country + camera model, favourites, camera make + dates, photos with Load more)
  narrows the grid to exactly what POST /api/search/metadata answers for the same filter, in the
  same order; the URL holds the filters, a reload keeps them and Back restores the previous
  search. The top bar's search bar lands on /search?q=... keeping the filters; without a model
  the server's features say smart search is off, so the page searches file names (the best mode
  left, tests/web/test_web_gaps.py covers the modes), says why in a status, and the grid holds
  what POST /api/search/metadata answers for the file name with the filters. At 390 px the search
  bar is an icon button and the filters fold behind a button.
- Smart search (own stack with a generated tiny CLIP model, random weights): the grid's order for
  a query, alone and with a filter, equals POST /api/search/smart's order for the same request.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from darkroom_stack.supervisor import Stack
from PIL import Image

from tests.conftest import User, first_admin, running_clip_stack, upload
from tests.web.conftest import library_owner, needs_build, seed, shot, signed_in_page

MODEL = "Tiny-CLIP__websearch"
QUERY = " ".join(["dog"] * 20)  # the tiny encoder averages tokens: repeats move the embedding


def _db(stack: Stack, *statements: tuple[str, list[str]]) -> None:
    """Run ``(sql, asset ids)`` statements straight in PostgreSQL (``$1`` is the id array)."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            for sql, ids in statements:
                await conn.execute(sql, [uuid.UUID(i) for i in ids])
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def _api(user: User, endpoint: str, body: dict[str, object]) -> list[str]:
    """Asset ids of every page of POST /api/search/<endpoint> (100 a page, as the app asks)."""
    ids: list[str] = []
    page: int | None = 1
    while page:
        r = user.client.post(f"/api/search/{endpoint}", json={**body, "page": page, "size": 100})
        assert r.status_code == 200, r.text
        assets = r.json()["assets"]
        ids += [a["id"] for a in assets["items"]]
        page = int(assets["nextPage"]) if assets["nextPage"] else None
    return ids


def _grid(page: object) -> list[str]:
    return page.locator("[data-testid=search-results] a[data-asset-id]").evaluate_all(  # type: ignore[attr-defined]
        "tiles => tiles.map(t => t.dataset.assetId)"
    )


def _expect(page: object, ids: list[str], more: bool = False) -> None:
    """Wait for the count of ``ids`` and check that the grid holds exactly them, in order."""
    text = f"{len(ids)}{'+' if more else ''} result{'' if len(ids) == 1 else 's'}"
    count = page.get_by_test_id("search-count")  # type: ignore[attr-defined]
    count.filter(has_text=re.compile(rf"^\s*{re.escape(text)}\s*$")).wait_for()
    deadline = time.monotonic() + 10
    while _grid(page) != ids and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _grid(page) == ids


def _params(page: object) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)  # type: ignore[attr-defined]


@pytest.fixture
def library(stack: Stack, request: pytest.FixtureRequest) -> tuple[User, list[str], str]:
    """A user with 120 seeded photos (Genoa, NIKON COOLPIX P6000, 2019-2021): three in
    Reykjavik (Canon EOS R5), one in Sydney (Apple iPhone 15), two videos, two favourites and
    a person on the first. Returns (user, ids newest first, person id)."""
    user = library_owner(stack, request)
    seed(stack, user.id, 120, 2019, 2021)
    ids = _api(user, "metadata", {})
    assert len(ids) == 120
    _db(
        stack,
        (
            "UPDATE asset_exif SET city = 'Reykjavik', state = 'Capital Region', "
            "country = 'Iceland', make = 'Canon', model = 'EOS R5' WHERE asset_id = ANY($1)",
            ids[0:3],
        ),
        (
            "UPDATE asset_exif SET city = 'Sydney', state = 'New South Wales', "
            "country = 'Australia', make = 'Apple', model = 'iPhone 15' WHERE asset_id = ANY($1)",
            ids[3:4],
        ),
        ("UPDATE assets SET type = 'VIDEO' WHERE id = ANY($1)", [ids[2], ids[5]]),
    )
    favourite = user.client.put("/api/assets", json={"ids": [ids[1], ids[3]], "isFavorite": True})
    assert favourite.status_code == 204, favourite.text
    person = user.client.post("/api/people", json={"name": "Ada Lovelace"}).json()["id"]
    face = user.client.post(
        "/api/faces",
        json={
            "assetId": ids[0],
            "personId": person,
            "imageWidth": 4032,
            "imageHeight": 3024,
            "x": 100,
            "y": 100,
            "width": 400,
            "height": 400,
        },
    )
    assert face.status_code == 201, face.text
    # the face service renders a person's thumbnail from a detected face; a face drawn over the
    # API has none, and GET /api/people lists only people with one (as Immich)
    seeded = "UPDATE people SET thumbnail_path = 'seeded/person.jpeg' WHERE id = ANY($1)"
    _db(stack, (seeded, [person]))
    return user, ids, person


def test_filters_url_back_and_search_bar(
    stack: Stack, browser: object, library: tuple[User, list[str], str]
) -> None:
    """Each filter narrows the grid to the API's answer; URL, reload and Back keep the search;
    the top bar lands on /search?q=... and says smart search is off; 390 px works."""
    needs_build()
    user, ids, person = library
    page = signed_in_page(browser, stack, user)
    form = page.get_by_role("form", name="Search filters")  # type: ignore[attr-defined]

    # A linked place search (as Explore opens it).
    page.goto("/search?city=Reykjavik")  # type: ignore[attr-defined]
    reykjavik = _api(user, "metadata", {"city": "Reykjavik"})
    assert reykjavik == ids[0:3]
    _expect(page, reykjavik)
    assert form.get_by_label("City").input_value() == "Reykjavik"
    shot(page, "search-01-city")

    # Type: Videos narrows at once (radio), the URL gains type=VIDEO.
    form.get_by_label("Videos").check()
    page.wait_for_url(re.compile(r"/search\?city=Reykjavik&type=VIDEO$"))  # type: ignore[attr-defined]
    videos = _api(user, "metadata", {"city": "Reykjavik", "type": "VIDEO"})
    assert videos == [ids[2]]
    _expect(page, videos)
    shot(page, "search-02-city-videos")

    # Back restores the previous search (and its form).
    page.go_back()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/search\?city=Reykjavik$"))  # type: ignore[attr-defined]
    _expect(page, reykjavik)
    assert form.get_by_label("All", exact=True).is_checked()

    # People: a chip with the face; pressed, it searches personIds.
    form.get_by_role("button", name="Clear filters").click()
    page.wait_for_url(re.compile(r"/search$"))  # type: ignore[attr-defined]
    page.get_by_text("Type in the search bar above, or pick filters.").wait_for()  # type: ignore[attr-defined]
    chip = form.get_by_role("button", name="Ada Lovelace")
    chip.click()
    page.wait_for_url(re.compile(rf"/search\?personIds={person}$"))  # type: ignore[attr-defined]
    with_ada = _api(user, "metadata", {"personIds": [person]})
    assert with_ada == [ids[0]]
    _expect(page, with_ada)
    assert chip.get_attribute("aria-pressed") == "true"
    shot(page, "search-03-person")

    # A reload keeps the search.
    page.reload()  # type: ignore[attr-defined]
    _expect(page, with_ada)
    assert form.get_by_role("button", name="Ada Lovelace").get_attribute("aria-pressed") == "true"

    # Country + camera model, typed and sent with the Search button.
    form.get_by_role("button", name="Clear filters").click()
    form.get_by_label("Country").fill("Australia")
    form.get_by_label("Camera model").fill("iPhone 15")
    form.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(re.compile(r"/search\?country=Australia&model=iPhone\+15$"))  # type: ignore[attr-defined]
    sydney = _api(user, "metadata", {"country": "Australia", "model": "iPhone 15"})
    assert sydney == [ids[3]]
    _expect(page, sydney)
    shot(page, "search-04-country-model")

    # Favourites only.
    form.get_by_role("button", name="Clear filters").click()
    form.get_by_label("Favorites only").check()
    page.wait_for_url(re.compile(r"/search\?isFavorite=true$"))  # type: ignore[attr-defined]
    favourites = _api(user, "metadata", {"isFavorite": True})
    assert favourites == [ids[1], ids[3]]
    _expect(page, favourites)

    # Camera make + a date range.
    form.get_by_role("button", name="Clear filters").click()
    form.get_by_label("Camera make").fill("NIKON")
    form.get_by_label("Taken after").fill("2020-01-01")
    form.get_by_label("Taken before").fill("2020-06-30")
    form.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(  # type: ignore[attr-defined]
        re.compile(r"/search\?make=NIKON&takenAfter=2020-01-01&takenBefore=2020-06-30$")
    )
    dated = _api(
        user,
        "metadata",
        {
            "make": "NIKON",
            "takenAfter": "2020-01-01T00:00:00.000Z",
            "takenBefore": "2020-06-30T23:59:59.000Z",
        },
    )
    assert 0 < len(dated) < 116
    _expect(page, dated)
    shot(page, "search-05-make-dates")

    # Photos only: more than a page, so Load more fetches the rest.
    form.get_by_role("button", name="Clear filters").click()
    form.get_by_label("Photos", exact=True).check()
    page.wait_for_url(re.compile(r"/search\?type=IMAGE$"))  # type: ignore[attr-defined]
    photos = _api(user, "metadata", {"type": "IMAGE"})
    assert len(photos) == 118
    _expect(page, photos[:100], more=True)
    page.get_by_role("button", name="Load more").click()  # type: ignore[attr-defined]
    _expect(page, photos)
    assert page.get_by_role("button", name="Load more").count() == 0  # type: ignore[attr-defined]
    shot(page, "search-06-photos-load-more")

    # The top bar's search bar keeps the filters; no model on this stack (smart search answers
    # 400), so the text searches file names with the filters, and a status says why.
    smart = user.client.post("/api/search/smart", json={"query": "sunset", "type": "IMAGE"})
    assert smart.status_code == 400, smart.text
    assert user.client.get("/api/server/features").json()["smartSearch"] is False
    reason = "Smart search is not available on this server (no CLIP model is loaded)"
    bar = page.get_by_role("search").get_by_label("Search your photos")  # type: ignore[attr-defined]
    bar.fill("sunset")
    bar.press("Enter")
    page.wait_for_url(re.compile(r"/search\?type=IMAGE&q=sunset$"))  # type: ignore[attr-defined]
    page.get_by_role("status").filter(has_text=reason).wait_for()  # type: ignore[attr-defined]
    sunset = _api(user, "metadata", {"type": "IMAGE", "originalFileName": "sunset"})
    assert sunset == []
    _expect(page, sunset)
    assert page.get_by_role("heading", name="Search: sunset").is_visible()  # type: ignore[attr-defined]
    shot(page, "search-07-smart-off-with-filter")

    # From another page the bar starts a fresh search.
    page.goto("/photos")  # type: ignore[attr-defined]
    bar.fill("beach")
    bar.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=beach$"))  # type: ignore[attr-defined]
    page.get_by_role("status").filter(has_text=reason).wait_for()  # type: ignore[attr-defined]
    _expect(page, _api(user, "metadata", {"originalFileName": "beach"}))
    assert bar.input_value() == "beach"
    shot(page, "search-08-smart-off")

    # A result opens the viewer.
    page.goto("/search?city=Sydney")  # type: ignore[attr-defined]
    _expect(page, [ids[3]])
    page.locator(f'[data-testid=search-results] a[data-asset-id="{ids[3]}"]').click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf"/photos/{ids[3]}$"))  # type: ignore[attr-defined]
    page.get_by_role("dialog", name="Asset viewer").wait_for()  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]

    # 390 px: the bar is an icon button, the filters fold behind "Filters (n)".
    phone = signed_in_page(browser, stack, user, width=390)
    phone.goto("/search?city=Reykjavik")  # type: ignore[attr-defined]
    _expect(phone, reykjavik)
    phone_form = phone.get_by_role("form", name="Search filters")  # type: ignore[attr-defined]
    assert not phone_form.is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # type: ignore[attr-defined]
    shot(phone, "search-09-phone")
    toggle = phone.get_by_role("button", name="Filters (1)")  # type: ignore[attr-defined]
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert phone_form.get_by_label("City").input_value() == "Reykjavik"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # type: ignore[attr-defined]
    shot(phone, "search-10-phone-filters")
    phone.get_by_role("button", name="Open search").click()  # type: ignore[attr-defined]
    phone_bar = phone.get_by_role("search").get_by_label("Search your photos")  # type: ignore[attr-defined]
    phone_bar.fill("dog")
    shot(phone, "search-11-phone-bar")
    phone_bar.press("Enter")
    phone.wait_for_url(re.compile(r"/search\?city=Reykjavik&q=dog$"))  # type: ignore[attr-defined]
    assert _params(phone) == {"city": ["Reykjavik"], "q": ["dog"]}
    # smart search off: file names with the city
    _expect(phone, _api(user, "metadata", {"city": "Reykjavik", "originalFileName": "dog"}))
    assert phone.errors == []  # type: ignore[attr-defined]


# ---- Smart search with a tiny generated CLIP model ----


@pytest.fixture(scope="module")
def clip_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose embedding and search services load a tiny random CLIP model."""
    pytest.importorskip("onnx")
    needs_build()
    with running_clip_stack(
        tmp_path_factory.mktemp("web-search-stack"), tmp_path_factory.mktemp("models"), MODEL
    ) as running:
        yield running


def _jpeg(seed: int) -> bytes:
    """A noisy 160x120 JPEG tinted by ``seed`` (distinct pixels, so distinct embeddings)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 100, (120, 160, 3), dtype=np.int16)
    pixels[..., seed % 3] += 120
    out = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(out, format="JPEG")
    return out.getvalue()


def test_smart_search_order_matches_api(clip_stack: Stack, browser: object, tmp_path: Path) -> None:
    """The grid shows POST /api/search/smart's ranking for the bar's text, alone and with the
    favourites filter."""
    user = first_admin(clip_stack)
    ids = []
    for n in range(6):
        r = upload(user, tmp_path / f"smart-{n}.jpg", data=_jpeg(n))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    favourite = user.client.put("/api/assets", json={"ids": ids[::2], "isFavorite": True})
    assert favourite.status_code == 204, favourite.text
    deadline = time.monotonic() + 150  # preview + embedding on 2 shared cores
    ranked: list[str] = []
    while len(ranked) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.5)
        r = user.client.post("/api/search/smart", json={"query": QUERY})
        ranked = [a["id"] for a in r.json()["assets"]["items"]] if r.status_code == 200 else []
    ranked = _api(user, "smart", {"query": QUERY})
    assert sorted(ranked) == sorted(ids), "embeddings never stored"

    page = signed_in_page(browser, clip_stack, user)
    page.goto("/photos")  # type: ignore[attr-defined]
    bar = page.get_by_role("search").get_by_label("Search your photos")  # type: ignore[attr-defined]
    bar.fill(QUERY)
    bar.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=(dog\+){19}dog$"))  # type: ignore[attr-defined]
    _expect(page, ranked)
    assert page.get_by_test_id("search-notice").count() == 0  # type: ignore[attr-defined]
    shot(page, "search-12-smart")

    page.get_by_role("form", name="Search filters").get_by_label("Favorites only").check()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/search\?q=.*&isFavorite=true$"))  # type: ignore[attr-defined]
    favourites = _api(user, "smart", {"query": QUERY, "isFavorite": True})
    assert sorted(favourites) == sorted(ids[::2])
    _expect(page, favourites)
    shot(page, "search-13-smart-favourites")
    assert page.errors == []  # type: ignore[attr-defined]
