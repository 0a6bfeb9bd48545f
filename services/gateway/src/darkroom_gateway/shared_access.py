"""What a caller through a shared link may reach: the one place the routes open to links
(``shared_link=True``, see :func:`darkroom_gateway.auth.authorize`) ask.

A link reaches exactly its assets (an ALBUM link: the album's active assets while the album
exists; an INDIVIDUAL link: the assets put in it), the motion part of live photos among them,
and for an ALBUM link the album itself. Originals and archives need ``allowDownload``, uploads
``allowUpload``, as Immich's ``AccessCore`` checks them for a shared link (``AssetDownload``,
``AssetUpload``, ``AlbumRead``, ``AlbumDownload``). The answer for anything else is the same
400 ``Not found or no <permission> access`` every id-taking route gives (never which ids exist).
Nothing here is cached: each request reads the link and its album from the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from darkroom_db import assets, shared_links

from darkroom_gateway.deps import Deps
from darkroom_gateway.permissions import Permission, require_access

#: Permissions a link grants on its assets whatever its options (viewing them).
_VIEW: frozenset[str] = frozenset({"asset.read", "asset.view"})
#: Permissions that need the link's ``allowDownload``.
_DOWNLOAD: frozenset[str] = frozenset({"asset.download", "album.download"})


def _grants(link: shared_links.SharedLink, permission: Permission) -> bool:
    if permission in _VIEW:
        return True
    if permission in _DOWNLOAD:
        return link.allow_download
    return False


async def link_asset(
    deps: Deps, link: shared_links.SharedLink, asset_id: uuid.UUID, permission: Permission
) -> assets.Asset:
    """Asset ``asset_id`` when ``link`` reaches it with ``permission``.

    Args:
        deps: Connections.
        link: The caller's link.
        asset_id: The asset asked for.
        permission: What the route does with it (``asset.read``/``asset.view`` are granted on
            the link's assets; ``asset.download`` only with ``allowDownload``; nothing else).

    Returns:
        The asset row.

    Raises:
        NoAccess: The link does not reach the asset with ``permission``.
    """
    found = None
    if _grants(link, permission):
        found = await shared_links.get_link_asset(deps.pool, link.id, asset_id)
    return require_access(found, permission)


async def link_assets(
    deps: Deps,
    link: shared_links.SharedLink,
    asset_ids: Iterable[uuid.UUID],
    permission: Permission,
) -> set[uuid.UUID]:
    """Check many ids at once, as :func:`link_asset`.

    Returns:
        The ids (all of them).

    Raises:
        NoAccess: One of them is not reached with ``permission``.
    """
    wanted = set(asset_ids)
    found = (
        await shared_links.reachable_asset_ids(deps.pool, link.id, wanted)
        if _grants(link, permission)
        else set()
    )
    require_access(found == wanted or None, permission)
    return wanted


async def link_album(
    deps: Deps, link: shared_links.SharedLink, album_id: uuid.UUID, permission: Permission
) -> uuid.UUID:
    """Album ``album_id`` when it is ``link``'s (live) album and ``permission`` is granted
    (``album.read``; ``album.download`` with ``allowDownload``).

    Returns:
        The album id.

    Raises:
        NoAccess: Another album, a deleted one, or a permission the link does not grant.
    """
    granted = permission == "album.read" or (permission == "album.download" and link.allow_download)
    ok = (
        granted
        and link.album_id == album_id
        and await shared_links.album_is_live(deps.pool, album_id)
    )
    require_access(ok or None, permission)
    return album_id
