"""The maintenance login token: a JWT naming who logged in, signed with the maintenance secret.

Immich signs ``{username}`` with HS256, the maintenance secret as key, issued now and valid
four hours (server/src/utils/maintenance.ts ``signMaintenanceJwt``); its maintenance worker
accepts a token that verifies with the secret and answers the name it carries
(maintenance-worker.service.ts ``login``). The admin who starts maintenance gets a token with
their name, the start-restore flow of a server not set up yet one named ``admin``
(maintenance.service.ts ``startMaintenance``/``startRestoreFlow``). Ending maintenance (a new
secret next time) makes every token worthless.
"""

from __future__ import annotations

import time

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

#: Seconds a maintenance token is valid (Immich: ``setExpirationTime('4h')``).
TOKEN_TTL_S = 4 * 3600
#: The JWT algorithm (Immich's ``HS256``).
ALGORITHM = "HS256"


def sign(secret: str, username: str, *, now: float | None = None) -> str:
    """A maintenance token for ``username`` (compact JWT, ``iat`` now, ``exp`` 4 hours on).

    Args:
        secret: The maintenance secret (:class:`darkroom_runtime.maintenance.MaintenanceState`).
        username: Who it logs in (answered by ``POST /api/admin/maintenance/login``).
        now: Unix time it is issued (default: now).
    """
    issued = int(now if now is not None else time.time())
    claims = {"username": username, "iat": issued, "exp": issued + TOKEN_TTL_S}
    return jwt.encode({"alg": ALGORITHM}, claims, OctKey.import_key(secret))


def username(secret: str, token: str) -> str | None:
    """The name ``token`` logs in, when it verifies with ``secret`` and has not expired;
    None otherwise (also for an empty secret: no maintenance in progress)."""
    if not secret or not token:
        return None
    try:
        decoded = jwt.decode(token, OctKey.import_key(secret), algorithms=[ALGORITHM])
        JWTClaimsRegistry(exp={"essential": True}).validate(decoded.claims)
    except (JoseError, ValueError):
        return None
    name = decoded.claims.get("username")
    return name if isinstance(name, str) else None
