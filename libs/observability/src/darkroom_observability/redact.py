"""Take secrets and request bodies out of log events before they are rendered.

:func:`redact_secrets` is a structlog processor that
:func:`~darkroom_observability.configure_logging` runs on every event, structlog's and the
stdlib's alike (uvicorn, litestar, nats, asyncpg...), after the exception is rendered and
before the line is written. It replaces with :data:`REDACTED`:

- the value under a secret-named key, in the event and in any dict, list or tuple inside it
  (``authorization``, ``cookie``, ``set-cookie``, ``x-api-key``, ``x-immich-share-key``, and any
  name ending in ``password``, ``secret``, ``token``, ``apiKey``... see :func:`is_secret_name`),
  and the second item of a ``(name, value)`` header pair with such a name;
- in every string (exception messages included): Python ``bytes`` literals (request and
  response payloads in reprs), the password of ``scheme://user:password@host`` URLs (and the
  token of ``nats://token@host``), ``Bearer <token>``, and the value of secret-named
  ``name=value`` / ``name: value`` / ``"name": "value"`` pairs, which covers query parameters
  (``?key=``, ``&apiKey=``, ``&sessionKey=``, ``sharedLinkToken=``), cookies and headers in reprs;
- ``bytes`` values, whole (a payload is never logged).

Names follow the Immich API's credentials (Immich 3.1.0 OpenAPI spec: the ``securitySchemes``
``bearer``, ``immich_access_token`` cookie and ``x-api-key``, and the shared links' ``key``
query parameter; Immich's server also reads ``x-immich-user-token`` and ``x-immich-share-key``
headers) plus the usual secret words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = ["REDACTED", "is_secret_name", "redact_secrets", "redact_text", "redact_value"]

REDACTED = "[REDACTED]"
"""What a secret is replaced with."""

_MAX_DEPTH = 12
"""Containers nested deeper than this are rendered as (redacted) text, so a cycle ends."""

# Normalised names (lower case, letters and digits only) whose value is a secret anywhere.
_SECRET_NAMES = frozenset(
    {"authorization", "cookie", "pin", "jwt", "body", "credential", "credentials"}
)
_SECRET_SUFFIXES = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "sessionkey",
    "sharekey",
    "secretkey",
    "privatekey",
    "accesskey",
    "cookie",
    "authorization",
    "pincode",
    "signature",
)
# Secret only inside a nested mapping (query parameters, headers): at the top of an event,
# ``key`` is a storage object key by this project's convention (``log.info(..., key=key)``).
_NESTED_SECRET_NAMES = frozenset({"key", "sig"})

_WORDS = (
    r"password|passwd|pwd|secret|token|api[-_]?key|session[-_]?key|share[-_]?key|private[-_]?key"
    r"|access[-_]?key|cookie|authorization|pin[-_]?code|signature|credentials?|jwt"
)
_NAME = rf"(?:[\w.-]*?(?:{_WORDS})[\w-]*|key|pin|sig)"

_BYTES_LITERAL = re.compile(r"""\bb(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q)""", re.DOTALL)
_URL_PASSWORD = re.compile(
    r"""(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@'"]*):(?P<pw>[^\s@/'"]*)@""", re.IGNORECASE
)
_URL_TOKEN = re.compile(r"""(?P<head>\b(?:nats|tls)://)(?P<token>[^\s:/@'"]+)@""", re.IGNORECASE)
_QUOTED_PAIR = re.compile(
    rf"""(?P<head>(?P<q>['"])\b{_NAME}(?P=q)\s*[:,=]\s*b?(?P<vq>['"]))"""
    r"""(?P<val>(?:\\.|(?!(?P=vq)).)*)(?P=vq)""",
    re.IGNORECASE | re.DOTALL,
)
_BEARER = re.compile(r"\b(?P<head>bearer\s+)(?!\[REDACTED\])[\w.~+/-]+=*", re.IGNORECASE)
_PAIR = re.compile(
    rf"""(?P<head>\b{_NAME}\\?["']?\s*[:=]\s*(?>(?:b?\\?["'])?))"""
    r"""(?!(?:bearer\s+)?\[REDACTED\])(?P<val>(?:(?:bearer|basic)\s+)?[^\s"'\\&;,)}\]>#]+)""",
    re.IGNORECASE,
)


def is_secret_name(name: str | bytes, *, nested: bool = True) -> bool:
    """Whether the value under ``name`` (a key, header or parameter name) is a secret.

    Case, ``-`` and ``_`` do not matter: ``X-Api-Key``, ``x_api_key`` and ``apiKey`` are one
    name.

    Args:
        name: The name.
        nested: False for a top-level field of a log event, where ``key`` means a storage key
            and is not secret; True inside a nested mapping (headers, query parameters).

    Returns:
        True for ``authorization``, ``cookie``, ``pin``, ``body``, ``credentials``..., names
        ending in ``password``, ``secret``, ``token``, ``apikey``, ``sharekey``, ``cookie``,
        ``signature``...; and, when ``nested``, ``key`` and ``sig``.
    """
    text = name.decode("latin-1") if isinstance(name, bytes) else name
    normalised = re.sub(r"[^a-z0-9]", "", text.lower())
    return (
        normalised in _SECRET_NAMES
        or normalised.endswith(_SECRET_SUFFIXES)
        or (nested and normalised in _NESTED_SECRET_NAMES)
    )


def redact_text(text: str) -> str:
    """Replace the secrets and payloads a string carries with :data:`REDACTED`.

    Args:
        text: Any text: a message, an exception message or repr, a URL, a header value.

    Returns:
        ``text`` with bytes literals (``b'...'``), URL passwords, ``Bearer`` tokens and the
        values of secret-named pairs (``password=...``, ``?apiKey=...``, ``"token": "..."``,
        ``'cookie': '...'``) replaced; the rest as it was.
    """
    text = _BYTES_LITERAL.sub(lambda m: f"b{m['q']}{REDACTED}{m['q']}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}:{REDACTED}@", text)
    text = _URL_TOKEN.sub(lambda m: f"{m['head']}{REDACTED}@", text)
    text = _QUOTED_PAIR.sub(lambda m: f"{m['head']}{REDACTED}{m['vq']}", text)
    text = _BEARER.sub(lambda m: f"{m['head']}{REDACTED}", text)
    return _PAIR.sub(lambda m: f"{m['head']}{REDACTED}", text)


def redact_value(value: Any, *, _depth: int = 0) -> Any:
    """Redact a log value, recursively through mappings, lists, tuples and sets.

    Args:
        value: Any value of a log event.

    Returns:
        Strings through :func:`redact_text`; ``bytes`` as ``[REDACTED <n> bytes]``; numbers,
        booleans and None as they are; mappings as dicts with secret-named keys' values
        replaced (:func:`is_secret_name`); lists and tuples item by item (a ``(name, value)``
        pair with a secret name keeps only its name, as text), sets as lists; anything else by
        its ``repr()`` (what the renderers would write) through :func:`redact_text`.
    """
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[REDACTED {len(value)} bytes]"
    if _depth >= _MAX_DEPTH:
        return redact_text(repr(value))
    if isinstance(value, Mapping):
        return {
            key: (
                REDACTED
                if isinstance(key, str | bytes) and is_secret_name(key)
                else redact_value(item, _depth=_depth + 1)
            )
            for key, item in value.items()
        }
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str | bytes):
        name = value[0]
        if is_secret_name(name):  # a header: its name stays readable
            return (name.decode("latin-1") if isinstance(name, bytes) else name, REDACTED)
    if isinstance(value, list | tuple | set | frozenset):
        items = [redact_value(item, _depth=_depth + 1) for item in value]
        return items if isinstance(value, list | set | frozenset) else tuple(items)
    structlog_form = getattr(value, "__structlog__", None)
    text = structlog_form() if callable(structlog_form) else repr(value)
    return redact_text(str(text))


def redact_secrets(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: redact every field of the event (see the module docstring).

    Run it after the exception is rendered (``exception`` is then data: its messages are
    redacted like any string) and before the renderer.

    Args:
        logger: The wrapped logger (unused).
        method_name: The log method's name (unused).
        event_dict: The event being logged.

    Returns:
        ``event_dict`` with secret-named fields set to :data:`REDACTED` (a top-level ``key``,
        the storage key, is kept) and every other value through :func:`redact_value`.
    """
    for name, value in event_dict.items():
        event_dict[name] = REDACTED if is_secret_name(name, nested=False) else redact_value(value)
    return event_dict
