"""Repository: people, detected faces (asset_faces) and their embeddings (face_search).

Reads made for a user take ``owner_id`` and filter by it (a face or person of someone else reads
as absent). Reads and writes made by the face service (which acts for the system) are named
``*_for_worker`` or take a connection inside the recognition transaction.

Distances are Euclidean (L2, pgvector ``<->``) between 128-d descriptors.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal, TypeAlias

import asyncpg
import msgspec
import numpy as np

Recognition = Literal["pending", "deferred", "unmatched", "done"]
SourceType = Literal["machine-learning", "exif", "manual"]
Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``people``; ``face_asset_id`` is the feature face's id (asset_faces.id)."""

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    birth_date: date | None
    is_hidden: bool
    is_favorite: bool
    color: str | None
    face_asset_id: uuid.UUID | None
    thumbnail_path: str
    created_at: datetime
    updated_at: datetime


class Face(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``asset_faces``: a box in original-image pixels (x2/y2 exclusive)."""

    id: uuid.UUID
    asset_id: uuid.UUID
    owner_id: uuid.UUID
    person_id: uuid.UUID | None
    image_width: int
    image_height: int
    bounding_box_x1: int
    bounding_box_y1: int
    bounding_box_x2: int
    bounding_box_y2: int
    score: float
    source_type: str
    recognition: str
    created_at: datetime


class NewFace(msgspec.Struct, frozen=True, kw_only=True):
    """A face to store: box in original pixels, detector score, 128-d descriptor (or None)."""

    image_width: int
    image_height: int
    x1: int
    y1: int
    x2: int
    y2: int
    score: float
    embedding: Any = None  # numpy (128,) float array, or None for a manual face


class Match(msgspec.Struct, frozen=True, kw_only=True):
    """A neighbour found by :func:`nearest_faces`."""

    face_id: uuid.UUID
    person_id: uuid.UUID | None
    distance: float


_PERSON_COLS = ", ".join(Person.__struct_fields__)
_FACE_COLS = ", ".join(Face.__struct_fields__)
_FACE_COLS_F = ", ".join(f"f.{c}" for c in Face.__struct_fields__)
_PERSON_COLS_P = ", ".join(f"p.{c}" for c in Person.__struct_fields__)

#: Faces that count for a person: on assets that exist and are not in the trash.
_LIVE_ASSET = "a.status = 'active' AND a.deleted_at IS NULL"
#: Faces not soft-deleted (Immich's ``asset_face.deletedAt IS NULL``): DELETE /api/faces/{id}
#: without ``force`` keeps the row with ``deleted_at`` set (migration 0042).
_LIVE_FACE = "f.deleted_at IS NULL"
#: A detected box is the same face as a stored one when their intersection over union is above
#: this (Immich's ``PersonService.handleDetectFaces``: ``this.iou(face, scaledBox) > 0.5``).
SAME_FACE_IOU = 0.5


def _person(row: asyncpg.Record | None) -> Person | None:
    return None if row is None else Person(**dict(row))


def _face(row: asyncpg.Record) -> Face:
    return Face(**dict(row))


# --- worker side: faces, embeddings, recognition ------------------------------------------------


async def replace_faces(
    conn: asyncpg.Connection,
    *,
    asset_id: uuid.UUID,
    owner_id: uuid.UUID,
    faces: list[NewFace],
) -> list[uuid.UUID]:
    """Replace the machine-detected faces of an asset (idempotent re-detection), as Immich's
    ``PersonService.handleDetectFaces``: each detection is matched against the asset's faces
    (manual and soft-deleted ones included, oldest first) by intersection over union above
    :data:`SAME_FACE_IOU`, the detection's box scaled to the stored face's image.

    - A detection on a machine-detected face keeps that face as it is (its id, its person, its
      embedding): a re-run does not undo the recognition or the user's choices.
    - A detection on a manual face, or on a face another detection has taken already, gives
      that face the new embedding and adds nothing.
    - A face the user deleted without ``force`` (soft-deleted) is matched like the others and
      stays deleted: a re-run does not bring it back.
    - A detection that matches nothing is a new face; the machine-detected faces no detection
      matched are deleted.

    People whose feature face disappears get another of their faces as feature face. Call
    inside a transaction.

    Returns:
        The new face ids, in the order of ``faces`` (the faces to recognise).
    """
    stored = await conn.fetch(
        "SELECT id, source_type, image_width, image_height, bounding_box_x1, bounding_box_y1, "
        "bounding_box_x2, bounding_box_y2 FROM asset_faces WHERE asset_id = $1 "
        "ORDER BY created_at, id",
        asset_id,
    )
    unmatched = {r["id"] for r in stored if r["source_type"] == "machine-learning"}
    fresh: list[NewFace] = []
    for face in faces:
        match = next((r["id"] for r in stored if face_iou(r, face) > SAME_FACE_IOU), None)
        if match is None:
            fresh.append(face)
        elif match in unmatched:
            unmatched.discard(match)  # the same face found again: kept as it is
        elif face.embedding is not None:
            await conn.execute(
                "INSERT INTO face_search (face_id, owner_id, embedding) VALUES ($1, $2, $3) "
                "ON CONFLICT (face_id) DO UPDATE SET embedding = EXCLUDED.embedding",
                match,
                owner_id,
                np.asarray(face.embedding, dtype=np.float32),
            )
    await conn.execute(
        "DELETE FROM asset_faces WHERE id = ANY($1::uuid[])",
        list(unmatched),
    )
    ids: list[uuid.UUID] = []
    for face in fresh:
        face_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO asset_faces (id, asset_id, owner_id, image_width, image_height, "
            "bounding_box_x1, bounding_box_y1, bounding_box_x2, bounding_box_y2, score) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            face_id,
            asset_id,
            owner_id,
            face.image_width,
            face.image_height,
            face.x1,
            face.y1,
            face.x2,
            face.y2,
            face.score,
        )
        if face.embedding is not None:
            await conn.execute(
                "INSERT INTO face_search (face_id, owner_id, embedding) VALUES ($1, $2, $3)",
                face_id,
                owner_id,
                np.asarray(face.embedding, dtype=np.float32),
            )
        ids.append(face_id)
    await refresh_feature_faces(conn, owner_id)
    return ids


def face_iou(stored: Any, new: NewFace) -> float:
    """Intersection over union of a stored face's box and a detected one, the detected box
    scaled to the stored face's image size (Immich's ``PersonService.iou`` on the scaled box).

    Args:
        stored: A row (mapping) with ``image_width``, ``image_height`` and
            ``bounding_box_x1``..``y2``, in pixels of that image.
        new: The detected face, in pixels of ``new.image_width`` x ``new.image_height``.

    Returns:
        0..1; 0 when either box is empty.
    """
    sx = stored["image_width"] / new.image_width if new.image_width else 1.0
    sy = stored["image_height"] / new.image_height if new.image_height else 1.0
    ax1, ay1 = stored["bounding_box_x1"], stored["bounding_box_y1"]
    ax2, ay2 = stored["bounding_box_x2"], stored["bounding_box_y2"]
    bx1, by1, bx2, by2 = new.x1 * sx, new.y1 * sy, new.x2 * sx, new.y2 * sy
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0


async def refresh_feature_faces(conn: Conn, owner_id: uuid.UUID) -> list[uuid.UUID]:
    """Give every person of ``owner_id`` without a feature face their best-scored face.

    Returns:
        The people whose feature face was set (their thumbnails need rendering).
    """
    rows = await conn.fetch(
        "UPDATE people p SET face_asset_id = ("
        f"  SELECT f.id FROM asset_faces f WHERE f.person_id = p.id AND {_LIVE_FACE}"
        "  ORDER BY f.score DESC, f.id LIMIT 1), thumbnail_path = '', updated_at = now() "
        "WHERE p.owner_id = $1 AND p.face_asset_id IS NULL "
        f"AND EXISTS (SELECT 1 FROM asset_faces f WHERE f.person_id = p.id AND {_LIVE_FACE}) "
        "RETURNING p.id",
        owner_id,
    )
    return [r["id"] for r in rows]


async def get_face_for_worker(conn: Conn, face_id: uuid.UUID) -> Face | None:
    """A face by id, whoever owns it, or None."""
    row = await conn.fetchrow(f"SELECT {_FACE_COLS} FROM asset_faces WHERE id = $1", face_id)
    return None if row is None else _face(row)


async def get_embedding(conn: Conn, face_id: uuid.UUID) -> np.ndarray | None:
    """The descriptor of a face, shape (128,), or None when it has none (manual faces)."""
    value = await conn.fetchval("SELECT embedding FROM face_search WHERE face_id = $1", face_id)
    if value is None:
        return None
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, np.float32)


async def nearest_faces(
    conn: Conn,
    *,
    owner_id: uuid.UUID,
    embedding: np.ndarray,
    max_distance: float,
    limit: int,
    has_person: bool = False,
) -> list[Match]:
    """The ``limit`` faces of ``owner_id`` nearest to ``embedding`` within ``max_distance`` (L2).

    Only faces on live assets (not trashed) count. Nearest first; ties by face id so every worker
    sees the same order. Uses the HNSW index (pgvector) when the planner prefers it.

    Args:
        embedding: Query descriptor, shape (128,).
        max_distance: Largest Euclidean distance to include.
        limit: Most faces returned.
        has_person: Only faces already assigned to a person.
    """
    person_clause = "AND f.person_id IS NOT NULL" if has_person else ""
    rows = await conn.fetch(
        "SELECT f.id, f.person_id, (s.embedding <-> $2::vector)::float8 AS distance "
        "FROM face_search s JOIN asset_faces f ON f.id = s.face_id "
        "JOIN assets a ON a.id = f.asset_id "
        f"WHERE s.owner_id = $1 AND {_LIVE_ASSET} {person_clause} "
        "AND (s.embedding <-> $2::vector) <= $3::float8 "
        "ORDER BY s.embedding <-> $2::vector, f.id LIMIT $4",
        owner_id,
        np.asarray(embedding, dtype=np.float32),
        max_distance,
        limit,
    )
    return [
        Match(face_id=r["id"], person_id=r["person_id"], distance=float(r["distance"]))
        for r in rows
    ]


async def create_person_for_face(
    conn: Conn, *, owner_id: uuid.UUID, face_id: uuid.UUID
) -> uuid.UUID:
    """A new unnamed person of ``owner_id`` whose feature face is ``face_id``."""
    person_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO people (id, owner_id, face_asset_id) VALUES ($1, $2, $3)",
        person_id,
        owner_id,
        face_id,
    )
    return person_id


async def set_recognition(
    conn: Conn, face_id: uuid.UUID, state: Recognition, person_id: uuid.UUID | None = None
) -> None:
    """Record the recognition outcome of a face, assigning ``person_id`` when given."""
    await conn.execute(
        "UPDATE asset_faces SET recognition = $2, person_id = COALESCE($3, person_id), "
        "updated_at = now() WHERE id = $1",
        face_id,
        state,
        person_id,
    )


async def unassigned_faces(
    conn: Conn,
    *,
    owner_id: uuid.UUID | None = None,
    states: tuple[Recognition, ...] = ("pending", "deferred", "unmatched"),
    older_than_s: float = 0.0,
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(face id, owner id) of machine-detected faces with no person, oldest first.

    Args:
        owner_id: One owner's faces, or everyone's when None.
        states: Recognition states to include.
        older_than_s: Only faces whose state is at least this old (seconds).
    """
    rows = await conn.fetch(
        "SELECT f.id, f.owner_id FROM asset_faces f JOIN face_search s ON s.face_id = f.id "
        f"WHERE f.person_id IS NULL AND {_LIVE_FACE} AND f.recognition = ANY($1::text[]) "
        "AND ($2::uuid IS NULL OR f.owner_id = $2) "
        "AND f.updated_at <= now() - make_interval(secs => $3) "
        "ORDER BY f.created_at, f.id",
        list(states),
        owner_id,
        older_than_s,
    )
    return [(r["id"], r["owner_id"]) for r in rows]


async def people_needing_thumbnails(conn: Conn, owner_id: uuid.UUID | None = None) -> list[Person]:
    """People with a feature face but no rendered thumbnail."""
    rows = await conn.fetch(
        f"SELECT {_PERSON_COLS} FROM people WHERE face_asset_id IS NOT NULL "
        "AND thumbnail_path = '' AND ($1::uuid IS NULL OR owner_id = $1)",
        owner_id,
    )
    return [Person(**dict(r)) for r in rows]


async def set_thumbnail_path(
    conn: Conn, person_id: uuid.UUID, face_id: uuid.UUID, path: str
) -> bool:
    """Store the thumbnail key of a person if its feature face is still ``face_id``."""
    done = await conn.execute(
        "UPDATE people SET thumbnail_path = $3, updated_at = now() "
        "WHERE id = $1 AND face_asset_id = $2",
        person_id,
        face_id,
        path,
    )
    return done.endswith(" 1")


async def asset_preview_for_worker(conn: Conn, asset_id: uuid.UUID) -> tuple[str, int, int] | None:
    """(preview key, preview width, preview height) of an asset, or None."""
    row = await conn.fetchrow(
        "SELECT path, width, height FROM asset_files WHERE asset_id = $1 AND type = 'preview'",
        asset_id,
    )
    return None if row is None else (row["path"], row["width"] or 0, row["height"] or 0)


async def partition_for_owner(conn: Conn, owner_id: uuid.UUID) -> dict[uuid.UUID, uuid.UUID]:
    """face id -> person id of every assigned face of ``owner_id`` (for evaluation and tests)."""
    rows = await conn.fetch(
        "SELECT id, person_id FROM asset_faces WHERE owner_id = $1 AND person_id IS NOT NULL",
        owner_id,
    )
    return {r["id"]: r["person_id"] for r in rows}


# --- user side: the people API --------------------------------------------------------------------


async def list_people(
    pool: Conn,
    owner_id: uuid.UUID,
    *,
    with_hidden: bool,
    page: int,
    size: int,
    min_faces: int = 1,
    closest_face_id: uuid.UUID | None = None,
) -> tuple[list[Person], int, int, bool]:
    """One page of ``owner_id``'s people, as Immich's ``PersonRepository.getAllForUser`` lists
    them: people with faces on main-timeline assets (not archived, hidden, locked or trashed),
    at least ``min_faces`` of them for an unnamed person (named ones need one); and only people
    with a thumbnail (a face crop rendered).

    Order (as the Immich web shows them): visible first, favourites, named, most faces; with
    ``closest_face_id`` (one of ``owner_id``'s faces), visible first, favourites, then by the
    distance of each person's feature face to that face, nearest first (Immich's
    ``closestPersonId`` / ``closestAssetId``: the merge dialog's suggestions).

    Args:
        min_faces: ``machineLearning.facialRecognition.minFaces`` of the config in force.

    Returns:
        (people, total, hidden, has_next_page); ``total`` and ``hidden`` count every person
        with a thumbnail and a face on a main-timeline asset, hidden ones included, whatever
        ``with_hidden`` and ``min_faces`` say (Immich's ``getNumberOfPeople``).
    """
    base = (
        "WITH counts AS (SELECT p.id, count(a.id) AS n FROM people p "
        f"JOIN asset_faces f ON f.person_id = p.id AND {_LIVE_FACE} "
        f"JOIN assets a ON a.id = f.asset_id AND {_LIVE_ASSET} AND a.visibility = 'timeline' "
        "WHERE p.owner_id = $1 GROUP BY p.id) "
    )
    counted = "p.thumbnail_path <> ''"
    stats = await pool.fetchrow(
        base + "SELECT count(*) AS total, count(*) FILTER (WHERE p.is_hidden) AS hidden "
        f"FROM people p JOIN counts c ON c.id = p.id WHERE {counted}",
        owner_id,
    )
    order = "(p.name = ''), c.n DESC, p.name, p.created_at"
    extra: list[object] = []
    if closest_face_id is not None:
        order = (
            "(SELECT fs.embedding FROM face_search fs WHERE fs.face_id = p.face_asset_id) <=> "
            "(SELECT fs.embedding FROM face_search fs WHERE fs.face_id = $6 AND fs.owner_id = $1) "
            "NULLS LAST"
        )
        extra.append(closest_face_id)
    rows = await pool.fetch(
        base + f"SELECT {_PERSON_COLS_P} FROM people p JOIN counts c ON c.id = p.id "
        f"WHERE {counted} AND (p.name <> '' OR c.n >= $5) AND ($2 OR NOT p.is_hidden) "
        f"ORDER BY p.is_hidden, p.is_favorite DESC, {order}, p.id LIMIT $3 OFFSET $4",
        owner_id,
        with_hidden,
        size + 1,
        (page - 1) * size,
        min_faces,
        *extra,
    )
    people = [Person(**dict(r)) for r in rows]
    assert stats is not None
    return people[:size], int(stats["total"]), int(stats["hidden"]), len(people) > size


async def get_person(pool: Conn, owner_id: uuid.UUID, person_id: uuid.UUID) -> Person | None:
    """``owner_id``'s person, or None (someone else's reads as absent)."""
    return _person(
        await pool.fetchrow(
            f"SELECT {_PERSON_COLS} FROM people WHERE id = $1 AND owner_id = $2",
            person_id,
            owner_id,
        )
    )


async def get_people(pool: Conn, owner_id: uuid.UUID, ids: list[uuid.UUID]) -> list[Person]:
    """Those of ``ids`` that are ``owner_id``'s people."""
    rows = await pool.fetch(
        f"SELECT {_PERSON_COLS} FROM people WHERE id = ANY($1::uuid[]) AND owner_id = $2",
        ids,
        owner_id,
    )
    return [Person(**dict(r)) for r in rows]


async def create_person(
    pool: Conn,
    owner_id: uuid.UUID,
    *,
    name: str = "",
    birth_date: date | None = None,
    is_hidden: bool = False,
    is_favorite: bool = False,
    color: str | None = None,
) -> Person:
    """A new person of ``owner_id`` (no faces yet)."""
    row = await pool.fetchrow(
        "INSERT INTO people (id, owner_id, name, birth_date, is_hidden, is_favorite, color) "
        f"VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_PERSON_COLS}",
        uuid.uuid4(),
        owner_id,
        name,
        birth_date,
        is_hidden,
        is_favorite,
        color,
    )
    person = _person(row)
    assert person is not None
    return person


_UPDATABLE = ("name", "birth_date", "is_hidden", "is_favorite", "color")


async def update_person(
    pool: Conn,
    owner_id: uuid.UUID,
    person_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    feature_face_asset_id: uuid.UUID | None = None,
) -> Person | None:
    """Change some of name, birth_date, is_hidden, is_favorite, color; and the feature face.

    Args:
        changes: Column -> new value, keys from ``name, birth_date, is_hidden, is_favorite,
            color`` (others are ignored).
        feature_face_asset_id: Use this person's face in that asset as feature face.

    Returns:
        The updated person, or None when it is not ``owner_id``'s.

    Raises:
        LookupError: The person has no face in ``feature_face_asset_id``.
    """
    async with _transaction(pool) as conn:
        person = await get_person(conn, owner_id, person_id)
        if person is None:
            return None
        cols = [c for c in _UPDATABLE if c in changes]
        if cols:
            sets = ", ".join(f"{c} = ${i + 3}" for i, c in enumerate(cols))
            await conn.execute(
                f"UPDATE people SET {sets}, updated_at = now() WHERE id = $1 AND owner_id = $2",
                person_id,
                owner_id,
                *[changes[c] for c in cols],
            )
        if feature_face_asset_id is not None:
            face_id = await conn.fetchval(
                "SELECT id FROM asset_faces WHERE person_id = $1 AND asset_id = $2 "
                "AND deleted_at IS NULL ORDER BY score DESC, id LIMIT 1",
                person_id,
                feature_face_asset_id,
            )
            if face_id is None:
                raise LookupError("person has no face in that asset")
            if face_id != person.face_asset_id:
                await conn.execute(
                    "UPDATE people SET face_asset_id = $2, thumbnail_path = '', "
                    "updated_at = now() WHERE id = $1",
                    person_id,
                    face_id,
                )
        return await get_person(conn, owner_id, person_id)


async def delete_people(pool: Conn, owner_id: uuid.UUID, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Delete ``owner_id``'s people ``ids``, all or none: when one is not theirs (or does not
    exist), nothing is deleted, as Immich's ``deleteAll`` checks ``person.delete`` access on
    every id first. Their faces become unassigned ('done', so recognition does not put them
    straight back). Returns the ids deleted."""
    async with _transaction(pool) as conn:
        owned = await conn.fetchval(
            "SELECT count(*) FROM people WHERE id = ANY($1::uuid[]) AND owner_id = $2",
            ids,
            owner_id,
        )
        if owned != len(set(ids)):
            return set()
        await conn.execute(
            "UPDATE asset_faces SET recognition = 'done', updated_at = now() "
            "WHERE person_id = ANY($1::uuid[]) AND owner_id = $2",
            ids,
            owner_id,
        )
        rows = await conn.fetch(
            "DELETE FROM people WHERE id = ANY($1::uuid[]) AND owner_id = $2 RETURNING id",
            ids,
            owner_id,
        )
    return {r["id"] for r in rows}


async def merge_people(
    pool: Conn, owner_id: uuid.UUID, target_id: uuid.UUID, source_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Move every face of the source people to ``target_id`` and delete the sources; a target
    without a name (birth date) takes the first source's that has one, as Immich's merge does.

    Returns:
        The source ids merged (those that are ``owner_id``'s and not the target).

    Raises:
        LookupError: ``target_id`` is not ``owner_id``'s person.
    """
    async with _transaction(pool) as conn:
        if await get_person(conn, owner_id, target_id) is None:
            raise LookupError("person not found")
        target = await get_person(conn, owner_id, target_id)
        sources = {p.id: p for p in await get_people(conn, owner_id, source_ids)}
        merged = [sources[i] for i in dict.fromkeys(source_ids) if i in sources and i != target_id]
        owned = [p.id for p in merged]
        if owned and target is not None:
            # an unnamed target takes the first merged person's name and birth date (Immich)
            name = target.name or next((p.name for p in merged if p.name), "")
            birth = target.birth_date or next((p.birth_date for p in merged if p.birth_date), None)
            if (name, birth) != (target.name, target.birth_date):
                await conn.execute(
                    "UPDATE people SET name = $2, birth_date = $3 WHERE id = $1",
                    target_id,
                    name,
                    birth,
                )
            await conn.execute(
                "UPDATE asset_faces SET person_id = $1, recognition = 'done', updated_at = now() "
                "WHERE person_id = ANY($2::uuid[])",
                target_id,
                owned,
            )
            await conn.execute("DELETE FROM people WHERE id = ANY($1::uuid[])", owned)
            await conn.execute("UPDATE people SET updated_at = now() WHERE id = $1", target_id)
            await refresh_feature_faces(conn, owner_id)
    return set(owned)


async def reassign_asset_faces(
    pool: Conn,
    owner_id: uuid.UUID,
    target_id: uuid.UUID,
    items: list[tuple[uuid.UUID, uuid.UUID]],
) -> bool:
    """For each (asset id, person id): the faces of that person in that asset go to ``target_id``.

    Returns:
        True when at least one face moved.

    Raises:
        LookupError: ``target_id`` is not ``owner_id``'s person.
    """
    async with _transaction(pool) as conn:
        if await get_person(conn, owner_id, target_id) is None:
            raise LookupError("person not found")
        moved = 0
        for asset_id, person_id in items:
            done = await conn.execute(
                "UPDATE asset_faces SET person_id = $1, recognition = 'done', updated_at = now() "
                "WHERE asset_id = $2 AND person_id = $3 AND owner_id = $4 AND deleted_at IS NULL",
                target_id,
                asset_id,
                person_id,
                owner_id,
            )
            moved += int(done.split()[-1])
        await _fix_feature_faces(conn, owner_id)
    return moved > 0


async def _fix_feature_faces(conn: asyncpg.Connection, owner_id: uuid.UUID) -> None:
    """Clear feature faces that no longer belong to their person, then pick new ones."""
    await conn.execute(
        "UPDATE people p SET face_asset_id = NULL, thumbnail_path = '', updated_at = now() "
        "WHERE p.owner_id = $1 AND p.face_asset_id IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM asset_faces f WHERE f.id = p.face_asset_id AND f.person_id = p.id)",
        owner_id,
    )
    await refresh_feature_faces(conn, owner_id)


async def person_statistics(pool: Conn, owner_id: uuid.UUID, person_id: uuid.UUID) -> int:
    """How many live assets of the main timeline show ``person_id`` (0 for someone else's
    person; archived ones are not counted, as Immich's person statistics)."""
    return int(
        await pool.fetchval(
            "SELECT count(DISTINCT a.id) FROM asset_faces f JOIN assets a ON a.id = f.asset_id "
            f"WHERE f.person_id = $1 AND f.owner_id = $2 AND {_LIVE_FACE} AND {_LIVE_ASSET} "
            "AND a.visibility = 'timeline'",
            person_id,
            owner_id,
        )
    )


async def person_asset_ids(
    pool: Conn, owner_id: uuid.UUID, person_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Live assets of ``owner_id`` showing ALL of ``person_ids`` (the timeline/search filter)."""
    rows = await pool.fetch(
        "SELECT f.asset_id FROM asset_faces f JOIN assets a ON a.id = f.asset_id "
        f"WHERE f.owner_id = $1 AND f.person_id = ANY($2::uuid[]) AND {_LIVE_FACE} "
        f"AND {_LIVE_ASSET} "
        "GROUP BY f.asset_id HAVING count(DISTINCT f.person_id) = $3",
        owner_id,
        person_ids,
        len(set(person_ids)),
    )
    return {r["asset_id"] for r in rows}


async def asset_people(pool: Conn, owner_id: uuid.UUID, asset_id: uuid.UUID) -> list[Person]:
    """The people shown in one of ``owner_id``'s assets (for AssetResponseDto.people)."""
    return (await people_of_assets(pool, owner_id, [asset_id])).get(asset_id, [])


async def people_of_assets(
    pool: Conn, owner_id: uuid.UUID, asset_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Person]]:
    """The people shown in each of ``owner_id``'s assets ``asset_ids``, in one query (a page of
    search results with ``withPeople``); asset id -> people, assets without any left out
    (another user's assets too: their faces are not ``owner_id``'s)."""
    rows = await pool.fetch(
        f"SELECT DISTINCT f.asset_id AS shown_in, {_PERSON_COLS_P} FROM asset_faces f "
        "JOIN people p ON p.id = f.person_id "
        f"WHERE f.asset_id = ANY($1::uuid[]) AND f.owner_id = $2 AND {_LIVE_FACE}",
        asset_ids,
        owner_id,
    )
    shown: dict[uuid.UUID, list[Person]] = {}
    for r in rows:
        row = dict(r)
        shown.setdefault(row.pop("shown_in"), []).append(Person(**row))
    return shown


async def asset_faces(
    pool: Conn, owner_id: uuid.UUID, asset_id: uuid.UUID, *, unlocked: bool = False
) -> list[tuple[Face, Person | None]]:
    """The faces of ``owner_id``'s asset with their people (empty for someone else's asset,
    and for a locked one unless ``unlocked``: the owner's session is unlocked with the PIN)."""
    rows = await pool.fetch(
        f"SELECT {_FACE_COLS_F}, p.id AS p_id FROM asset_faces f "
        "LEFT JOIN people p ON p.id = f.person_id "
        f"WHERE f.asset_id = $1 AND f.owner_id = $2 AND {_LIVE_FACE} "
        "AND ($3 OR NOT EXISTS (SELECT 1 FROM assets a WHERE a.id = f.asset_id "
        "AND a.visibility = 'locked')) "
        "ORDER BY f.bounding_box_x1, f.id",
        asset_id,
        owner_id,
        unlocked,
    )
    people = {
        p.id: p for p in await get_people(pool, owner_id, [r["p_id"] for r in rows if r["p_id"]])
    }
    out: list[tuple[Face, Person | None]] = []
    for r in rows:
        d = dict(r)
        pid = d.pop("p_id")
        out.append((Face(**d), people.get(pid) if pid else None))
    return out


async def get_face(pool: Conn, owner_id: uuid.UUID, face_id: uuid.UUID) -> Face | None:
    """``owner_id``'s face, or None (also when soft-deleted: Immich's ``getFaceById``)."""
    row = await pool.fetchrow(
        f"SELECT {_FACE_COLS} FROM asset_faces WHERE id = $1 AND owner_id = $2 "
        "AND deleted_at IS NULL",
        face_id,
        owner_id,
    )
    return None if row is None else _face(row)


async def assign_face(
    pool: Conn, owner_id: uuid.UUID, face_id: uuid.UUID, person_id: uuid.UUID
) -> Person | None:
    """Put one of ``owner_id``'s faces on one of their people (PUT /api/faces/{id}).

    Returns:
        The person, or None when the face or the person is not ``owner_id``'s.
    """
    async with _transaction(pool) as conn:
        person = await get_person(conn, owner_id, person_id)
        if person is None or await get_face(conn, owner_id, face_id) is None:
            return None
        await conn.execute(
            "UPDATE asset_faces SET person_id = $2, recognition = 'done', updated_at = now() "
            "WHERE id = $1",
            face_id,
            person_id,
        )
        await _fix_feature_faces(conn, owner_id)
        return await get_person(conn, owner_id, person_id)


async def delete_face(
    pool: Conn, owner_id: uuid.UUID, face_id: uuid.UUID, *, force: bool = False
) -> bool:
    """Delete one of ``owner_id``'s faces (DELETE /api/faces/{id}), as Immich's
    ``PersonService.deleteFace``: with ``force`` the row goes (its audit row tells the apps);
    without, it is soft-deleted (``deleted_at`` set, again if it already was: Immich's
    ``softDeleteAssetFaces``), which leaves it out of every read but the sync stream's and
    keeps it as its person's feature face, as Immich does.

    Returns:
        False when the face is not ``owner_id``'s.
    """
    if not force:
        done = await pool.execute(
            "UPDATE asset_faces SET deleted_at = now(), updated_at = now() "
            "WHERE id = $1 AND owner_id = $2",
            face_id,
            owner_id,
        )
        return done.endswith(" 1")
    async with _transaction(pool) as conn:
        done = await conn.execute(
            "DELETE FROM asset_faces WHERE id = $1 AND owner_id = $2", face_id, owner_id
        )
        await refresh_feature_faces(conn, owner_id)
    return done.endswith(" 1")


async def create_manual_face(
    pool: Conn,
    owner_id: uuid.UUID,
    *,
    asset_id: uuid.UUID,
    person_id: uuid.UUID,
    box: NewFace,
) -> uuid.UUID | None:
    """A face drawn by the user on their asset, assigned to their person.

    Returns:
        The face id, or None when the asset or the person is not ``owner_id``'s.
    """
    async with _transaction(pool) as conn:
        ok = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM assets WHERE id = $1 AND owner_id = $2) "
            "AND EXISTS (SELECT 1 FROM people WHERE id = $3 AND owner_id = $2)",
            asset_id,
            owner_id,
            person_id,
        )
        if not ok:
            return None
        face_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO asset_faces (id, asset_id, owner_id, person_id, image_width, "
            "image_height, bounding_box_x1, bounding_box_y1, bounding_box_x2, bounding_box_y2, "
            "score, source_type, recognition) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, 'manual', 'done')",
            face_id,
            asset_id,
            owner_id,
            person_id,
            box.image_width,
            box.image_height,
            box.x1,
            box.y1,
            box.x2,
            box.y2,
        )
        await refresh_feature_faces(conn, owner_id)
    return face_id


class TaggedFace(msgspec.Struct, frozen=True, kw_only=True):
    """A face a file names (an XMP face region): the person's name and the box, in pixels of
    the displayed image (``image_width`` x ``image_height``, x2/y2 exclusive)."""

    name: str
    image_width: int
    image_height: int
    x1: int
    y1: int
    x2: int
    y2: int


class ImportedFaces(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`import_tagged_faces` changed.

    Attributes:
        created: (person id, face id) of each person it created, with their feature face.
        changed: Whether the asset's tagged faces differ from before (added or removed).
    """

    created: list[tuple[uuid.UUID, uuid.UUID]]
    changed: bool


async def import_tagged_faces(
    conn: asyncpg.Connection,
    *,
    asset_id: uuid.UUID,
    owner_id: uuid.UUID,
    faces: list[TaggedFace],
) -> ImportedFaces:
    """Make an asset's ``exif`` faces the ones its file names, as Immich's metadata
    extraction does with "Import faces" on (``applyTaggedFaces``): each name is one of the
    owner's people, hidden ones included, matched without regard to case (the oldest of
    several), or a new person of that name whose feature face is this face; the asset's other
    ``exif`` faces are deleted.

    Idempotent: a face already stored with the same box, image size and person is kept (its
    id, and its deletion when its owner soft-deleted it), so a redelivery changes nothing.
    Machine-detected and manual faces are not touched. Call inside the extraction's
    transaction; serialised per owner (an advisory lock), so two assets naming one new person
    at once make one person.

    Returns:
        The people created and whether the asset's tagged faces changed.
    """
    if not faces:
        return ImportedFaces(created=[], changed=False)
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"tagged-faces:{owner_id}"
    )
    named = await conn.fetch(
        "SELECT DISTINCT ON (lower(name)) lower(name) AS key, id FROM people "
        "WHERE owner_id = $1 AND name <> '' AND lower(name) = ANY($2::text[]) "
        "ORDER BY lower(name), created_at, id",
        owner_id,
        sorted({f.name.lower() for f in faces}),
    )
    person_of = {r["key"]: r["id"] for r in named}
    stored = await conn.fetch(
        "SELECT id, person_id, image_width, image_height, bounding_box_x1, bounding_box_y1, "
        "bounding_box_x2, bounding_box_y2 FROM asset_faces "
        "WHERE asset_id = $1 AND source_type = 'exif' ORDER BY created_at, id",
        asset_id,
    )
    # (person, image size, box: the columns after id and person_id) -> the stored faces that
    # say exactly that, oldest first
    same: dict[tuple[Any, ...], list[uuid.UUID]] = {}
    for r in stored:
        same.setdefault((r["person_id"], *list(r.values())[2:]), []).append(r["id"])
    left = {r["id"] for r in stored}
    created: list[tuple[uuid.UUID, uuid.UUID]] = []
    added = False
    for face in faces:
        key = face.name.lower()
        person_id = person_of.get(key)
        box = (face.image_width, face.image_height, face.x1, face.y1, face.x2, face.y2)
        kept = same.get((person_id, *box)) if person_id is not None else None
        if kept:
            left.discard(kept.pop(0))
            continue
        new_person = person_id is None
        if person_id is None:
            person_id = uuid.uuid4()
            person_of[key] = person_id
            await conn.execute(
                "INSERT INTO people (id, owner_id, name) VALUES ($1, $2, $3)",
                person_id,
                owner_id,
                face.name,
            )
        face_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO asset_faces (id, asset_id, owner_id, person_id, image_width, "
            "image_height, bounding_box_x1, bounding_box_y1, bounding_box_x2, bounding_box_y2, "
            "score, source_type, recognition) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 'exif', 'done')",
            face_id,
            asset_id,
            owner_id,
            person_id,
            *box,
        )
        added = True
        if new_person:
            await conn.execute(
                "UPDATE people SET face_asset_id = $2 WHERE id = $1", person_id, face_id
            )
            created.append((person_id, face_id))
    if left:
        await conn.execute("DELETE FROM asset_faces WHERE id = ANY($1::uuid[])", list(left))
    await refresh_feature_faces(conn, owner_id)
    return ImportedFaces(created=created, changed=added or bool(left))


class _transaction:
    """``async with _transaction(pool_or_conn) as conn``: a transaction on a pooled connection,
    or a nested one (savepoint) on a given connection."""

    def __init__(self, db: Conn) -> None:
        self._db = db
        self._conn: asyncpg.Connection | None = None
        self._tx: Any = None
        self._acquired = False

    async def __aenter__(self) -> asyncpg.Connection:
        if isinstance(self._db, asyncpg.Pool):
            self._conn = await self._db.acquire()
            self._acquired = True
        else:
            self._conn = self._db
        self._tx = self._conn.transaction()
        await self._tx.__aenter__()
        return self._conn

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self._tx.__aexit__(*exc)
        finally:
            if self._acquired and isinstance(self._db, asyncpg.Pool):
                assert self._conn is not None
                await self._db.release(self._conn)


async def requeue_unmatched_near(
    conn: Conn,
    *,
    owner_id: uuid.UUID,
    embedding: np.ndarray,
    max_distance: float,
    limit: int = 50,
) -> list[uuid.UUID]:
    """Put ``owner_id``'s "unmatched" faces within ``max_distance`` of ``embedding`` back in the
    "deferred" state, so the retry loop recognises them again (a person is now within reach).

    Only faces the recogniser left unmatched are touched: faces a user unassigned ("done") stay.

    Args:
        embedding: Descriptor of the face that just joined or started a person, shape (128,).
        max_distance: Largest Euclidean distance to include.
        limit: Most faces requeued (nearest first).

    Returns:
        The requeued face ids.
    """
    rows = await conn.fetch(
        "UPDATE asset_faces SET recognition = 'deferred', updated_at = now() WHERE id IN ("
        "  SELECT f.id FROM face_search s JOIN asset_faces f ON f.id = s.face_id "
        "  WHERE s.owner_id = $1 AND f.person_id IS NULL AND f.recognition = 'unmatched' "
        "  AND (s.embedding <-> $2::vector) <= $3::float8 "
        "  ORDER BY s.embedding <-> $2::vector, f.id LIMIT $4) RETURNING id",
        owner_id,
        np.asarray(embedding, dtype=np.float32),
        max_distance,
        limit,
    )
    return [r["id"] for r in rows]


async def face_dimension(conn: Conn) -> int | None:
    """The dimension of ``face_search.embedding`` (``vector(n)``), or None if unconstrained."""
    typmod = await conn.fetchval(
        "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'face_search'::regclass "
        "AND attname = 'embedding'"
    )
    return None if typmod is None or typmod < 0 else int(typmod)


async def ensure_face_dimension(pool: asyncpg.Pool, dim: int) -> bool:
    """Make ``face_search.embedding`` a ``vector(dim)`` for the configured face model.

    Descriptors of different models are not comparable (dlib 128-d, InsightFace ArcFace 512-d),
    so on a change, in one transaction under an advisory lock (replicas starting together do it
    once): detected faces and their descriptors are deleted (manual faces stay, without
    descriptors), people left without faces keep their names but no face, the column and its
    HNSW index are rebuilt, and every asset's "faces" step is reset so that "run missing"
    detects them again with the new model. Immich does the same on a model change.

    Returns:
        True when the column was changed.

    Raises:
        ValueError: ``dim`` outside 1..2000 (pgvector's HNSW limit for ``vector``).
    """
    if not 1 <= dim <= 2000:
        raise ValueError(f"face embedding dimension {dim} outside 1..2000")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('darkroom.face_search.dim'))")
        if await face_dimension(conn) == dim:
            return False
        await conn.execute("DROP INDEX IF EXISTS face_search_embedding_idx")
        await conn.execute("TRUNCATE face_search")
        await conn.execute("DELETE FROM asset_faces WHERE source_type = 'machine-learning'")
        await conn.execute(f"ALTER TABLE face_search ALTER COLUMN embedding TYPE vector({dim})")
        await conn.execute(
            "CREATE INDEX face_search_embedding_idx ON face_search "
            "USING hnsw (embedding vector_l2_ops)"
        )
        await conn.execute(
            "UPDATE asset_job_status SET faces_at = NULL, updated_at = now() "
            "WHERE faces_at IS NOT NULL"
        )
    return True
