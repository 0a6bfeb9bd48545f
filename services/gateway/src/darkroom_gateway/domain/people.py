"""People (faces clustered by the face service): /api/people.

Owner-only: a person, face or asset of someone else reads as absent (404), as the spec's
``person.*`` permissions on the caller's own people imply.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

import msgspec
import structlog
from darkroom_db import people
from darkroom_events import PersonCreated, PersonMerged
from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest, NoAccess, NotFound
from darkroom_gateway.permissions import require_access
from darkroom_gateway.schemas import BulkIdResponse, BulkIds

log = structlog.get_logger()


class PersonResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PersonResponseDto (``color`` is optional, not nullable: left out when unset)."""

    id: str
    name: str
    birth_date: date | None
    thumbnail_path: str
    is_hidden: bool
    is_favorite: bool
    color: str | msgspec.UnsetType = msgspec.UNSET
    updated_at: datetime


class PeopleResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PeopleResponseDto."""

    total: int
    hidden: int
    people: list[PersonResponse]
    has_next_page: bool


class PersonCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PersonCreateDto."""

    name: str = ""
    birth_date: date | None = None
    is_hidden: bool = False
    is_favorite: bool = False
    color: str | None = None


class PersonUpdate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PersonUpdateDto (absent fields stay as they are; ``birthDate: null`` clears)."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    birth_date: date | None | msgspec.UnsetType = msgspec.UNSET
    is_hidden: bool | msgspec.UnsetType = msgspec.UNSET
    is_favorite: bool | msgspec.UnsetType = msgspec.UNSET
    color: str | None | msgspec.UnsetType = msgspec.UNSET
    feature_face_asset_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET


class PeopleUpdateItem(PersonUpdate, frozen=True, kw_only=True, rename="camel"):
    """Spec: PeopleUpdateItem."""

    id: uuid.UUID


class PeopleUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: PeopleUpdateDto."""

    people: list[PeopleUpdateItem]


class MergePerson(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: MergePersonDto."""

    ids: list[uuid.UUID]


class AssetFaceUpdateItem(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetFaceUpdateItem."""

    asset_id: uuid.UUID
    person_id: uuid.UUID


class AssetFaceUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: AssetFaceUpdateDto."""

    data: list[AssetFaceUpdateItem]


class PersonStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: PersonStatisticsResponseDto."""

    assets: int


def person_response(person: people.Person) -> PersonResponse:
    """Map a person row to PersonResponseDto."""
    return PersonResponse(
        id=str(person.id),
        name=person.name,
        birth_date=person.birth_date,
        thumbnail_path=person.thumbnail_path,
        is_hidden=person.is_hidden,
        is_favorite=person.is_favorite,
        color=msgspec.UNSET if person.color is None else person.color,
        updated_at=person.updated_at,
    )


def _check_birth_date(birth_date: object) -> None:
    """Refuse a birth date after today, on create as on update (Immich's ``PersonCreateDto``,
    which ``PersonUpdateDto`` extends: ``@MaxDateString(now)``, 400 ``Birth date cannot be in
    the future``).

    Raises:
        BadRequest: ``birth_date`` is a date after today.
    """
    if isinstance(birth_date, date) and birth_date > date.today():
        raise BadRequest("Birth date cannot be in the future")


def _changes(data: PersonUpdate) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in ("name", "birth_date", "is_hidden", "is_favorite", "color"):
        value = getattr(data, field)
        if value is not msgspec.UNSET:
            out[field] = value
    _check_birth_date(out.get("birth_date"))
    return out


async def _update(
    deps: Deps, auth: Auth, person_id: uuid.UUID, data: PersonUpdate
) -> people.Person | None:
    """Apply ``data`` to one of the caller's people, in the order of Immich's
    ``PersonService.update``: the person (None when not the caller's), then the feature face's
    asset (``asset.read`` access), then a face of this person on that asset.

    Raises:
        NoAccess: ``featureFaceAssetId`` is an asset the caller may not read.
        BadRequest: That asset shows no face of this person (``Invalid assetId for feature
            face``).
    """
    # imported here: domain.assets imports this module (PersonResponse)
    from darkroom_gateway.domain.assets import viewable_asset  # noqa: PLC0415

    feature = data.feature_face_asset_id
    if feature is not msgspec.UNSET:
        if await people.get_person(deps.pool, auth.user.id, person_id) is None:
            return None
        await viewable_asset(deps, auth, feature, "asset.read")
    try:
        return await people.update_person(
            deps.pool,
            auth.user.id,
            person_id,
            _changes(data),
            feature_face_asset_id=None if feature is msgspec.UNSET else feature,
        )
    except LookupError as exc:
        raise BadRequest("Invalid assetId for feature face") from exc


class PeopleController(Controller):
    """/api/people."""

    path = "/api/people"

    @get("/", permission="person.read")
    async def get_all_people(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        page: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
        size: Annotated[int, QueryParameter(name="size", ge=1, le=1000)] = 500,
        with_hidden: Annotated[bool, QueryParameter(name="withHidden", required=False)] = False,
        closest_person_id: Annotated[
            uuid.UUID | None, QueryParameter(name="closestPersonId", required=False)
        ] = None,
        closest_asset_id: Annotated[
            uuid.UUID | None, QueryParameter(name="closestAssetId", required=False)
        ] = None,
    ) -> PeopleResponse:
        """The caller's people with faces on timeline assets (unnamed ones: at least
        ``machineLearning.facialRecognition.minFaces``): visible first, favourites, named, most
        faces; with ``closestPersonId`` (that person's feature face) or ``closestAssetId`` (a
        face id, as Immich reads it), nearest feature faces first instead.

        Raises:
            NotFound: ``closestPersonId`` is not the caller's or has no feature face (Immich).
        """
        closest_face = closest_asset_id
        if closest_person_id is not None:
            person = await people.get_person(deps.pool, auth.user.id, closest_person_id)
            if person is None or person.face_asset_id is None:
                raise NotFound("Person not found")
            closest_face = person.face_asset_id
        found, total, hidden, has_next = await people.list_people(
            deps.pool,
            auth.user.id,
            with_hidden=with_hidden,
            page=page,
            size=size,
            min_faces=deps.config.current.machine_learning.facial_recognition.min_faces,
            closest_face_id=closest_face,
        )
        return PeopleResponse(
            total=total,
            hidden=hidden,
            people=[person_response(p) for p in found],
            has_next_page=has_next,
        )

    @post("/", status_code=201, permission="person.create")
    async def create_person(
        self, data: JSONBody[PersonCreate], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> PersonResponse:
        """A new person of the caller's, with no faces yet."""
        _check_birth_date(data.birth_date)
        person = await people.create_person(
            deps.pool,
            auth.user.id,
            name=data.name,
            birth_date=data.birth_date,
            is_hidden=data.is_hidden,
            is_favorite=data.is_favorite,
            color=data.color,
        )
        log.info("person.created", person_id=str(person.id), owner_id=str(auth.user.id))
        await announce(deps, PersonCreated(person_id=str(person.id), owner_id=str(auth.user.id)))
        return person_response(person)

    @put("/", permission="person.update")
    async def update_people(
        self, data: JSONBody[PeopleUpdate], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[BulkIdResponse]:
        """Update many people; one result per item, every failure (someone else's person
        included) ``unknown``, as Immich's ``updateAll`` catches them."""
        results: list[BulkIdResponse] = []
        for item in data.people:
            try:
                person = await _update(deps, auth, item.id, item)
            except BadRequest as exc:
                results.append(
                    BulkIdResponse(
                        id=str(item.id), success=False, error="unknown", error_message=str(exc)
                    )
                )
                continue
            results.append(
                BulkIdResponse(id=str(item.id), success=True)
                if person is not None
                else BulkIdResponse(id=str(item.id), success=False, error="unknown")
            )
        return results

    @delete("/", status_code=204, permission="person.delete")
    async def delete_people(
        self, data: JSONBody[BulkIds], auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> None:
        """Delete some of the caller's people (their faces stay, unassigned).

        Raises:
            NoAccess: One of ``ids`` is not the caller's person; none is deleted then (Immich's
                ``deleteAll`` requires ``person.delete`` on every id).
        """
        if data.ids and not await people.delete_people(deps.pool, auth.user.id, data.ids):
            raise NoAccess("person.delete")

    @get("/{person_id:uuid}", permission="person.read")
    async def get_person(
        self,
        person_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> PersonResponse:
        """One of the caller's people. Raises NoAccess otherwise."""
        person = await people.get_person(deps.pool, auth.user.id, person_id)
        if person is None:
            raise NoAccess("person.read")
        return person_response(person)

    @put("/{person_id:uuid}", permission="person.update")
    async def update_person(
        self,
        person_id: FromPath[uuid.UUID],
        data: JSONBody[PersonUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> PersonResponse:
        """Rename, hide, favourite, set birth date, colour or feature face.

        Raises:
            NoAccess: Not the caller's person.
            BadRequest: ``featureFaceAssetId`` is an asset without a face of this person.
        """
        person = await _update(deps, auth, person_id, data)
        if person is None:
            raise NoAccess("person.update")
        return person_response(person)

    @delete("/{person_id:uuid}", status_code=204, permission="person.delete")
    async def delete_person(
        self,
        person_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Delete one of the caller's people. Raises NoAccess otherwise."""
        if not await people.delete_people(deps.pool, auth.user.id, [person_id]):
            raise NoAccess("person.delete")

    @post("/{person_id:uuid}/merge", status_code=200, permission="person.merge")
    async def merge_person(
        self,
        person_id: FromPath[uuid.UUID],
        data: JSONBody[MergePerson],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[BulkIdResponse]:
        """Move the faces of ``ids`` into this person and delete them; per id, as Immich's
        ``mergePerson``: ``no_permission`` for one that is not the caller's person (or none),
        ``not_found`` for a repeat of one merged already.

        Raises:
            NoAccess: This person is not the caller's.
            BadRequest: Merging a person into itself.
        """
        if person_id in data.ids:
            raise BadRequest("Cannot merge a person into themselves")
        try:
            merged = await people.merge_people(deps.pool, auth.user.id, person_id, data.ids)
        except LookupError as exc:
            raise NoAccess("person.merge") from exc
        log.info("person.merged", person_id=str(person_id), merged=len(merged))
        if merged:
            await announce(
                deps,
                PersonMerged(
                    person_id=str(person_id),
                    owner_id=str(auth.user.id),
                    merged_ids=sorted(str(i) for i in merged),
                    at=datetime.now(UTC),
                ),
            )
        results: list[BulkIdResponse] = []
        done: set[uuid.UUID] = set()
        for i in data.ids:
            if i not in merged:
                results.append(BulkIdResponse(id=str(i), success=False, error="no_permission"))
            elif i in done:
                results.append(BulkIdResponse(id=str(i), success=False, error="not_found"))
            else:
                done.add(i)
                results.append(BulkIdResponse(id=str(i), success=True))
        return results

    @put("/{person_id:uuid}/reassign", permission="person.reassign")
    async def reassign_faces(
        self,
        person_id: FromPath[uuid.UUID],
        data: JSONBody[AssetFaceUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> list[PersonResponse]:
        """Move the faces of (asset, person) pairs to this person.

        Returns:
            This person when a face moved, else an empty list.

        Raises:
            NoAccess: This person is not the caller's.
        """
        try:
            await people.reassign_asset_faces(
                deps.pool,
                auth.user.id,
                person_id,
                [(item.asset_id, item.person_id) for item in data.data],
            )
        except LookupError as exc:
            raise NoAccess("person.update") from exc
        person = await people.get_person(deps.pool, auth.user.id, person_id)
        # one entry per item asked, moved or not (Immich's reassignFaces)
        return [person_response(person)] * len(data.data) if person is not None else []

    @get("/{person_id:uuid}/statistics", permission="person.statistics")
    async def get_person_statistics(
        self,
        person_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> PersonStatistics:
        """How many of the caller's assets show the person. Raises NoAccess otherwise."""
        if await people.get_person(deps.pool, auth.user.id, person_id) is None:
            raise NoAccess("person.read")
        return PersonStatistics(
            assets=await people.person_statistics(deps.pool, auth.user.id, person_id)
        )

    @get("/{person_id:uuid}/thumbnail", permission="person.read")
    async def get_person_thumbnail(
        self,
        person_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> Response[bytes]:
        """The person's face crop (JPEG, rendered by the face service), never cached without
        asking again (Immich's ``CacheControl.PrivateWithoutCache``: a new feature face is
        rendered behind the same URL).

        Raises:
            NoAccess: Not the caller's person.
            NotFound: No thumbnail rendered yet (404, as Immich answers).
        """
        person = require_access(
            await people.get_person(deps.pool, auth.user.id, person_id), "person.read"
        )
        if not person.thumbnail_path:
            raise NotFound("Person thumbnail not found")
        data = await deps.storage.get_bytes(person.thumbnail_path)
        return Response(
            data,
            media_type="image/jpeg",
            headers={"Cache-Control": "private, no-cache, no-transform"},
        )


ROUTES = [PeopleController]
