"""API key permissions (the Permission enum of the Immich OpenAPI spec, v3.1.0) and the one
access check every id-taking route goes through (:func:`require_access`)."""

from __future__ import annotations

from typing import Literal, TypeVar

from darkroom_gateway.errors import NoAccess

Permission = Literal[
    "all",
    "activity.create",
    "activity.read",
    "activity.update",
    "activity.delete",
    "activity.statistics",
    "apiKey.create",
    "apiKey.read",
    "apiKey.update",
    "apiKey.delete",
    "asset.read",
    "asset.update",
    "asset.delete",
    "asset.statistics",
    "asset.share",
    "asset.view",
    "asset.download",
    "asset.upload",
    "asset.copy",
    "asset.derive",
    "asset.edit.get",
    "asset.edit.create",
    "asset.edit.delete",
    "album.create",
    "album.read",
    "album.update",
    "album.delete",
    "album.statistics",
    "album.share",
    "album.download",
    "albumAsset.create",
    "albumAsset.delete",
    "albumUser.create",
    "albumUser.update",
    "albumUser.delete",
    "auth.changePassword",
    "authDevice.delete",
    "archive.read",
    "backup.list",
    "backup.download",
    "backup.upload",
    "backup.delete",
    "duplicate.read",
    "duplicate.delete",
    "face.create",
    "face.read",
    "face.update",
    "face.delete",
    "folder.read",
    "job.create",
    "job.read",
    "library.create",
    "library.read",
    "library.update",
    "library.delete",
    "library.statistics",
    "timeline.read",
    "timeline.download",
    "maintenance",
    "map.read",
    "map.search",
    "memory.create",
    "memory.read",
    "memory.update",
    "memory.delete",
    "memory.statistics",
    "memoryAsset.create",
    "memoryAsset.delete",
    "notification.create",
    "notification.read",
    "notification.update",
    "notification.delete",
    "partner.create",
    "partner.read",
    "partner.update",
    "partner.delete",
    "person.create",
    "person.read",
    "person.update",
    "person.delete",
    "person.statistics",
    "person.merge",
    "person.reassign",
    "pinCode.create",
    "pinCode.update",
    "pinCode.delete",
    "plugin.create",
    "plugin.read",
    "plugin.update",
    "plugin.delete",
    "server.about",
    "server.apkLinks",
    "server.storage",
    "server.statistics",
    "server.versionCheck",
    "serverLicense.read",
    "serverLicense.update",
    "serverLicense.delete",
    "session.create",
    "session.read",
    "session.update",
    "session.delete",
    "session.lock",
    "sharedLink.create",
    "sharedLink.read",
    "sharedLink.update",
    "sharedLink.delete",
    "stack.create",
    "stack.read",
    "stack.update",
    "stack.delete",
    "sync.stream",
    "syncCheckpoint.read",
    "syncCheckpoint.update",
    "syncCheckpoint.delete",
    "systemConfig.read",
    "systemConfig.update",
    "systemMetadata.read",
    "systemMetadata.update",
    "tag.create",
    "tag.read",
    "tag.update",
    "tag.delete",
    "tag.asset",
    "user.read",
    "user.update",
    "userLicense.create",
    "userLicense.read",
    "userLicense.update",
    "userLicense.delete",
    "userOnboarding.read",
    "userOnboarding.update",
    "userOnboarding.delete",
    "userPreference.read",
    "userPreference.update",
    "userProfileImage.create",
    "userProfileImage.read",
    "userProfileImage.update",
    "userProfileImage.delete",
    "queue.read",
    "queue.update",
    "queueJob.create",
    "queueJob.read",
    "queueJob.update",
    "queueJob.delete",
    "workflow.create",
    "workflow.read",
    "workflow.update",
    "workflow.delete",
    "adminUser.create",
    "adminUser.read",
    "adminUser.update",
    "adminUser.delete",
    "adminSession.read",
    "adminAuth.unlinkAll",
]


T = TypeVar("T")


def require_access(found: T | None, permission: Permission, *, unlocked: bool = False) -> T:
    """What an access check found, or Immich's refusal when it found nothing.

    Every route taking an id looks the id up scoped to the caller (owner, album member...) and
    passes the result here with the permission the route needs on it; Immich's
    ``requireAccess`` answers the same for an id that does not exist and for one the caller may
    not touch, so nobody learns which ids exist.

    A locked asset (a row with ``visibility == "locked"``, issue #18) is refused like a missing
    one unless ``unlocked``: only its owner, through a session unlocked with the PIN code
    (:attr:`darkroom_gateway.auth.Auth.elevated`), may touch it, as Immich's
    ``checkOwnerAccess(..., hasElevatedPermission)`` decides; album members, partners and
    shared links never reach it.

    Args:
        found: The row the caller-scoped lookup returned, or None (or False) when there is none.
        permission: The permission the route needs on the id (Immich's name, e.g.
            ``album.update``); it is named in the message.
        unlocked: The caller is the owner through an unlocked session (routes that look up
            the caller's own assets pass ``auth.elevated``; every other path leaves it False).

    Returns:
        ``found``.

    Raises:
        NoAccess: ``found`` is None or False, or a locked asset without ``unlocked``: 400
            ``Not found or no <permission> access``.
    """
    if found is None or found is False:
        raise NoAccess(permission)
    if not unlocked and getattr(found, "visibility", None) == "locked":
        raise NoAccess(permission)
    return found
