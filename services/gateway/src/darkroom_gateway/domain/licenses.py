"""Licence keys: the server's (``/api/server/license``, admins) and each user's
(``/api/users/me/license``), stored as given once they have the form Immich's have: Darkroom
makes no activation call and cannot verify Immich's signature (see :func:`_can_be_signature`).

The two route groups are the same three operations on a different store, so one set of
functions serves both: :func:`read_license`, :func:`store_license`, :func:`forget_license`,
each taking the owner (``None`` for the server).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import datetime

import msgspec
from darkroom_db import system_metadata

from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest, NotFound


class LicenseKey(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: LicenseKeyDto."""

    license_key: str
    activation_key: str


class LicenseResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: LicenseResponseDto (UserLicense)."""

    license_key: str
    activation_key: str
    activated_at: datetime


#: Spec LicenseKeyDto.licenseKey pattern.
_LICENSE_KEY = re.compile(r"^IM(SV|CL)(-[\dA-Za-z]{4}){8}$")
#: Key prefixes: ``IMSV-`` for a server licence, ``IMCL-`` (client) for a user's (Immich's).
SERVER_PREFIX = "IMSV-"
USER_PREFIX = "IMCL-"


def license_response(stored: system_metadata.License) -> LicenseResponse:
    """Map a stored licence to LicenseResponseDto."""
    return LicenseResponse(
        license_key=stored.license_key,
        activation_key=stored.activation_key,
        activated_at=stored.activated_at,
    )


#: The shortest RSA signature an activation key can be (RSA-2048: 256 bytes, 342 base64url
#: characters, as Immich's keys are).
_MIN_SIGNATURE_BYTES = 256


def _can_be_signature(activation_key: str) -> bool:
    """Whether ``activation_key`` has the form of an activation key: an RSA signature of the
    licence key in base64 or base64url (padding optional), at least :data:`_MIN_SIGNATURE_BYTES`
    long.

    Immich verifies the signature (SHA-256 RSA, against its own public key) and answers 400
    ``Invalid license key`` when it does not verify. Darkroom holds no Immich key, so it cannot
    tell a genuine signature from a forged one; it refuses, with Immich's answer, what cannot be
    a signature at all (a truncated, padded or altered key, as Immich's e2e test sends).
    """
    text = activation_key.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        return False
    return len(raw) >= _MIN_SIGNATURE_BYTES


def _check(data: LicenseKey, prefix: str) -> None:
    """Validate a licence key as Immich does before storing it.

    Raises:
        BadRequest: The key does not match the spec's pattern, has the other kind's prefix, the
            activation key is empty, or it cannot be a signature (:func:`_can_be_signature`).
    """
    if not _LICENSE_KEY.match(data.license_key):
        raise BadRequest(
            "licenseKey must match /^IM(SV|CL)(-[\\dA-Za-z]{4}){8}$/ regular expression"
        )
    if not data.license_key.startswith(prefix):
        raise BadRequest("Invalid license key")
    if not data.activation_key:
        raise BadRequest("activationKey should not be empty")
    if not _can_be_signature(data.activation_key):
        raise BadRequest("Invalid license key")


async def read_license(deps: Deps, user_id: uuid.UUID | None) -> LicenseResponse:
    """The stored licence of ``user_id`` (the server's when None).

    Raises:
        NotFound: None is stored (Immich answers 404 "License not found").
    """
    if user_id is None:
        stored = await system_metadata.get_server_license(deps.pool)
    else:
        stored = await system_metadata.get_user_license(deps.pool, user_id)
    if stored is None:
        raise NotFound("License not found")
    return license_response(stored)


async def store_license(deps: Deps, user_id: uuid.UUID | None, data: LicenseKey) -> LicenseResponse:
    """Check and store ``data`` as the licence of ``user_id`` (the server's when None; an
    ``IMSV-`` key, else an ``IMCL-`` one), activated now, replacing any.

    Raises:
        BadRequest: The key is malformed or of the other kind.
    """
    _check(data, SERVER_PREFIX if user_id is None else USER_PREFIX)
    if user_id is None:
        stored = await system_metadata.set_server_license(
            deps.pool, data.license_key, data.activation_key
        )
    else:
        stored = await system_metadata.set_user_license(
            deps.pool, user_id, data.license_key, data.activation_key
        )
    return license_response(stored)


async def forget_license(deps: Deps, user_id: uuid.UUID | None) -> None:
    """Delete the licence of ``user_id`` (the server's when None); nothing when none is stored."""
    if user_id is None:
        await system_metadata.delete(deps.pool, system_metadata.LICENSE)
    else:
        await system_metadata.delete_user_license(deps.pool, user_id)
