"""Place search and Explore's places, checked against what Immich 3.1 does.

``GET /api/search/places`` (Immich ``SearchService.searchPlaces`` ->
``SearchRepository.searchPlaces``; e2e ``search.e2e-spec`` "should get relevant places"):

* it searches the whole GeoNames gazetteer, not the caller's photos: "Paris" on an empty
  library gives more than ten places, Paris (Ile-de-France, admin2 Paris) first;
* at most 20 places come back (``.limit(20)``), ordered by the sum of the name, admin2 and
  admin1 distances, where a missing admin name counts 0.1 (``coalesce(..., 0.1)``): Paris,
  Ontario (no admin2) comes second, before every other Paris; a missing admin name is left out
  of the answer (``mapPlaces``: ``?? undefined``);
* a place matches when the query is strictly word similar (pg_trgm ``%>>``, threshold 0.5) to
  its name, admin2 or admin1, all unaccented (``f_unaccent``): case and accents are ignored
  ("ZÜRICH" finds Zurich, "île de france" Ile-de-France), whole words of a longer name match
  ("new york" finds New York City), a county alone finds its places ("Bexar"), while a piece
  of a word does not ("aris" never finds Paris); a query without a letter or digit finds
  nothing;
* our trigram rule gives the same similarity as PostgreSQL's own ``strict_word_similarity``
  and the same match as ``%>>`` (compared on the stack's database, pg_trgm, for hand-picked
  pairs and for a sample of the gazetteer's names);
* anonymous calls get 401 and ``name`` is required (400).

``GET /api/search/explore`` (Immich ``SearchService.getExploreData`` ->
``AssetRepository.getAssetIdByCity`` with ``maxFields: 12, minAssetsPerField: 5``):

* a city is listed only with at least 5 assets there: every asset counts (a video, an archived
  photo), but the picture is a timeline image, so a city of videos alone is not listed;
* cities come sorted by name (``DISTINCT ON (city)``), not by how many photos they have;
* ``GET /api/search/cities`` has no such minimum (``getAssetsByCity``): a city of one photo
  is there.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from darkroom_gateway.places import cities1000_csv, fold, strict_word_similarity, trigrams
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user: no photo until the Explore fixture adds some."""
    return make_user(stack, admin)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def places(user: User, name: str) -> list[dict[str, Any]]:
    return ok(user.client.get("/api/search/places", params={"name": name}))  # type: ignore[no-any-return]


# --- GET /api/search/places ---------------------------------------------------------------------


def test_places_search_the_gazetteer_not_the_library(owner: User) -> None:
    found = places(owner, "Paris")
    assert len(found) == 20  # Immich's limit; far more places are like "Paris"
    first, second = found[0], found[1]
    assert first["name"] == "Paris" and first["admin2name"] == "Paris"
    assert first["admin1name"] == "Ile-de-France"
    assert abs(first["latitude"] - 48.853) < 0.01 and abs(first["longitude"] - 2.349) < 0.01
    # no admin2: distance 0.1 instead of about 1, so Paris, Ontario beats Paris, Texas
    assert second == {
        "name": "Paris",
        "latitude": second["latitude"],
        "longitude": second["longitude"],
        "admin1name": "Ontario",
    }
    assert "Texas" in {p.get("admin1name") for p in found if p["name"] == "Paris"}


def test_places_match_whole_words_ignoring_case_and_accents(owner: User) -> None:
    assert places(owner, "ZÜRICH")[0]["name"] == "Zurich"
    assert places(owner, "île de france")[0]["admin1name"] == "Ile-de-France"
    assert "New York City" in {p["name"] for p in places(owner, "new york")}
    bexar = places(owner, "Bexar")  # an admin2 (county) alone
    assert len(bexar) == 20 and {p["admin2name"] for p in bexar} == {"Bexar County"}
    assert "San Antonio" in {p["name"] for p in bexar}
    assert "Paris" not in {p["name"] for p in places(owner, "aris")}  # not a word of "Paris"
    assert places(owner, "zzz") == []
    assert places(owner, "!!!") == []
    assert places(owner, "") == []


#: (query, text) pairs around the 0.5 threshold: whole words, word runs, prefixes, pieces.
PAIRS = [
    ("paris", "paris"),
    ("paris", "le touquet-paris-plage"),
    ("paris", "parisot"),
    ("paris", "fond parisien"),
    ("aris", "paris"),
    ("par", "paris"),
    ("new york", "new york city"),
    ("new york", "east new york"),
    ("york new", "new york"),
    ("a b", "a c"),
    ("san fran", "san francisco del monte de oro"),
    ("bexar", "bexar county"),
    ("ile de france", "ile-de-france"),
    ("x", "xi'an"),
    ("rome", "roma"),
    ("zurich", "bezirk zuerich"),
]


def _gazetteer_sample(step: int = 700) -> list[str]:
    """Every ``step``-th place name and admin1 name of the packaged gazetteer."""
    with cities1000_csv().open(encoding="utf-8") as f:
        rows = [line.split(",") for n, line in enumerate(f) if n and n % step == 0]
    return [text for row in rows for text in (row[2], row[3]) if text]


def test_trigram_rule_agrees_with_pg_trgm(stack: Stack) -> None:
    queries = ["paris", "san fran", "new york", "saint", "ville", "bad", "ban", "al", "k"]
    pairs = PAIRS + [(q, t) for q in queries for t in _gazetteer_sample()]
    rows = db_rows(
        stack,
        "SELECT strict_word_similarity(u.q, u.t) AS sim, (u.t %>> u.q) AS matches "
        "FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(q, t, n) ORDER BY u.n",
        [q for q, _ in pairs],
        [fold(t) for _, t in pairs],
    )
    assert len(rows) == len(pairs) > 1500
    for (query, text), row in zip(pairs, rows, strict=True):
        wanted = frozenset().union(*trigrams(fold(query)))
        ours = strict_word_similarity(wanted, trigrams(fold(text)))
        assert abs(ours - row["sim"]) < 1e-6, (query, text, ours, row["sim"])
        assert (ours >= 0.5) == row["matches"], (query, text, ours)


def test_places_need_auth_and_a_name(stack: Stack, owner: User) -> None:
    r = httpx.get(f"{stack.url}/api/search/places", params={"name": "Paris"})
    assert r.status_code == 401, r.text
    assert owner.client.get("/api/search/places").status_code == 400


# --- GET /api/search/explore --------------------------------------------------------------------


def _in_city(
    stack: Stack, user: User, city: str, seeds: range, *, videos: int = 0, archived: int = 0
) -> list[str]:
    """Upload one photo per seed, wait for the pipeline, then place them all in ``city``; the
    first ``videos`` are made videos and the next ``archived`` archived."""
    ids = [upload_jpeg(user, noise_jpeg(seed)) for seed in seeds]
    wait_processed(user, ids)
    db_rows(
        stack,
        "UPDATE asset_exif SET city = $2, country = 'Norway' WHERE asset_id = ANY($1::uuid[])",
        [uuid.UUID(i) for i in ids],
        city,
    )
    if videos:
        db_rows(
            stack,
            "UPDATE assets SET type = 'VIDEO' WHERE id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in ids[:videos]],
        )
    if archived:
        body = {"ids": ids[videos : videos + archived], "visibility": "archive"}
        r = user.client.put("/api/assets", json=body)
        assert r.status_code == 204, r.text
    return ids


@pytest.fixture(scope="module")
def cities(stack: Stack, owner: User) -> dict[str, list[str]]:
    """Lyon: 5 images. Oslo: 4 images, a video and an archived image (6 assets). Bergen: 4
    images. Tromso: 5 videos."""
    return {
        "Lyon": _in_city(stack, owner, "Lyon", range(8800, 8805)),
        "Oslo": _in_city(stack, owner, "Oslo", range(8810, 8816), videos=1, archived=1),
        "Bergen": _in_city(stack, owner, "Bergen", range(8820, 8824)),
        "Tromso": _in_city(stack, owner, "Tromso", range(8830, 8835), videos=5),
    }


def test_explore_lists_cities_of_five_assets_by_name(
    owner: User, cities: dict[str, list[str]]
) -> None:
    [row] = ok(owner.client.get("/api/search/explore"))
    assert row["fieldName"] == "exifInfo.city"
    # Bergen has 4 assets; Tromso 5, but videos only; Oslo (6) after Lyon (5): by name
    assert [i["value"] for i in row["items"]] == ["Lyon", "Oslo"]
    lyon, oslo = (i["data"] for i in row["items"])
    assert lyon["id"] in cities["Lyon"] and lyon["exifInfo"]["city"] == "Lyon"
    # Oslo's picture is one of its timeline images: not the video, not the archived photo
    assert oslo["id"] in cities["Oslo"][2:] and oslo["type"] == "IMAGE"
    assert oslo["visibility"] == "timeline"


def test_cities_have_no_minimum(owner: User, cities: dict[str, list[str]]) -> None:
    found = ok(owner.client.get("/api/search/cities"))
    # every city with a timeline image, however few: Bergen's 4 too; Tromso has only videos
    assert [a["exifInfo"]["city"] for a in found] == ["Bergen", "Lyon", "Oslo"]
