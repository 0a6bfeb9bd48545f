"""The map and explore pages in a real browser against the real stack (Playwright + chromium).

The library: the eight real geotagged JPEGs of the shared samples (Nikon COOLPIX P6000, around
Arezzo, Italy; the pipeline reads their GPS and reverse-geocodes them), plus two generated photos
placed in PostgreSQL's ``asset_exif`` at Reykjavik and Sydney (so the map spans the world and
Explore has three places), one of them a favourite; two people made over the API (one named).

Every request that leaves the stack (the OpenStreetMap tiles above all) is aborted, as on a
machine without internet: the map shows no background, says so, and still shows every photo.

What the tests prove:
- /map: the pins and cluster counts add up to the server's markers; the tiles failed yet the
  pins show; a cluster click zooms into its pins; a pin (a labelled button) opens a popup with
  the photo's thumbnail that opens the viewer; "Favorites only" keeps the favourite, whose pin
  opens its popup from the keyboard too; /map?lat=..
  opens centred there; at 390 px the map fills the screen under its filters.
- /explore: the people row (named first, as GET /api/people orders them) and the places grid
  (GET /api/search/explore's cities with their photo: a city from 5 photos on, as Immich, so
  four more photos are named Reykjavik and four Sydney there); a place opens
  /search?city=<city> with the city filled in and its results; searching again updates the
  URL and Back restores the previous search; a person opens their page; at 390 px the grid is
  two columns, no sideways scrolling.
"""

from __future__ import annotations

import asyncio
import csv
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import User, noise_jpeg, upload, upload_jpeg
from tests.conftest import wait_processed as wait_thumbnails
from tests.web.conftest import library_owner, needs_build, shot, signed_in_page, wait_processed

#: Where the two generated photos are put: name -> (lat, lon, city, country).
PLACED = {
    "reykjavik": (64.1466, -21.9426, "Reykjavik", "Iceland"),
    "sydney": (-33.8688, 151.2093, "Sydney", "Australia"),
}


def gps_samples() -> list[Path]:
    """The sample JPEGs whose EXIF has GPS (per the samples' exif_summary.csv); skips when the
    sample media is absent."""
    root = samples_dir()
    if root is None:
        pytest.skip("sample media absent (/work/shared/samples or DARKROOM_SAMPLES)")
    photos = root / "photos"
    with (photos / "exif_summary.csv").open(newline="", encoding="utf-8", errors="replace") as f:
        rows = [r for r in csv.DictReader(f) if r["gps_lat"] and r["file"].endswith(".jpg")]
    paths = [photos / r["file"] for r in rows if "ianare_exif-samples/jpg/gps/" in r["file"]]
    assert len(paths) == 8, paths
    return paths


def jpeg(seed: int) -> bytes:
    """A small generated JPEG (random pixels, no EXIF)."""
    pixels = np.random.default_rng(seed).integers(0, 255, size=(300, 400, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=80))


def seed_person_thumbnails(stack: Stack, person_ids: list[str]) -> None:
    """Set a thumbnail path on people made over the API (the face service renders one for
    detected faces only), so that GET /api/people lists them."""

    async def run() -> str:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            return await conn.execute(
                "UPDATE people SET thumbnail_path = 'seeded/person.jpeg' WHERE id = ANY($1)",
                [uuid.UUID(i) for i in person_ids],
            )
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def place_in_db(
    stack: Stack, asset_id: str, lat: float, lon: float, city: str, country: str
) -> None:
    """Seed an asset's place straight into its (already extracted) EXIF row."""

    async def run() -> str:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            return await conn.execute(
                "UPDATE asset_exif SET latitude = $2, longitude = $3, city = $4, state = NULL, "
                "country = $5 WHERE asset_id = $1",
                uuid.UUID(asset_id),
                lat,
                lon,
                city,
                country,
            )
        finally:
            await conn.close()

    # In a thread of its own: Playwright's sync API already runs an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, run()).result() == "UPDATE 1"


def name_city_in_db(stack: Stack, asset_ids: list[str], city: str, country: str) -> None:
    """Seed a place name (no position) into assets' (already extracted) EXIF rows."""

    async def run() -> str:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            return await conn.execute(
                "UPDATE asset_exif SET city = $2, country = $3 WHERE asset_id = ANY($1::uuid[])",
                [uuid.UUID(i) for i in asset_ids],
                city,
                country,
            )
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, run()).result() == f"UPDATE {len(asset_ids)}"


def arezzo_city(library: Library) -> str:
    """The city the metadata service named for the eight samples (all one place)."""
    found = {
        library.user.client.get(f"/api/assets/{i}").json()["exifInfo"]["city"]
        for i in library.arezzo
    }
    assert len(found) == 1, found
    return str(found.pop())


def markers(user: User, **params: object) -> list[dict[str, object]]:
    r = user.client.get("/api/map/markers", params=params)
    assert r.status_code == 200, r.text
    return r.json()


class Library:
    """The module's user and its assets: ``arezzo`` (the 8 samples) and the placed ones."""

    def __init__(self, user: User, arezzo: list[str], placed: dict[str, str]) -> None:
        self.user = user
        self.arezzo = arezzo
        self.placed = placed

    @property
    def geotagged(self) -> set[str]:
        return set(self.arezzo) | set(self.placed.values())


@pytest.fixture(scope="module")
def library(browser: object, stack: Stack, request: pytest.FixtureRequest) -> Library:
    needs_build()
    paths = gps_samples()
    user = library_owner(stack, request)
    arezzo = []
    for path in paths:
        r = upload(user, path)
        assert r.status_code == 201, r.text
        arezzo.append(r.json()["id"])
    placed = {}
    for k, name in enumerate(PLACED):
        r = upload(user, Path(f"{name}.jpg"), data=jpeg(k))
        assert r.status_code == 201, r.text
        placed[name] = r.json()["id"]
    page = signed_in_page(browser, stack, user)
    wait_processed(page, stack.url, arezzo + list(placed.values()), timeout_s=180)
    page.context.close()  # type: ignore[attr-defined]
    for name, (lat, lon, city, country) in PLACED.items():
        place_in_db(stack, placed[name], lat, lon, city, country)
    r = user.client.put(f"/api/assets/{placed['reykjavik']}", json={"isFavorite": True})
    assert r.status_code == 200, r.text
    lib = Library(user, arezzo, placed)
    # The samples' GPS is read by the metadata service: wait until all ten are on the map.
    deadline = time.monotonic() + 60
    while {m["id"] for m in markers(user)} != lib.geotagged and time.monotonic() < deadline:
        time.sleep(0.5)
    assert {m["id"] for m in markers(user)} == lib.geotagged
    return lib


def offline_page(browser: object, stack: Stack, user: User, width: int = 1280) -> object:
    """A signed-in page for which every request off the stack fails, as without internet;
    ``page.tiles_failed`` lists the map tile URLs that failed."""
    page = signed_in_page(browser, stack, user, width=width)
    page.route(  # type: ignore[attr-defined]
        lambda url: not url.startswith(stack.url),
        lambda route: route.abort("internetdisconnected"),
    )
    failed: list[str] = []
    page.on(  # type: ignore[attr-defined]
        "requestfailed",
        lambda req: failed.append(req.url) if "tile.openstreetmap.org" in req.url else None,
    )
    page.tiles_failed = failed  # type: ignore[attr-defined]
    return page


#: Pins and cluster counts on screen: {"pins": [asset ids], "clusters": [counts]}.
ON_MAP_JS = """() => ({
  pins: [...document.querySelectorAll('.leaflet-marker-pane .dr-pin')].map(e => e.dataset.assetId),
  clusters: [...document.querySelectorAll('.leaflet-marker-pane .dr-cluster')]
    .map(e => Number(e.dataset.count)),
})"""


#: The popup has faded in and its thumbnail has loaded.
POPUP_SHOWN_JS = """() => { const i = document.querySelector('.leaflet-popup img');
  return i && i.complete && i.naturalWidth > 0
    && getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'; }"""


def wait_on_map(page: object, total: int) -> dict[str, list]:
    """Wait until the pins plus the cluster counts on screen add up to ``total``."""
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => {{ const s = ({ON_MAP_JS})(); "
        f"return s.pins.length + s.clusters.reduce((a, b) => a + b, 0) === {total}; }}"
    )
    settle(page)
    return page.evaluate(ON_MAP_JS)  # type: ignore[attr-defined]


def settle(page: object) -> None:
    """Wait out markercluster's animations (pins glide from their cluster to their place; the
    map container has class ``leaflet-cluster-anim`` meanwhile)."""
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    page.wait_for_function("() => !document.querySelector('.leaflet-cluster-anim')")  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]


def test_map_pins_clusters_popup_viewer_offline(
    browser: object, stack: Stack, library: Library
) -> None:
    user = library.user
    page = offline_page(browser, stack, user)
    page.goto("/map")  # type: ignore[attr-defined]
    page.get_by_test_id("map-count").get_by_text("10 photos with a location").wait_for()  # type: ignore[attr-defined]

    # Fitted to the world: Arezzo's eight in one cluster, Reykjavik and Sydney as pins.
    state = wait_on_map(page, len(library.geotagged))
    assert sorted(state["pins"]) == sorted(library.placed.values()), state
    assert state["clusters"] == [8], state
    # Offline: every tile failed, none drew, the page says so; the pins are still there.
    page.get_by_test_id("tiles-failed").wait_for()  # type: ignore[attr-defined]
    assert page.tiles_failed, "no tile request was made"  # type: ignore[attr-defined]
    assert page.locator(".leaflet-tile-loaded").count() == 0  # type: ignore[attr-defined]
    pin = page.get_by_role("button", name="Photo in Reykjavik, Iceland")  # type: ignore[attr-defined]
    assert pin.is_visible()
    box = pin.bounding_box()
    assert box and box["width"] >= 14 and box["height"] >= 14
    cluster = page.get_by_role("button", name="8 photos here, zoom in")  # type: ignore[attr-defined]
    assert cluster.is_visible()
    shot(page, "map-01-offline-pins-and-cluster")

    # A cluster click zooms in until Arezzo's photos show as pins or smaller clusters.
    cluster.click()
    state = wait_on_map(page, len(library.arezzo))
    assert set(state["pins"]) <= set(library.arezzo)
    assert sum(state["clusters"]) + len(state["pins"]) == 8 and state["clusters"] != [8], state
    for _ in range(6):  # smaller clusters: zoom further until a pin shows
        if state["pins"]:
            break
        page.locator(".leaflet-marker-pane .dr-cluster").first.click()  # type: ignore[attr-defined]
        settle(page)
        state = page.evaluate(ON_MAP_JS)  # type: ignore[attr-defined]
    assert state["pins"], state
    shot(page, "map-02-cluster-zoomed")

    # A pin opens its popup: the photo's thumbnail (loaded from the server) and its place.
    asset_id = state["pins"][0]
    info = user.client.get(f"/api/assets/{asset_id}").json()
    city = info["exifInfo"]["city"]
    assert city and info["exifInfo"]["country"] == "Italy"
    page.locator(f'.leaflet-marker-pane .dr-pin[data-asset-id="{asset_id}"]').click()  # type: ignore[attr-defined]
    popup = page.locator(f'.leaflet-popup a.dr-popup[data-asset-id="{asset_id}"]')  # type: ignore[attr-defined]
    popup.wait_for()
    assert popup.get_attribute("href") == f"/photos/{asset_id}"
    assert city in popup.inner_text()
    page.wait_for_function(POPUP_SHOWN_JS)  # type: ignore[attr-defined]
    shot(page, "map-03-popup")
    popup.click()
    page.wait_for_url(re.compile(rf"/photos/{asset_id}$"))  # type: ignore[attr-defined]
    viewer = page.get_by_role("dialog", name="Asset viewer")  # type: ignore[attr-defined]
    viewer.locator("img.loaded").wait_for()
    assert viewer.get_attribute("data-asset-id") == asset_id
    shot(page, "map-04-viewer")

    # Favorites only: the one favourite (as the API says).
    favorites = {m["id"] for m in markers(user, isFavorite="true")}
    assert favorites == {library.placed["reykjavik"]}
    page.goto("/map")  # type: ignore[attr-defined]
    wait_on_map(page, 10)
    page.get_by_label("Favorites only").check()  # type: ignore[attr-defined]
    page.get_by_test_id("map-count").get_by_text("1 photo with a location").wait_for()  # type: ignore[attr-defined]
    state = wait_on_map(page, 1)
    assert state == {"pins": [library.placed["reykjavik"]], "clusters": []}
    # Keyboard: the pin is a focusable button; Enter opens its popup.
    page.get_by_role("button", name="Photo in Reykjavik, Iceland").focus()  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.locator(f'a.dr-popup[data-asset-id="{library.placed["reykjavik"]}"]').wait_for()  # type: ignore[attr-defined]
    page.wait_for_function(POPUP_SHOWN_JS)  # type: ignore[attr-defined]
    settle(page)  # the map pans the popup into view
    shot(page, "map-05-favorites-only-keyboard-popup")
    page.get_by_role("button", name="Reset").click()  # type: ignore[attr-defined]
    page.get_by_test_id("map-count").get_by_text("10 photos with a location").wait_for()  # type: ignore[attr-defined]
    wait_on_map(page, 10)

    # /map?lat=&lon=&zoom= (MiniMap's "Open in map"): centred on Reykjavik, Sydney off screen.
    lat, lon, *_ = PLACED["reykjavik"]
    page.goto(f"/map?lat={lat}&lon={lon}&zoom=12")  # type: ignore[attr-defined]
    pin = page.locator(f'.dr-pin[data-asset-id="{library.placed["reykjavik"]}"]')  # type: ignore[attr-defined]
    pin.wait_for()
    settle(page)
    frame = page.get_by_test_id("map").bounding_box()  # type: ignore[attr-defined]
    box = pin.bounding_box()
    centre = (frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2)
    assert abs(box["x"] + box["width"] / 2 - centre[0]) < 30
    assert abs(box["y"] + box["height"] / 2 - centre[1]) < 30
    assert page.locator(f'.dr-pin[data-asset-id="{library.placed["sydney"]}"]').count() == 0  # type: ignore[attr-defined]
    shot(page, "map-06-centred-from-url")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def test_map_on_a_phone(browser: object, stack: Stack, library: Library) -> None:
    page = offline_page(browser, stack, library.user, width=390)
    page.goto("/map")  # type: ignore[attr-defined]
    wait_on_map(page, 10)
    frame = page.get_by_test_id("map").bounding_box()  # type: ignore[attr-defined]
    assert frame["width"] >= 360 and frame["height"] >= 300, frame
    assert frame["y"] + frame["height"] <= 800 + 1, "the map runs below the screen"
    assert page.get_by_label("Favorites only").is_visible()  # type: ignore[attr-defined]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # type: ignore[attr-defined]
    shot(page, "map-07-phone")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def test_explore_people_places_to_search(browser: object, stack: Stack, library: Library) -> None:
    user = library.user
    # People over the API: one named, one unnamed, with faces drawn on photos.
    r = user.client.post("/api/people", json={"name": "Ada Lovelace"})
    assert r.status_code == 201, r.text
    ada = r.json()["id"]
    r = user.client.post("/api/people", json={})
    assert r.status_code == 201, r.text
    unnamed = r.json()["id"]
    # as Immich lists them: a named person with a face, an unnamed one with minFaces (3) faces
    box = {"imageWidth": 640, "imageHeight": 480, "x": 100, "y": 100, "width": 120}
    box["height"] = 120
    for person, assets in ((ada, library.arezzo[3:4]), (unnamed, library.arezzo[:3])):
        for asset in assets:
            face = {"assetId": asset, "personId": person, **box}
            assert user.client.post("/api/faces", json=face).status_code == 201
    # GET /api/people lists only people with a thumbnail (as Immich); the face service renders
    # them from detected faces, which seeded people lack: give them one as it would
    seed_person_thumbnails(stack, [ada, unnamed])
    api_people = [p["id"] for p in user.client.get("/api/people?withHidden=false").json()["people"]]
    assert api_people[0] == ada and unnamed in api_people
    # Explore lists a city from 5 photos on (Immich's minAssetsPerField): Arezzo's eight make
    # one; 4 more photos (no position: the map keeps its ten) in Reykjavik and in Sydney each
    explore = user.client.get("/api/search/explore").json()
    assert [item["value"] for item in explore[0]["items"]] == [arezzo_city(library)]
    extra = {
        city: [upload_jpeg(user, noise_jpeg(seed + i)) for i in range(4)]
        for city, seed in (("Reykjavik", 700), ("Sydney", 710))
    }
    wait_thumbnails(user, [i for ids in extra.values() for i in ids])
    for _lat, _lon, city, country in PLACED.values():
        name_city_in_db(stack, extra[city], city, country)
    explore = user.client.get("/api/search/explore").json()
    cities = [item["value"] for item in explore[0]["items"]]
    assert {"Reykjavik", "Sydney"} < set(cities) and len(cities) == 3, cities
    assert cities == sorted(cities)  # by name, as Immich

    page = offline_page(browser, stack, user)
    page.goto("/explore")  # type: ignore[attr-defined]
    people = page.get_by_test_id("explore-people").locator("a[data-person-id]")  # type: ignore[attr-defined]
    people.first.wait_for()
    assert [people.nth(i).get_attribute("data-person-id") for i in range(people.count())] == (
        api_people[:12]
    )
    assert people.first.inner_text().strip() == "Ada Lovelace"
    unnamed_link = page.locator(f'a[data-person-id="{unnamed}"]')  # type: ignore[attr-defined]
    assert unnamed_link.inner_text().strip() == "Unnamed person"
    places = page.get_by_test_id("explore-places").locator("a[data-city]")  # type: ignore[attr-defined]
    places.first.wait_for()
    assert [places.nth(i).get_attribute("data-city") for i in range(places.count())] == cities
    # Each place shows its photo (thumbnails from the server, so they load offline too).
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => [...document.querySelectorAll('[data-testid=explore-places] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    shot(page, "map-08-explore")

    # A place opens the search for that city, filled in, with its five photos.
    page.get_by_role("link", name="Reykjavik").click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/search\?city=Reykjavik$"))  # type: ignore[attr-defined]
    assert page.get_by_label("City").input_value() == "Reykjavik"  # type: ignore[attr-defined]
    page.get_by_test_id("search-count").get_by_text("5 results").wait_for()  # type: ignore[attr-defined]
    results = page.get_by_test_id("search-results").locator("a[data-asset-id]")  # type: ignore[attr-defined]
    results.first.wait_for()
    shown = {results.nth(i).get_attribute("data-asset-id") for i in range(results.count())}
    assert shown == {library.placed["reykjavik"], *extra["Reykjavik"]}
    assert page.get_by_role("link", name="Search").get_attribute("aria-current") == "page"  # type: ignore[attr-defined]
    shot(page, "map-09-place-search")

    # Searching again updates the URL; Back returns to the Reykjavik search.
    page.get_by_label("City").fill("Sydney")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Search", exact=True).click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/search\?city=Sydney$"))  # type: ignore[attr-defined]
    page.locator(
        f'[data-testid=search-results] a[data-asset-id="{library.placed["sydney"]}"]'
    ).wait_for()  # type: ignore[attr-defined]
    page.go_back()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/search\?city=Reykjavik$"))  # type: ignore[attr-defined]
    page.locator(
        f'[data-testid=search-results] a[data-asset-id="{library.placed["reykjavik"]}"]'
    ).wait_for()  # type: ignore[attr-defined]
    assert page.get_by_label("City").input_value() == "Reykjavik"  # type: ignore[attr-defined]
    shot(page, "map-10-search-back")

    # A person opens their page.
    page.goto("/explore")  # type: ignore[attr-defined]
    page.get_by_role("link", name="Ada Lovelace").click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(rf"/people/{ada}$"))  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]

    # At phone width: two columns of places, nothing wider than the screen.
    phone = offline_page(browser, stack, user, width=390)
    phone.goto("/explore")  # type: ignore[attr-defined]
    tiles = phone.get_by_test_id("explore-places").locator("a[data-city]")  # type: ignore[attr-defined]
    tiles.first.wait_for()
    first, second = tiles.nth(0).bounding_box(), tiles.nth(1).bounding_box()
    assert first["y"] == second["y"] and second["x"] > first["x"], (first, second)
    assert first["width"] >= 150
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # type: ignore[attr-defined]
    shot(phone, "map-11-explore-phone")
    assert phone.errors == []  # type: ignore[attr-defined]
    phone.context.close()  # type: ignore[attr-defined]
