"""The exceptions of the bus: one that means "do not retry", and those of request/reply."""

from __future__ import annotations

import nats.errors


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help (a corrupt file, an asset that is gone).

    The runner dead-letters the message at once (``DeadLetter.permanent`` is True) and
    terminates it, so it is never redelivered. Every other exception is treated as transient:
    the message is redelivered with backoff until ``max_deliver`` attempts, then dead-lettered.
    The split follows Sentry's arroyo (``InvalidMessage`` vs. everything else).
    """


class Gone(Exception):  # noqa: N818 - named for what it says, like PermanentError's peers
    """Raised by a handler when the asset its message is about was deleted meanwhile.

    Deleting an asset makes every job still queued or running for it pointless: the runner
    acknowledges the message quietly (no retry, no dead letter, no ``AssetFailed``). The runner
    also checks by itself, before running a handler and after a failure, whether the asset still
    exists (``Bus.run(asset_exists=...)``), so a handler raises this only where it learns it
    first, e.g. when recording its result finds the asset row gone.
    """


class Unavailable(Exception):
    """Raised by a handler when a server it needs (PostgreSQL, the object store) is unreachable
    for now: retrying later can succeed.

    An event handler raising it is retried in place while the server stays down, without using
    up the message's attempts (:mod:`darkroom_bus.runner`, step 4). An RPC handler raising it
    answers an error reply of kind ``"Unavailable"``, which :meth:`Bus.request` raises as
    :class:`RpcRetryLater`, so the caller can tell "try again later" from a failure.
    """


class PublishError(Exception):
    """An event could not be stored in the stream (e.g. no stream captures its subject)."""


class RpcError(Exception):
    """A request/reply call failed: the server raised, or its reply could not be decoded.

    Attributes:
        subject: The request subject (without the bus namespace).
        remote_type: Name of the exception class raised by the serving handler, when the
            failure happened there; None for failures on the client side.
    """

    def __init__(self, message: str, *, subject: str, remote_type: str | None = None) -> None:
        super().__init__(message)
        self.subject = subject
        self.remote_type = remote_type


class RpcTransient(RpcError):
    """A request/reply call failed for a reason that may pass: retrying later can succeed."""


class RpcUnavailable(RpcTransient):
    """Nobody serves the request subject (NATS answered "no responders")."""


class RpcRetryLater(RpcTransient):
    """The serving handler raised :class:`Unavailable` (a server it needs is down for now)."""


class RpcTimeout(RpcTransient):
    """No reply arrived within the timeout (the server may still be working on it)."""


#: nats-py errors of a connection to NATS that is closed, reconnecting or cannot reach any
#: server: retrying later can succeed.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.NoServersError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.TimeoutError,
)


#: A handler failure that means a server it needs is down, on the bus's side: the connection
#: errors above, JetStream not answering yet (a restarted nats-server recovering its streams
#: answers "no responders" for a moment), a service restarting (no responders on its RPC
#: subject) and :class:`Unavailable`. ``Bus.run`` retries such a job in place; services add
#: the database's and the object store's errors.
SERVER_DOWN_ERRORS: tuple[type[Exception], ...] = (
    *CONNECTION_ERRORS,
    nats.errors.NoRespondersError,
    Unavailable,
    RpcUnavailable,
    RpcRetryLater,
)


def is_server_down(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc``, or the exception it was raised from, is one of ``kinds`` (a bus's
    ``server_down_errors``): a server it needed is down, not the request's or message's fault."""
    return isinstance(exc, kinds) or isinstance(exc.__cause__, kinds)
