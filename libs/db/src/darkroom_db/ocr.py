"""Repository: text read in assets by OCR (``asset_ocr``, ``asset_ocr_status``; 0007) and how
OCR search matches it (folded, fuzzy; ``0033_search_folding.sql``, docs/search.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg
import msgspec

#: Least pg_trgm strict word similarity (0..1) between a folded query word and folded OCR text
#: for a match (:func:`word_condition`). Chosen on bench/ocr.py's data (generated text images in
#: several fonts, sizes, rotations and backgrounds, and the sample photos with text): see
#: docs/search.md for the recall and false matches at 0.3-0.7. It is also pg_trgm's default
#: ``strict_word_similarity_threshold``, which the indexed ``%>>`` operator applies.
WORD_SIMILARITY = 0.5


class OcrLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of text found in an asset's preview.

    Attributes:
        text: The recognised text.
        box: Four corners (x1, y1, ..., x4, y4), clockwise from top-left, each in 0..1 of the
            preview's width (x) or height (y).
        score: Recognition confidence, 0..1.
    """

    text: str
    box: list[float]
    score: float


async def replace_lines(
    pool: asyncpg.Pool,
    asset_id: uuid.UUID,
    owner_id: uuid.UUID,
    lines: list[OcrLine],
) -> None:
    """Store ``lines`` as the asset's OCR text, replacing what a previous run stored
    (idempotent: one transaction deletes and inserts), and mark the asset done."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM asset_ocr WHERE asset_id = $1", asset_id)
        if lines:
            await conn.executemany(
                "INSERT INTO asset_ocr (asset_id, owner_id, text, box, score) "
                "VALUES ($1, $2, $3, $4, $5)",
                [(asset_id, owner_id, x.text, x.box, x.score) for x in lines],
            )
        await conn.execute(
            "INSERT INTO asset_ocr_status (asset_id, owner_id, lines) VALUES ($1, $2, $3) "
            "ON CONFLICT (asset_id) DO UPDATE SET lines = excluded.lines, done_at = now()",
            asset_id,
            owner_id,
            len(lines),
        )


async def get_lines(pool: asyncpg.Pool, owner_id: uuid.UUID, asset_id: uuid.UUID) -> list[OcrLine]:
    """The OCR lines of ``owner_id``'s asset, top to bottom (empty when none or not run)."""
    rows = await pool.fetch(
        "SELECT text, box, score FROM asset_ocr WHERE asset_id = $1 AND owner_id = $2 "
        "ORDER BY box[2], box[1], id",
        asset_id,
        owner_id,
    )
    return [OcrLine(text=r["text"], box=list(r["box"]), score=float(r["score"])) for r in rows]


class StoredOcrLine(msgspec.Struct, frozen=True, kw_only=True):
    """An OCR line as stored: :class:`OcrLine` with its row id.

    Attributes:
        id: ``asset_ocr.id`` (an identity: a re-run of OCR replaces the rows, so new ids).
        uid: ``asset_ocr.uid``, the line's public id: the one the sync stream sends as
            ``AssetOcrV1.id`` (so the REST answer and the synced rows name a line alike).
        line: The line.
    """

    id: int
    uid: uuid.UUID
    line: OcrLine


async def get_stored_lines(
    pool: asyncpg.Pool, owner_id: uuid.UUID, asset_id: uuid.UUID
) -> list[StoredOcrLine]:
    """:func:`get_lines` with each line's row id, in the same order."""
    rows = await pool.fetch(
        "SELECT id, uid, text, box, score FROM asset_ocr WHERE asset_id = $1 AND owner_id = $2 "
        "ORDER BY box[2], box[1], id",
        asset_id,
        owner_id,
    )
    return [
        StoredOcrLine(
            id=r["id"],
            uid=r["uid"],
            line=OcrLine(text=r["text"], box=list(r["box"]), score=float(r["score"])),
        )
        for r in rows
    ]


async def done_at(pool: asyncpg.Pool, asset_id: uuid.UUID) -> datetime | None:
    """When OCR last ran on the asset, or None if never."""
    return await pool.fetchval("SELECT done_at FROM asset_ocr_status WHERE asset_id = $1", asset_id)


def query_words(text: str) -> list[str]:
    """The distinct words of an OCR query (split on whitespace; case-insensitive duplicates
    dropped, first spelling kept)."""
    seen: set[str] = set()
    words: list[str] = []
    for word in text.split():
        if word.casefold() not in seen:
            seen.add(word.casefold())
            words.append(word)
    return words


def like_pattern(word: str) -> str:
    """``word`` as a LIKE substring pattern (``%word%``), LIKE's wildcards escaped."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: Shortest query word matched fuzzily (shorter ones, whose few trigrams make similarity
#: noisy, must occur as they are, folded).
FUZZY_MIN_LENGTH = 4


def is_fuzzy(word: str) -> bool:
    """Whether ``word`` may match by similarity, not only as a (folded) substring: words of
    :data:`FUZZY_MIN_LENGTH` or more characters without digits. Numbers must occur: "118.50" is
    not "118" (pg_trgm splits words at the dot, so similarity would call them close)."""
    return len(word) >= FUZZY_MIN_LENGTH and not any(c.isdigit() for c in word)


def word_condition(
    text_sql: str,
    word_sql: str,
    pattern_sql: str,
    fuzzy_sql: str = "true",
    *,
    threshold: float = WORD_SIMILARITY,
) -> str:
    """SQL: the OCR line ``text_sql`` holds the query word ``word_sql``, tolerating OCR errors.

    Both sides are compared folded by ``darkroom_ocr_fold`` (lower case, accents removed, the
    characters OCR confuses mapped together: l/1/|/! -> i, 0 -> o, rn -> m, vv -> w; see
    ``0033_search_folding.sql``). The line matches when, folded, it contains the word (a partial
    word matches, as before) or, for a word that :func:`is_fuzzy` allows, some run of whole
    words of the line is at least ``threshold`` similar to it by pg_trgm's strict word
    similarity (trigrams shared / trigrams in either; pg_trgm documentation, F.35). Both
    branches are served by the GIN trigram index on ``darkroom_ocr_fold(text)``.

    The ``%>>`` operator that lets the index serve the similarity branch filters at the session's
    ``pg_trgm.strict_word_similarity_threshold`` (0.5 unless set), so ``threshold`` below that
    setting has no effect; :data:`WORD_SIMILARITY` equals it.

    Args:
        text_sql: SQL of the stored line (``o.text``).
        word_sql: SQL of the query word (a ``$n`` parameter or a column).
        pattern_sql: SQL of :func:`like_pattern` of the word.
        fuzzy_sql: SQL boolean: whether the similarity branch applies (:func:`is_fuzzy` of the
            word; a ``$n`` parameter, a column or a literal).
        threshold: Least strict word similarity, 0..1.
    """
    folded = f"darkroom_ocr_fold({text_sql})"
    word = f"darkroom_ocr_fold({word_sql})"
    return (
        f"({folded} LIKE darkroom_ocr_fold({pattern_sql}) OR ({fuzzy_sql} AND {folded} %>> {word} "
        f"AND strict_word_similarity({word}, {folded}) >= {float(threshold):.4f}))"
    )


def word_score(text_sql: str, word_sql: str, pattern_sql: str) -> str:
    """SQL: how well the OCR line ``text_sql`` matches the query word, 0..1 (1 when it contains
    the folded word; else the strict word similarity of :func:`word_condition`)."""
    folded = f"darkroom_ocr_fold({text_sql})"
    return (
        f"CASE WHEN {folded} LIKE darkroom_ocr_fold({pattern_sql}) THEN 1.0 "
        f"ELSE strict_word_similarity(darkroom_ocr_fold({word_sql}), {folded}) END"
    )


async def matching_assets(
    pool: asyncpg.Pool | asyncpg.Connection,
    owner_id: uuid.UUID,
    text: str,
    *,
    limit: int = 100,
    threshold: float = WORD_SIMILARITY,
) -> list[uuid.UUID]:
    """``owner_id``'s active assets whose OCR text holds every word of ``text`` (as
    :func:`word_condition` matches a word: case-, accent- and OCR-error-tolerant), the most
    similar first.

    An asset's score is the sum over the query words of its best line's :func:`word_score`;
    ties go to the asset id, so the order is stable.

    Args:
        pool: Pool or connection.
        owner_id: Whose assets.
        text: The query; split on whitespace.
        limit: Most ids returned.
        threshold: Least strict word similarity (see :func:`word_condition`).
    """
    words = query_words(text)
    if not words:
        return []
    cond = word_condition("o.text", "w.word", "w.pattern", "w.fuzzy", threshold=threshold)
    score = word_score("o.text", "w.word", "w.pattern")
    rows = await pool.fetch(
        "WITH hits AS (SELECT o.asset_id, w.i, max(" + score + ") AS score "
        "FROM unnest($2::text[], $3::text[], $6::bool[]) WITH ORDINALITY "
        "AS w(word, pattern, fuzzy, i) "
        "JOIN asset_ocr o ON o.owner_id = $1 AND " + cond + " "
        "GROUP BY o.asset_id, w.i) "
        "SELECT h.asset_id, sum(h.score) AS score FROM hits h JOIN assets a ON a.id = h.asset_id "
        "WHERE a.status = 'active' AND a.visibility IN ('timeline', 'archive') "
        "GROUP BY h.asset_id HAVING count(*) = $4 "
        "ORDER BY score DESC, h.asset_id LIMIT $5",
        owner_id,
        words,
        [like_pattern(w) for w in words],
        len(words),
        limit,
        [is_fuzzy(w) for w in words],
    )
    return [r["asset_id"] for r in rows]
