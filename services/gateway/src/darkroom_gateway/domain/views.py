"""Folders (the spec's "Views" operations): the folders of the caller's originals and the
assets directly in one of them.

A folder is the directory of an asset's ``originalPath`` (see :mod:`darkroom_db.folders`): for
an upload ``upload/<userId>/<ab>/<cd>``, the storage layout Immich shows for uploads too; real
folders for assets that come from an external library. Only the caller's own active timeline
assets count (Immich's ``ViewRepository``: not archived, hidden, locked or trashed).
"""

from __future__ import annotations

from typing import Annotated

from darkroom_db import folders
from darkroom_db import search as search_db
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import AssetResponse, asset_response


class ViewController(Controller):
    """/api/view."""

    path = "/api/view"

    @get("/folder/unique-paths", permission="folder.read")
    async def get_unique_original_paths(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> list[str]:
        """Every folder holding one of the caller's timeline assets, sorted, no trailing ``/``."""
        return await folders.unique_paths(deps.pool, auth.user.id)

    @get("/folder", permission="folder.read")
    async def get_assets_by_original_path(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        path: Annotated[str, QueryParameter(name="path")],
    ) -> list[AssetResponse]:
        """The caller's timeline assets directly in folder ``path`` (not its sub-folders), by
        file name; an unknown folder gives an empty list."""
        found = await folders.assets_in(deps.pool, auth.user.id, path)
        return [asset_response(a, e) for a, e in await search_db.with_exif(deps.pool, found)]


ROUTES = [ViewController]
