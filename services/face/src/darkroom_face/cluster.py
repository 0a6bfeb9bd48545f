"""Incremental clustering of faces into people (Immich's DBSCAN-like rule), and its evaluation.

Credit: the rule is Immich's (immich-app/immich, its facial recognition job with the
``minFaces`` and ``maxDistance`` settings, described in Immich's documentation of facial
recognition and in this project's issue 5). Immich's code is AGPL-3.0 and was not copied; this is
an independent implementation of the documented behaviour. Applied to one new face at a time:

1. find the face's ``min_faces`` nearest faces of the same owner within ``max_distance`` (L2;
   the face itself is among them);
2. if it matched only itself (and ``min_faces`` > 1), leave it unassigned ("unmatched": the
   nightly "cluster new faces" job retries it when more faces exist);
3. the person of the nearest matched face that has one; else the person of the nearest face
   within ``max_distance`` that has one;
4. the face is "core" when ``min_faces`` faces matched; a core face with no person found starts
   a new person;
5. a non-core face is deferred on its first try (retried once the queue drains, when its
   neighbours may have become people), and on the deferred try joins the person found, if any.

Steps 2-5 are the pure :func:`decide`; :func:`recognize_face` feeds it the database's answers.

Closing the gap to the nightly pass (Darkroom's addition): a person's first faces arrive before
any core face exists, so they end "unmatched" and, in Immich, wait for the nightly job. Here,
whenever a face starts or joins a person, the unmatched faces of the same owner within
``max_distance`` of it are put back in the "deferred" state; the retry loop (every
``sweep_interval_s``, after ``deferred_after_s``) then applies the same rule to them with
``deferred=True``, so they join that person within seconds. Nothing else changes: a face with
no person within ``max_distance`` stays unmatched, and only core faces start people. Faces a user
took off a person are "done", never requeued.

Scale-out safety: a recognition runs in one transaction holding a PostgreSQL advisory lock per
owner (``pg_advisory_xact_lock``), so two workers never both decide "new person" for faces of the
same person: the second sees the first's committed person.
"""

from __future__ import annotations

import enum
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
import structlog
from darkroom_db import people

from darkroom_face.settings import RecognitionSettings

log = structlog.get_logger()


class Outcome(enum.StrEnum):
    """What recognising one face did."""

    ASSIGNED = "assigned"  # joined an existing person
    CREATED = "created"  # started a new person
    DEFERRED = "deferred"  # not core yet: retried later
    UNMATCHED = "unmatched"  # no person near: retried by the nightly job
    SKIPPED = "skipped"  # gone, already has a person, or no descriptor


@dataclass(frozen=True)
class Result:
    """Outcome of one recognition and the person the face has now (if any).

    Attributes:
        outcome: What happened.
        person_id: The face's person after it (None when it has none).
        face_id, asset_id, owner_id: The face, its asset and owner (None when it is gone).
        requeued: Unmatched faces near it put back for a retry (after ASSIGNED/CREATED).
    """

    outcome: Outcome
    person_id: uuid.UUID | None = None
    face_id: uuid.UUID | None = None
    asset_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    requeued: int = 0


#: Called after each recognition of the passes below (e.g. to publish events).
OnResult = Callable[[Result], Awaitable[None]]


@dataclass(frozen=True)
class Decision:
    """What :func:`decide` says to do with a face.

    Attributes:
        outcome: ASSIGNED (join ``person_id``), CREATED (start a new person), DEFERRED or
            UNMATCHED (record the state, no person).
        person_id: The person to join (ASSIGNED only).
    """

    outcome: Outcome
    person_id: uuid.UUID | None = None


def decide(
    match_people: Sequence[uuid.UUID | None],
    nearest_person: uuid.UUID | None,
    *,
    min_faces: int,
    deferred: bool,
) -> Decision:
    """The recognition rule for one face (steps 2-5 of the module docstring), without I/O.

    Args:
        match_people: Person (or None) of each face within ``max_distance`` of the face,
            nearest first, the face itself included, at most ``min_faces`` of them.
        nearest_person: Person of the nearest face within ``max_distance`` that has one (looked
            beyond ``match_people``); only consulted when no match has a person.
        min_faces: Faces (itself included) that make a face "core" (Immich's minFaces).
        deferred: This is the retry of a deferred face.

    Returns:
        The decision.
    """
    if min_faces > 1 and len(match_people) <= 1:
        return Decision(Outcome.UNMATCHED)
    person_id = next((p for p in match_people if p is not None), None) or nearest_person
    is_core = len(match_people) >= min_faces
    if not is_core and not deferred:
        return Decision(Outcome.DEFERRED)
    if person_id is not None:
        return Decision(Outcome.ASSIGNED, person_id)
    return Decision(Outcome.CREATED if is_core else Outcome.UNMATCHED)


def _lock_key(owner_id: uuid.UUID) -> int:
    """A signed 64-bit advisory lock key for recognition of ``owner_id``'s faces."""
    return int.from_bytes(owner_id.bytes[:8], "big", signed=True) ^ 0x66616365  # "face"


async def recognize_face(
    pool: asyncpg.Pool,
    face_id: uuid.UUID,
    settings: RecognitionSettings,
    *,
    deferred: bool = False,
) -> Result:
    """Assign one face to a person, start a new person, or defer it (see the module docstring).

    Args:
        pool: Database pool.
        face_id: An asset_faces id with a face_search descriptor.
        settings: ``max_distance`` (L2) and ``min_faces``.
        deferred: This is the retry of a deferred face (a non-core face may now join).

    Returns:
        The outcome and the face's person.
    """
    async with pool.acquire() as conn, conn.transaction():
        face = await people.get_face_for_worker(conn, face_id)
        if face is None:
            return Result(Outcome.SKIPPED)
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(face.owner_id))
        face = await people.get_face_for_worker(conn, face_id)  # as of after the lock
        if face is None or face.person_id is not None:
            return Result(Outcome.SKIPPED, face.person_id if face else None)
        embedding = await people.get_embedding(conn, face_id)
        if embedding is None:
            return Result(Outcome.SKIPPED)
        matches = await people.nearest_faces(
            conn,
            owner_id=face.owner_id,
            embedding=embedding,
            max_distance=settings.max_distance,
            limit=settings.min_faces,
        )
        nearest_person = None
        if len(matches) > 1 and all(m.person_id is None for m in matches):
            nearest = await people.nearest_faces(
                conn,
                owner_id=face.owner_id,
                embedding=embedding,
                max_distance=settings.max_distance,
                limit=1,
                has_person=True,
            )
            nearest_person = nearest[0].person_id if nearest else None
        decision = decide(
            [m.person_id for m in matches],
            nearest_person,
            min_faces=settings.min_faces,
            deferred=deferred,
        )
        ids = {"face_id": face_id, "asset_id": face.asset_id, "owner_id": face.owner_id}
        if decision.outcome in (Outcome.UNMATCHED, Outcome.DEFERRED):
            await people.set_recognition(conn, face_id, decision.outcome.value)
            return Result(decision.outcome, **ids)
        person_id = decision.person_id
        if decision.outcome is Outcome.CREATED:
            person_id = await people.create_person_for_face(
                conn, owner_id=face.owner_id, face_id=face_id
            )
        await people.set_recognition(conn, face_id, "done", person_id)
        if decision.outcome is Outcome.ASSIGNED:
            await people.refresh_feature_faces(conn, face.owner_id)
        requeued = await people.requeue_unmatched_near(
            conn,
            owner_id=face.owner_id,
            embedding=embedding,
            max_distance=settings.max_distance,
        )
        return Result(decision.outcome, person_id, requeued=len(requeued), **ids)


async def retry_deferred(
    pool: asyncpg.Pool,
    settings: RecognitionSettings,
    *,
    owner_id: uuid.UUID | None = None,
    on_result: OnResult | None = None,
) -> Counter[Outcome]:
    """Retry the deferred faces that waited ``settings.deferred_after_s`` (deferred=True).

    These are the non-core faces deferred on arrival and the unmatched faces requeued because
    a person formed near them (see the module docstring).

    Args:
        on_result: Awaited with every recognition's result.

    Returns:
        How many faces had each outcome.
    """
    counts: Counter[Outcome] = Counter()
    faces = await people.unassigned_faces(
        pool, owner_id=owner_id, states=("deferred",), older_than_s=settings.deferred_after_s
    )
    for face_id, _ in faces:
        result = await recognize_face(pool, face_id, settings, deferred=True)
        counts[result.outcome] += 1
        if on_result is not None:
            await on_result(result)
    return counts


async def cluster_new_faces(
    pool: asyncpg.Pool,
    settings: RecognitionSettings,
    *,
    owner_id: uuid.UUID | None = None,
    on_result: OnResult | None = None,
) -> Counter[Outcome]:
    """The nightly / admin "cluster new faces" job: every unassigned face, oldest first.

    A first pass lets core faces start people now that all faces exist; a second pass retries
    what is still unassigned as deferred, so non-core faces join a person within reach.

    Args:
        owner_id: One owner's faces, or everyone's.
        on_result: Awaited with every recognition's result.

    Returns:
        How many faces had each outcome in the two passes together.
    """
    counts: Counter[Outcome] = Counter()
    for deferred in (False, True):
        for face_id, _ in await people.unassigned_faces(pool, owner_id=owner_id):
            result = await recognize_face(pool, face_id, settings, deferred=deferred)
            counts[result.outcome] += 1
            if on_result is not None:
                await on_result(result)
    log.info(
        "face.cluster_new_faces",
        owner_id=str(owner_id) if owner_id else None,
        **{k.value: v for k, v in counts.items()},
    )
    return counts


@dataclass(frozen=True)
class PairwiseScores:
    """Pairwise clustering quality.

    Attributes:
        precision: Of the pairs put in one cluster, the share that are one true identity.
        recall: Of the true same-identity pairs, the share put in one cluster.
        f1: Their harmonic mean.
        pairs_predicted: Pairs in one predicted cluster.
        pairs_true: Same-identity pairs.
    """

    precision: float
    recall: float
    f1: float
    pairs_predicted: int
    pairs_true: int


def pairwise_scores(
    truth: Mapping[Hashable, Hashable], predicted: Mapping[Hashable, Hashable | None]
) -> PairwiseScores:
    """Pairwise precision/recall of a clustering against labels (Manning et al., IR book 16.3).

    Args:
        truth: Item -> true identity.
        predicted: Item -> cluster id, or None / absent for an unclustered item (a singleton).

    Returns:
        Scores; precision is 1.0 when no pair was predicted, recall 1.0 when no true pair exists.
    """
    items = list(truth)
    tp = fp = fn = 0
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            pa, pb = predicted.get(a), predicted.get(b)
            same_pred = pa is not None and pa == pb
            same_true = truth[a] == truth[b]
            tp += same_pred and same_true
            fp += same_pred and not same_true
            fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(precision, recall, f1, tp + fp, tp + fn)
