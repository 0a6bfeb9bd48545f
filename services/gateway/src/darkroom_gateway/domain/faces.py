"""Faces of an asset: /api/faces (list, reassign, delete, draw a face by hand).

Owner-only: someone else's asset or face reads as absent (404).
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
    """Spec: AssetFaceDeleteDto."""

    force: bool = False


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
        """The faces of one of the caller's assets (an empty list for anyone else's)."""
        return [
            face_response(f, p)
            for f, p in await people.asset_faces(
                deps.pool, auth.user.id, asset_id, unlocked=auth.elevated
            )
        ]

    @post("/", status_code=201, permission="face.create")
    async def create_face(
        self,
        data: JSONBody[AssetFaceCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Draw a face on the caller's asset and put it on one of their people.

        Raises:
            BadRequest: A box outside the image or of no size.
            NoAccess: The asset or the person is not the caller's (``asset.read`` named).
        """
        if (
            data.width <= 0
            or data.height <= 0
            or data.x < 0
            or data.y < 0
            or data.x + data.width > data.image_width
            or data.y + data.height > data.image_height
        ):
            raise BadRequest("Face box must lie inside the image")
        face_id = await people.create_manual_face(
            deps.pool,
            auth.user.id,
            asset_id=data.asset_id,
            person_id=data.person_id,
            box=people.NewFace(
                image_width=data.image_width,
                image_height=data.image_height,
                x1=data.x,
                y1=data.y,
                x2=data.x + data.width,
                y2=data.y + data.height,
                score=1.0,
            ),
        )
        if face_id is None:
            raise NoAccess("asset.read")

    @put("/{face_id:uuid}", permission="face.update")
    async def reassign_face(
        self,
        face_id: FromPath[uuid.UUID],
        data: JSONBody[FaceUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> PersonResponse:
        """Put one face on another of the caller's people. Raises NoAccess otherwise."""
        person = await people.assign_face(deps.pool, auth.user.id, face_id, data.id)
        if person is None:
            raise NoAccess("person.update")
        return person_response(person)

    @delete("/{face_id:uuid}", status_code=204, permission="face.delete")
    async def delete_face(
        self,
        face_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        data: JSONBody[AssetFaceDelete | None] = None,
    ) -> None:
        """Delete one of the caller's faces. Raises NoAccess otherwise."""
        if not await people.delete_face(deps.pool, auth.user.id, face_id):
            raise NoAccess("face.delete")


ROUTES = [FaceController]
