"""Repository: asset search (metadata filters, smart search over ``smart_search``, places,
suggestions, explore, statistics).

Every query is built from one :class:`AssetFilters` by :func:`where_clause`, and every query is
scoped to ``owner_id``: another user's assets can never match, whatever the filters say.
Filter semantics follow Immich's search DTOs (``MetadataSearchDto``, ``SmartSearchDto``):

- a nullable place/camera filter (``city``, ``make``...) given as None matches assets where the
  field is unknown (``IS NULL``); left UNSET it does not filter;
- ``taken_after``/``taken_before`` compare ``file_created_at`` (the capture time once metadata
  is extracted); ``created_*`` the upload time; ``trashed_*`` the time it went to the trash;
- by default the library is searched (visibility timeline or archive, not trashed);
  ``with_deleted`` adds the trash; ``visibility`` picks one visibility;
- file name, original path and description are substring matches ignoring case and accents
  (Immich's ``f_unaccent(...) ILIKE f_unaccent('%' || q || '%')``), served by trigram indexes
  on the unaccented columns (``0033_search_folding.sql``);
- every word of an OCR query must occur in the asset's OCR text, compared folded and fuzzily
  (:func:`darkroom_db.ocr.word_condition`; docs/search.md).
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import asyncpg
import msgspec
from msgspec import UNSET, UnsetType

from darkroom_db import ocr, visibility
from darkroom_db.assets import ASSET_COLUMNS, Asset
from darkroom_db.exif import Exif

Order = Literal["asc", "desc"]
SuggestionType = Literal[
    "country", "state", "city", "camera-make", "camera-model", "camera-lens-model"
]

#: HNSW ``ef_search`` of smart search unless the caller says otherwise (the search service's
#: ``DARKROOM_EF_SEARCH`` defaults to it). 200: on migration 0039's graph (m 24,
#: ef_construction 128) bench/search.py measured recall@10 0.998-1.000 at 1M assets without a
#: metadata filter at 200, as at 400 and 800 (the graph sets the recall there, not ef_search),
#: at about half the latency of 400; 400 had been chosen on pgvector's default graph (m 16),
#: where 200 gave 0.93. Latency and recall per value: docs/performance.md ("Smart search").
DEFAULT_EF_SEARCH = 200
#: Explore's places row: most cities shown, and least assets a city needs (Immich
#: ``SearchService.getExploreData``: ``maxFields: 12, minAssetsPerField: 5``).
EXPLORE_MAX_FIELDS = 12
EXPLORE_MIN_ASSETS_PER_FIELD = 5
#: Suggestion type -> asset_exif column.
SUGGESTION_COLUMNS: dict[str, str] = {
    "country": "country",
    "state": "state",
    "city": "city",
    "camera-make": "make",
    "camera-model": "model",
    "camera-lens-model": "lens_model",
}


class AssetFilters(msgspec.Struct, frozen=True, kw_only=True):
    """What a search narrows to (all optional; see the module docstring for semantics).

    Attributes mirror the search DTOs of the Immich spec in snake_case. ``person_ids``: every
    listed person must show in the asset (``asset_faces``; the asset is the owner's, so another
    user's person never matches); ``tag_ids``: every listed tag, or one of its descendants, is
    on the asset (Immich's ``hasTags`` over ``tag_closure``; see ``0017_tags.sql``);
    ``is_untagged``: the asset has no tag at all (Immich's ``tagIds: null``); ``album_ids``:
    the asset is in every listed album (Immich's ``inAlbums``: as many distinct albums as listed).
    """

    id: uuid.UUID | None = None
    checksum: bytes | None = None
    original_file_name: str | None = None
    original_path: str | None = None
    description: str | None = None
    ocr: str | None = None
    city: str | None | UnsetType = UNSET
    state: str | None | UnsetType = UNSET
    country: str | None | UnsetType = UNSET
    make: str | None | UnsetType = UNSET
    model: str | None | UnsetType = UNSET
    lens_model: str | None | UnsetType = UNSET
    rating: int | None | UnsetType = UNSET
    type: str | None = None
    is_favorite: bool | None = None
    is_offline: bool | None = None
    #: Only assets of this external library (Immich's ``libraryId`` filter).
    library_id: uuid.UUID | None = None
    is_encoded: bool | None = None
    is_motion: bool | None = None
    is_not_in_album: bool | None = None
    visibility: str | None = None
    with_deleted: bool = False
    album_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    person_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    tag_ids: list[uuid.UUID] | None = None
    is_untagged: bool = False
    taken_after: datetime | None = None
    taken_before: datetime | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    trashed_after: datetime | None = None
    trashed_before: datetime | None = None
    #: ``withStacked``: true, only assets that are not stacked or are their stack's primary;
    #: false, only assets in no stack; None (not asked), every asset.
    with_stacked: bool | None = None
    #: The caller's session is unlocked with the PIN code: ``visibility="locked"`` may match
    #: (:func:`darkroom_db.visibility.condition`).
    unlocked: bool = False


class _Sql:
    """Accumulates WHERE conditions and their positional parameters."""

    def __init__(self, first_param: int = 1) -> None:
        self.conds: list[str] = []
        self.params: list[Any] = []
        self._first = first_param

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${self._first + len(self.params) - 1}"

    def add(self, cond: str) -> None:
        self.conds.append(cond)


def _like(text: str) -> str:
    """``text`` as an ILIKE substring pattern, with LIKE's wildcards escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _unaccent_like(column_sql: str, pattern_sql: str) -> str:
    """SQL: ``column_sql`` contains the ILIKE pattern ``pattern_sql``, ignoring case and accents
    (``darkroom_unaccent`` on both sides, as Immich's metadata search does; served by the
    trigram indexes on ``darkroom_unaccent(...)`` of ``0033_search_folding.sql``)."""
    return f"darkroom_unaccent({column_sql}) ILIKE darkroom_unaccent({pattern_sql})"


def tag_condition(alias: str, tag_param: str) -> str:
    """SQL: the asset ``alias`` carries the tag ``tag_param`` or one of its descendants.

    The one tag filter of search and timeline (Immich's ``hasTags``/``withTagId`` join
    ``tag_asset`` through ``tag_closure``: tagging ``Travel/Japan`` makes an asset match a
    filter on ``Travel``).

    Args:
        alias: Alias of ``assets`` in the query.
        tag_param: The positional parameter (``$n``) holding the tag id.
    """
    return (
        f"EXISTS (SELECT 1 FROM tag_assets ta WHERE ta.asset_id = {alias}.id "
        f"AND ta.tag_id IN (SELECT darkroom_tag_subtree({tag_param}::uuid)))"
    )


def where_clause(
    owner_id: uuid.UUID,
    f: AssetFilters,
    *,
    alias: str = "a",
    first_param: int = 1,
    partner_ids: Sequence[uuid.UUID] = (),
) -> tuple[str, list[Any]]:
    """The SQL condition selecting ``owner_id``'s assets that pass ``f``.

    Args:
        owner_id: Whose assets (always enforced).
        partner_ids: Users sharing their library with ``owner_id`` whom they show in their
            timeline (the caller checks that): their active ``timeline`` assets match too, as
            Immich's search adds ``getMyPartnerIds(timelineEnabled: true)``. Never their
            archived or trashed ones, and none under a favourite filter (favourite flags are
            the owner's own).
        f: The filters.
        alias: Alias of ``assets`` in the caller's query; ``asset_exif`` is reached through
            sub-queries, so the caller needs no join.
        first_param: Number of the first positional parameter ($n) this clause may use.

    Returns:
        (condition, parameters): ``condition`` uses ``$first_param`` onwards.
    """
    a = alias
    q = _Sql(first_param)
    if partner_ids and f.is_favorite is None:
        q.add(
            f"({a}.owner_id = {q.param(owner_id)} OR ({a}.owner_id = ANY("
            f"{q.param(list(partner_ids))}::uuid[]) AND {a}.status = 'active' "
            f"AND {a}.visibility = 'timeline'))"
        )
    else:
        q.add(f"{a}.owner_id = {q.param(owner_id)}")
    trash_filter = f.trashed_after is not None or f.trashed_before is not None
    if f.with_deleted or trash_filter:
        q.add(f"{a}.status IN ('active', 'trashed')")
    else:
        q.add(f"{a}.status = 'active'")
    q.add(visibility.condition(a, f.visibility or None, unlocked=f.unlocked, param=q.param))
    if f.id is not None:
        q.add(f"{a}.id = {q.param(f.id)}")
    if f.checksum is not None:
        q.add(f"{a}.checksum = {q.param(f.checksum)}")
    if f.original_file_name:
        q.add(_unaccent_like(f"{a}.original_file_name", q.param(_like(f.original_file_name))))
    if f.original_path:
        q.add(_unaccent_like(f"{a}.original_path", q.param(_like(f.original_path))))
    if f.type:
        q.add(f"{a}.type = {q.param(f.type)}")
    if f.is_favorite is not None:
        q.add(f"{a}.is_favorite = {q.param(f.is_favorite)}")
    if f.is_offline is not None:
        q.add(f"{a}.is_offline = {q.param(f.is_offline)}")
    if f.library_id is not None:
        q.add(f"{a}.library_id = {q.param(f.library_id)}")
    if f.is_motion is not None:
        q.add(f"({a}.live_photo_video_id IS NOT NULL) = {q.param(f.is_motion)}")
    if f.is_encoded is not None:
        q.add(
            f"EXISTS (SELECT 1 FROM asset_files af WHERE af.asset_id = {a}.id "
            f"AND af.type = 'encoded_video') = {q.param(f.is_encoded)}"
        )
    if f.is_not_in_album:
        q.add(f"NOT EXISTS (SELECT 1 FROM album_assets aa WHERE aa.asset_id = {a}.id)")
    for album_id in dict.fromkeys(f.album_ids):  # in every listed album (Immich)
        q.add(
            f"EXISTS (SELECT 1 FROM album_assets aa WHERE aa.asset_id = {a}.id "
            f"AND aa.album_id = {q.param(album_id)})"
        )
    for person_id in f.person_ids:  # every person must show in the asset (Immich)
        q.add(
            f"EXISTS (SELECT 1 FROM asset_faces af WHERE af.asset_id = {a}.id "
            f"AND af.person_id = {q.param(person_id)} AND af.deleted_at IS NULL)"
        )
    for tag_id in f.tag_ids or []:  # every tag (itself or a descendant) is on it (Immich)
        q.add(tag_condition(a, q.param(tag_id)))
    if f.is_untagged:
        q.add(f"NOT EXISTS (SELECT 1 FROM tag_assets ta WHERE ta.asset_id = {a}.id)")
    if f.with_stacked:  # a stack shows once, as its primary (Immich's withStacked)
        q.add(
            f"({a}.stack_id IS NULL OR EXISTS (SELECT 1 FROM stacks st "
            f"WHERE st.id = {a}.stack_id AND st.primary_asset_id = {a}.id))"
        )
    elif f.with_stacked is False:  # Immich's searchAssetBuilder: withStacked false, no stack
        q.add(f"{a}.stack_id IS NULL")
    for column, lo, hi in (
        ("file_created_at", f.taken_after, f.taken_before),
        ("created_at", f.created_after, f.created_before),
        ("updated_at", f.updated_after, f.updated_before),
        ("deleted_at", f.trashed_after, f.trashed_before),
    ):
        if lo is not None:
            q.add(f"{a}.{column} >= {q.param(lo)}")
        if hi is not None:
            q.add(f"{a}.{column} <= {q.param(hi)}")
    exif_conds: list[str] = []
    for column, value in (
        ("city", f.city),
        ("state", f.state),
        ("country", f.country),
        ("make", f.make),
        ("model", f.model),
        ("lens_model", f.lens_model),
        ("rating", f.rating),
    ):
        if value is UNSET:
            continue
        if value is None:
            exif_conds.append(f"e.{column} IS NULL")
        else:
            exif_conds.append(f"e.{column} = {q.param(value)}")
    if f.description:
        exif_conds.append(_unaccent_like("e.description", q.param(_like(f.description))))
    if exif_conds:
        null_ok = all(c.endswith("IS NULL") for c in exif_conds)
        # e.owner_id (always the asset's) lets PostgreSQL carry the owner into the EXIF
        # indexes, which lead with it (asset_exif_city_idx is (owner_id, city) INCLUDE
        # (asset_id)): a city's rows of this owner only, not every owner's, read from the index
        # alone (migration 0040; docs/performance.md, smart search)
        sub = (
            f"SELECT 1 FROM asset_exif e WHERE e.asset_id = {a}.id "
            f"AND e.owner_id = {a}.owner_id AND " + " AND ".join(exif_conds)
        )
        if null_ok:  # "unknown city" also holds for an asset whose metadata is not extracted
            q.add(
                f"(EXISTS ({sub}) OR NOT EXISTS (SELECT 1 FROM asset_exif e "
                f"WHERE e.asset_id = {a}.id))"
            )
        else:
            q.add(f"EXISTS ({sub})")
    for word in ocr.query_words(f.ocr or ""):  # every word, each in some line (docs/search.md)
        cond = ocr.word_condition(
            "o.text",
            q.param(word),
            q.param(ocr.like_pattern(word)),
            "true" if ocr.is_fuzzy(word) else "false",
        )
        q.add(f"EXISTS (SELECT 1 FROM asset_ocr o WHERE o.asset_id = {a}.id AND {cond})")
    return " AND ".join(q.conds), q.params


def _asset_cols(alias: str) -> str:
    return ", ".join(f"{alias}.{c}" for c in ASSET_COLUMNS.split(", "))


_EXIF_COLS = list(Exif.__struct_fields__)


async def with_exif(pool: asyncpg.Pool, assets: list[Asset]) -> list[tuple[Asset, Exif | None]]:
    """Pair each asset with its EXIF row (None when not extracted), keeping the order."""
    if not assets:
        return []
    rows = await pool.fetch(
        f"SELECT asset_id, {', '.join(_EXIF_COLS)} FROM asset_exif "
        "WHERE asset_id = ANY($1::uuid[])",
        [x.id for x in assets],
    )
    by_id = {r["asset_id"]: Exif(**{c: r[c] for c in _EXIF_COLS}) for r in rows}
    return [(x, by_id.get(x.id)) for x in assets]


async def search_metadata(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    filters: AssetFilters,
    *,
    page: int = 1,
    size: int = 250,
    order: Order = "desc",
    partner_ids: Sequence[uuid.UUID] = (),
) -> tuple[list[Asset], bool]:
    """One page of ``owner_id``'s assets passing ``filters``, newest capture first.

    Args:
        pool: Pool.
        owner_id: Whose assets.
        filters: The filters.
        page: 1-based page number.
        size: Page size (1..1000).
        order: "desc" (newest first, Immich's default) or "asc", by capture time.
        partner_ids: See :func:`where_clause`.

    Returns:
        (assets, has_more): ``has_more`` is True when a next page exists.
    """
    where, params = where_clause(owner_id, filters, partner_ids=partner_ids)
    direction = "ASC" if order == "asc" else "DESC"
    rows = await pool.fetch(
        f"SELECT {_asset_cols('a')} FROM assets a WHERE {where} "
        f"ORDER BY a.file_created_at {direction}, a.id {direction} "
        f"LIMIT {int(size) + 1} OFFSET {(int(page) - 1) * int(size)}",
        *params,
    )
    found = [Asset(**dict(r)) for r in rows]
    return found[:size], len(found) > size


async def random_assets(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    filters: AssetFilters,
    *,
    size: int = 250,
    partner_ids: Sequence[uuid.UUID] = (),
) -> list[Asset]:
    """Up to ``size`` of ``owner_id``'s (and ``partner_ids``', see :func:`where_clause`)
    assets passing ``filters``, in random order."""
    where, params = where_clause(owner_id, filters, partner_ids=partner_ids)
    rows = await pool.fetch(
        f"SELECT {_asset_cols('a')} FROM assets a WHERE {where} ORDER BY random() "
        f"LIMIT {int(size)}",
        *params,
    )
    return [Asset(**dict(r)) for r in rows]


async def large_assets(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    filters: AssetFilters,
    *,
    min_file_size: int = 0,
    size: int = 250,
) -> list[Asset]:
    """Up to ``size`` of ``owner_id``'s own assets passing ``filters`` whose original is at
    least ``min_file_size`` bytes, largest original first (ties: newest capture first).

    Only the owner's assets: the list is for cleaning up one's own library (the "Large files"
    utility), so partners' assets never show.
    """
    where, params = where_clause(owner_id, filters, first_param=2)
    rows = await pool.fetch(
        f"SELECT {_asset_cols('a')} FROM assets a WHERE {where} AND a.file_size >= $1 "
        f"ORDER BY a.file_size DESC, a.file_created_at DESC, a.id LIMIT {int(size)}",
        int(min_file_size),
        *params,
    )
    return [Asset(**dict(r)) for r in rows]


async def count_assets(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    filters: AssetFilters,
    *,
    partner_ids: Sequence[uuid.UUID] = (),
) -> int:
    """How many of ``owner_id``'s (and ``partner_ids``', see :func:`where_clause`) assets pass
    ``filters``."""
    where, params = where_clause(owner_id, filters, partner_ids=partner_ids)
    return int(await pool.fetchval(f"SELECT count(*) FROM assets a WHERE {where}", *params))


async def filter_ids(
    pool: asyncpg.Pool | asyncpg.Connection,
    owner_id: uuid.UUID,
    filters: AssetFilters,
    ids: list[uuid.UUID],
    *,
    partner_ids: Sequence[uuid.UUID] = (),
) -> set[uuid.UUID]:
    """Which of ``ids`` are ``owner_id``'s (or ``partner_ids``', see :func:`where_clause`)
    assets passing ``filters``."""
    if not ids:
        return set()
    where, params = where_clause(owner_id, filters, first_param=2, partner_ids=partner_ids)
    rows = await pool.fetch(
        f"SELECT a.id FROM assets a WHERE a.id = ANY($1::uuid[]) AND {where}", ids, *params
    )
    return {r["id"] for r in rows}


async def assets_in_order(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    ids: list[uuid.UUID],
    *,
    partner_ids: Sequence[uuid.UUID] = (),
) -> list[Asset]:
    """``owner_id``'s assets among ``ids`` (and ``partner_ids``' active timeline ones), in the
    order of ``ids`` (others are dropped)."""
    rows = await pool.fetch(
        f"SELECT {ASSET_COLUMNS} FROM assets WHERE id = ANY($2::uuid[]) AND (owner_id = $1 "
        "OR (owner_id = ANY($3::uuid[]) AND status = 'active' AND visibility = 'timeline'))",
        owner_id,
        ids,
        list(partner_ids),
    )
    by_id = {r["id"]: Asset(**dict(r)) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


async def smart_search(
    conn: asyncpg.Connection,
    owner_id: uuid.UUID,
    embedding: Any,
    filters: AssetFilters,
    *,
    offset: int,
    limit: int,
    ef_search: int = DEFAULT_EF_SEARCH,
    exclude: list[uuid.UUID] | None = None,
    partner_ids: Sequence[uuid.UUID] = (),
) -> list[uuid.UUID]:
    """Ids of ``owner_id``'s assets nearest to ``embedding`` (cosine) that pass ``filters``.

    Runs on the HNSW index of ``smart_search`` with ``hnsw.ef_search`` raised to at least
    ``offset + limit`` (pgvector returns at most ef_search rows per index scan) and pgvector
    0.8's iterative scan (``hnsw.iterative_scan = strict_order``) so a selective filter still
    fills the page instead of returning fewer rows (pgvector README, "Iterative Index Scans").

    Args:
        conn: A connection (the settings are transaction-local; this opens a transaction).
        owner_id: Whose assets.
        embedding: The query vector (numpy float32 array or ``pgvector.Vector``), L2-normalised.
        filters: The filters.
        offset: Rows to skip (paging).
        limit: Rows to return.
        ef_search: HNSW candidate list size (recall vs. latency; :data:`DEFAULT_EF_SEARCH`).
        exclude: Asset ids to leave out (already shown by another ranking).
        partner_ids: See :func:`where_clause`.

    Returns:
        Asset ids, nearest first.
    """
    sql, params = smart_search_statement(
        owner_id,
        embedding,
        filters,
        offset=offset,
        limit=limit,
        exclude=exclude,
        partner_ids=partner_ids,
    )
    ef = max(int(ef_search), min(1000, offset + limit))
    async with conn.transaction():
        # SET LOCAL both in one round trip (set_config(..., true) is SET LOCAL)
        await conn.execute(
            "SELECT set_config('hnsw.ef_search', $1, true), "
            "set_config('hnsw.iterative_scan', 'strict_order', true)",
            str(ef),
        )
        rows = await conn.fetch(sql, *params)
    return [r["asset_id"] for r in rows]


def smart_search_statement(
    owner_id: uuid.UUID,
    embedding: Any,
    filters: AssetFilters,
    *,
    offset: int,
    limit: int,
    exclude: list[uuid.UUID] | None = None,
    partner_ids: Sequence[uuid.UUID] = (),
) -> tuple[str, list[Any]]:
    """The SQL and parameters :func:`smart_search` runs (arguments as there), so that
    bench/search.py explains the production statement itself.

    Returns:
        ``(sql, params)``: ``$1`` is ``embedding``; the rows have one column, ``asset_id``.
    """
    where, params = where_clause(owner_id, filters, first_param=2, partner_ids=partner_ids)
    extra = ""
    if exclude:
        params.append(exclude)
        extra = f" AND NOT (a.id = ANY(${len(params) + 1}::uuid[]))"
    sql = (
        "SELECT s.asset_id FROM smart_search s JOIN assets a ON a.id = s.asset_id "
        f"WHERE s.owner_id = a.owner_id AND {where}{extra} "
        f"ORDER BY s.embedding <=> $1 LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return sql, [embedding, *params]


async def asset_embedding(
    pool: asyncpg.Pool, owner_id: uuid.UUID, asset_id: uuid.UUID
) -> Any | None:
    """The stored CLIP embedding of ``owner_id``'s asset (``pgvector.Vector``), or None."""
    return await pool.fetchval(
        "SELECT embedding FROM smart_search WHERE asset_id = $1 AND owner_id = $2",
        asset_id,
        owner_id,
    )


#: Which other fields narrow each suggestion type (Immich's ``SearchService.getSuggestions``:
#: states within a country, cities within a country and state, camera makes by model and lens,
#: models by make and lens, lenses by make and model); any other filter given is ignored.
SUGGESTION_FILTERS: dict[str, tuple[str, ...]] = {
    "country": (),
    "state": ("country",),
    "city": ("country", "state"),
    "camera-make": ("model", "lens_model"),
    "camera-model": ("make", "lens_model"),
    "camera-lens-model": ("make", "model"),
}


def collation_key(value: str) -> tuple[str, str, str]:
    """Sort key that orders text as Immich's suggestions come out of its database (DISTINCT ON
    under the ``en_US.UTF-8`` collation): case, accents, spaces and punctuation ignored first,
    so ``samsung`` sorts before ``SONY``, ``iPhone 7`` before ``NIKON D750`` and
    ``State of Berlin`` before ``St.-Petersburg`` (Immich's e2e ``search.e2e-spec`` expects
    exactly that); then with the punctuation; ties by the text itself. Our cluster is
    initialised with ``--locale=C``, so the database cannot sort this way itself."""
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c)
    ).casefold()
    return "".join(c for c in folded if c.isalnum()), folded, value


async def suggestions(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    kind: SuggestionType,
    *,
    country: str | None = None,
    state: str | None = None,
    make: str | None = None,
    model: str | None = None,
    lens_model: str | None = None,
    include_null: bool = False,
    partner_ids: Sequence[uuid.UUID] = (),
) -> list[str | None]:
    """Distinct values of one EXIF field among ``owner_id``'s (and ``partner_ids``') timeline
    assets, narrowed by the fields :data:`SUGGESTION_FILTERS` names for ``kind``.

    Immich's ``GET /search/suggestions`` (``SearchRepository.getExifField``): only assets in the
    timeline (not archived, hidden or locked) and not trashed, of the caller and of the
    partners they show in their timeline; empty values are never suggested.

    Args:
        pool: Pool.
        owner_id: Whose assets.
        kind: Which field.
        country, state, make, model, lens_model: Narrow by these (those that apply to
            ``kind``; others are ignored, as Immich ignores them).
        include_null: Append None (Immich appends it whatever the values are, so a client can
            offer "unknown").
        partner_ids: Users sharing their library with ``owner_id`` whom they show in their
            timeline (Immich's ``getUserIdsToSearch``).

    Returns:
        The values in :func:`collation_key` order, then None when ``include_null``.
    """
    column = SUGGESTION_COLUMNS[kind]
    given = {
        "country": country,
        "state": state,
        "make": make,
        "model": model,
        "lens_model": lens_model,
    }
    q = _Sql(1)
    q.add(f"a.owner_id = ANY({q.param([owner_id, *partner_ids])}::uuid[])")
    q.add("a.status = 'active' AND a.visibility = 'timeline'")
    q.add(f"e.{column} IS NOT NULL AND e.{column} <> ''")
    for col in SUGGESTION_FILTERS[kind]:
        if given[col]:
            q.add(f"e.{col} = {q.param(given[col])}")
    rows = await pool.fetch(
        f"SELECT DISTINCT e.{column} AS v FROM asset_exif e JOIN assets a ON a.id = e.asset_id "
        f"WHERE {' AND '.join(q.conds)}",
        *q.params,
    )
    values: list[str] = sorted((r["v"] for r in rows), key=collation_key)
    return [*values, None] if include_null else list(values)


async def assets_by_city(
    pool: asyncpg.Pool, owner_id: uuid.UUID, *, partner_ids: Sequence[uuid.UUID] = ()
) -> list[Asset]:
    """One photo per city of ``owner_id``'s (and ``partner_ids``') timeline (the most recent
    there), cities sorted by name.

    Immich's ``GET /search/cities`` (``SearchRepository.getAssetsByCity``): images only (never a
    video), in the timeline (not archived), not trashed, of the caller and of the partners they
    show in their timeline.
    """
    rows = await pool.fetch(
        f"SELECT DISTINCT ON (e.city) {_asset_cols('a')} FROM assets a "
        "JOIN asset_exif e ON e.asset_id = a.id "
        "WHERE a.owner_id = ANY($1::uuid[]) AND a.status = 'active' "
        "AND a.visibility = 'timeline' AND a.type = 'IMAGE' "
        "AND e.city IS NOT NULL AND e.city <> '' "
        "ORDER BY e.city, a.file_created_at DESC",
        [owner_id, *partner_ids],
    )
    return [Asset(**dict(r)) for r in rows]


async def explore_cities(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    *,
    max_fields: int = EXPLORE_MAX_FIELDS,
    min_assets: int = EXPLORE_MIN_ASSETS_PER_FIELD,
) -> list[tuple[str, Asset]]:
    """The places row of Explore: ``owner_id``'s cities with at least ``min_assets`` assets,
    one photo of each, as Immich's ``AssetRepository.getAssetIdByCity`` (called by
    ``SearchService.getExploreData`` with ``maxFields: 12, minAssetsPerField: 5``).

    As Immich, a city counts every asset there (``asset_exif`` rows: videos, archived and
    trashed assets too) but is shown only with an image of the timeline, not trashed (a video
    is never a place's picture); the cities come sorted by name (Immich's ``DISTINCT ON
    (city)``, under its ``en_US`` collation: :func:`collation_key`) and the first
    ``max_fields`` are kept. Unlike Immich, whose count runs over every user's assets, only
    the caller's own assets count: another user's photos never put a city on one's Explore.

    Args:
        pool: Pool.
        owner_id: Whose assets.
        max_fields: Most cities returned (Immich: 12).
        min_assets: Least assets a city needs to be listed (Immich: 5).

    Returns:
        (city, most recent timeline image there), cities by name.
    """
    shown = (
        "SELECT 1 FROM assets a JOIN asset_exif x ON x.asset_id = a.id "
        "WHERE a.owner_id = $1 AND a.status = 'active' AND a.visibility = 'timeline' "
        "AND a.type = 'IMAGE' AND x.owner_id = $1 AND x.city = e.city"
    )
    names = await pool.fetch(
        "SELECT e.city FROM asset_exif e JOIN assets a ON a.id = e.asset_id "
        "WHERE e.owner_id = $1 AND a.status IN ('active', 'trashed') "
        "AND e.city IS NOT NULL AND e.city <> '' GROUP BY e.city "
        f"HAVING count(*) >= $2 AND EXISTS ({shown})",
        owner_id,
        min_assets,
    )
    # sorted here (the cluster's C locale cannot), then a photo fetched for the kept ones only
    kept = sorted((r["city"] for r in names), key=collation_key)[:max_fields]
    rows = await pool.fetch(
        f"SELECT c.city AS city_name, x.* FROM unnest($2::text[]) WITH ORDINALITY c(city, i) "
        f"CROSS JOIN LATERAL (SELECT {_asset_cols('a')} FROM assets a "
        "JOIN asset_exif e ON e.asset_id = a.id "
        "WHERE a.owner_id = $1 AND a.status = 'active' AND a.visibility = 'timeline' "
        "AND a.type = 'IMAGE' AND e.city = c.city ORDER BY a.file_created_at DESC LIMIT 1) x "
        "ORDER BY c.i",
        owner_id,
        kept,
    )
    cols = ASSET_COLUMNS.split(", ")
    return [(r["city_name"], Asset(**{c: r[c] for c in cols})) for r in rows]


class PersonHit(msgspec.Struct, frozen=True, kw_only=True):
    """A person found by name."""

    id: uuid.UUID
    name: str
    birth_date: Any
    is_hidden: bool
    is_favorite: bool
    color: str | None
    thumbnail_path: str
    updated_at: datetime


async def people_by_name(
    pool: asyncpg.Pool,
    owner_id: uuid.UUID,
    name: str,
    *,
    with_hidden: bool = False,
    limit: int = 100,
) -> list[PersonHit]:
    """``owner_id``'s people whose name is like ``name``, as Immich's
    ``PersonRepository.getByName`` (``GET /api/search/person``).

    A person matches when the pg_trgm word similarity of the unaccented ``name`` to some
    continuous extent of the unaccented person's name is at least 0.5 (Immich:
    ``f_unaccent(name) %> f_unaccent(query)`` under ``pg_trgm.word_similarity_threshold =
    0.5``): case and accents are ignored ("zoe" finds "Zoë"), a typo or a part of a word still
    matches. Nearest first by strict word distance (``<->>>``), then by name.

    Args:
        name: The query, as typed.
        with_hidden: Include hidden people.
        limit: Most people returned (Immich: 100).
    """
    if not name.strip():
        return []
    async with pool.acquire() as conn, conn.transaction():
        # local to this transaction (Immich sets it in a CTE of the same statement)
        await conn.execute("SELECT set_config('pg_trgm.word_similarity_threshold', '0.5', true)")
        rows = await conn.fetch(
            "SELECT id, name, birth_date, is_hidden, is_favorite, color, thumbnail_path, "
            "updated_at FROM people WHERE owner_id = $1 "
            "AND darkroom_unaccent(name) %> darkroom_unaccent($2) AND ($3 OR NOT is_hidden) "
            "ORDER BY darkroom_unaccent(name) <->>> darkroom_unaccent($2), name, id LIMIT $4",
            owner_id,
            name,
            with_hidden,
            limit,
        )
    return [PersonHit(**dict(r)) for r in rows]
