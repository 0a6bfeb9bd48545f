"""Errors raised by both storage back ends.

One hierarchy rooted at :class:`StorageError`, so callers can tell "this object is not there"
(:class:`NotFound`), "we are not allowed" (:class:`AccessDenied`, permanent: wrong credentials
or policy) and "try again later" (:class:`StorageUnavailable`, transient errors that outlived the
retries) apart without knowing which back end is in use.
"""

from __future__ import annotations

__all__ = ["AccessDenied", "NotFound", "StorageError", "StorageUnavailable"]


class StorageError(Exception):
    """Base of the errors this library raises on purpose (bad keys raise ``ValueError``)."""


class NotFound(StorageError, KeyError):
    """No object exists at the key.

    A ``KeyError`` too, so ``except KeyError`` works; unlike ``KeyError`` its ``str()`` is the
    plain message.

    Attributes:
        key: The missing key.
    """

    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(message or f"no object at key {key!r}")
        self.key = key

    def __str__(self) -> str:
        return str(self.args[0])


class AccessDenied(StorageError):
    """The object store refused the credentials or the operation (permanent, never retried)."""


class StorageUnavailable(StorageError):
    """A transient error (network, 5xx, throttling) persisted through every retry."""
