"""Faces of an asset: /api/faces (list, reassign, delete, draw a face by hand).

As Immich's face controller and ``PersonService``: listing needs ``asset.read`` on the asset
(its owner, an album member, a partner) and shows a face's person only to the person's owner;
changing a face is for the owner of the face and of the person. Anything else is 400 ``Not
found or no <permission> access``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import msgspec
import structlog
from darkroom_db import people
from darkroom_events.catalogue import FaceClusteringRequested
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import viewable_asset
from darkroom_gateway.domain.people import PersonResponse, person_response
from darkroom_gateway.errors import BadRequest, NoAccess

log = structlog.get_logger()


async def start_face_clustering(deps: Deps, force: bool) -> None:
    """The jobs API's "start" of the facialRecognition queue: ask for the clustering pass now.

    Args:
        deps: The gateway's connections.
        force: Immich's "all" (re-cluster every face); the pass here only places the faces
            that have no person (Immich's "missing"), so both ask for that pass.
    """
    log.info("face.clustering_requested", force=force)
    await deps.outbox.publish(FaceClusteringRequested(requested_at=datetime.now(UTC), reason="job"))


class AssetFaceResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetFaceResponseDto (box in pixels of an imageWidth x imageHeight original)."""

    id: str
    image_width: int
    image_height: int
    bounding_box_x1: int
    bounding_box_y1: int
    bounding_box_x2: int
    bounding_box_y2: int
    person: PersonResponse | None
    source_type: str


class AssetFaceCreate(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: AssetFaceCreateDto (x, y, width, height in pixels of imageWidth x imageHeight)."""

    asset_id: uuid.UUID
    person_id: uuid.UUID
    image_width: int
    image_height: int
    x: int
    y: int
    width: int
    height: int


class FaceUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: FaceDto: ``id`` is the person to put the face on."""

    id: uuid.UUID


class AssetFaceDelete(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: AssetFaceDeleteDto (``force``, required: delete the row, not only mark it
    deleted)."""

    force: bool


def face_response(face: people.Face, person: people.Person | None) -> AssetFaceResponse:
    """Map a face (and its person) to AssetFaceResponseDto."""
    return AssetFaceResponse(
        id=str(face.id),
        image_width=face.image_width,
        image_height=face.image_height,
        bounding_box_x1=face.bounding_box_x1,
        bounding_box_y1=face.bounding_box_y1,
        bounding_box_x2=face.bounding_box_x2,
        bounding_box_y2=face.bounding_box_y2,
        person=person_response(person) if person is not None else None,
        source_type=face.source_type,
    )


class FaceController(Controller):
    """/api/faces."""

    path = "/api/faces"

    @get("/", permission="face.read")
    async def get_faces(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        asset_id: Annotated[uuid.UUID, QueryParameter(name="id")],
    ) -> list[AssetFaceResponse]:
        """The faces of an asset the caller may read, each with its person when the person is
        the caller's (Immich's ``getFacesById`` and ``mapFaces``: a partner or album member
        sees the boxes, ``person`` null).

        Raises:
            NoAccess: The caller may not read the asset (``asset.read``).
        """
        asset = await viewable_asset(deps, auth, asset_id, "asset.read")
        own = asset.owner_id == auth.user.id
        return [
            face_response(f, p if own else None)
            for f, p in await people.asset_faces(deps.pool, asset.owner_id, asset.id, unlocked=True)
        ]

    @post("/", status_code=201, permission="face.create")
    async def create_face(
        self,
        data: JSONBody[AssetFaceCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Draw a face on the caller's asset and put it on one of their people.

        Immich's ``createFace`` stores the box as sent, and its web face editor sends the
        rectangle as drawn, which may reach past the image (over the letterbox): the part of the
        box inside the image is kept here, so that the person thumbnail can be cut from it.

        Raises:
            BadRequest: No image size, or no part of the box inside the image.
            NoAccess: The asset or the person is not the caller's (``asset.read`` named).
        """
        x1, y1 = max(data.x, 0), max(data.y, 0)
        x2 = min(data.x + data.width, data.image_width)
        y2 = min(data.y + data.height, data.image_height)
        if x2 <= x1 or y2 <= y1:
            raise BadRequest("Face box must lie inside the image")
        face_id = await people.create_manual_face(
            deps.pool,
            auth.user.id,
            asset_id=data.asset_id,
            person_id=data.person_id,
            box=people.NewFace(
                image_width=data.image_width,
                image_height=data.image_height,
                x1=x1,
                y1=y1,
                x2=x2,
                y2=y2,
                score=1.0,
            ),
        )
        if face_id is None:
            raise NoAccess("asset.read")

    @put("/{person_id:uuid}", permission="face.update")
    async def reassign_face(
        self,
        person_id: FromPath[uuid.UUID],
        data: JSONBody[FaceUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> PersonResponse:
        """Put the face ``data.id`` on the person ``person_id`` (both the caller's) and answer
        that person, as Immich's ``reassignFacesById(auth, personId, dto)``: the path names the
        person, the body the face (the web app's ``reassignFacesById({ id: person.id,
        faceDto: { id: face.id } })``).

        Raises:
            NoAccess: ``person_id`` is not the caller's person (``person.update``), or
                ``data.id`` not the caller's face (``person.create``), as Immich checks them.
        """
        me = auth.user.id
        person = await people.assign_face(deps.pool, me, data.id, person_id)
        if person is None:
            mine = await people.get_person(deps.pool, me, person_id) is not None
            raise NoAccess("person.create" if mine else "person.update")
        return person_response(person)

    @delete("/{face_id:uuid}", status_code=204, permission="face.delete")
    async def delete_face(
        self,
        face_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        data: JSONBody[AssetFaceDelete],
    ) -> None:
        """Delete one of the caller's faces, as Immich's ``PersonService.deleteFace``: for good
        with ``force``, else soft (``deletedAt`` set: left out of every read, sent to the apps
        as an AssetFaceV2 with ``deletedAt``). The body and its ``force`` are required (the
        spec's AssetFaceDeleteDto): without them, 400 ``Validation failed``.

        Raises:
            NoAccess: The face is not the caller's (``face.delete``).
        """
        if not await people.delete_face(deps.pool, auth.user.id, face_id, force=data.force):
            raise NoAccess("face.delete")


ROUTES = [FaceController]
