"""Which asyncpg errors mean "PostgreSQL is unreachable for now" and which "the input is bad".

Callers (the gateway's HTTP error mapping, RPC handlers) use these tuples in ``except`` clauses
or exception-handler tables, so that every service classifies database failures the same way.
"""

from __future__ import annotations

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base

__all__ = ["CONNECTION_ERRORS", "INPUT_ERRORS"]

#: The server cannot be reached, is starting up, shutting down or restarting, or has no free
#: connection: retrying later can succeed. SQLSTATE class 08 (connection exception), 57P01-57P03
#: (admin/crash shutdown, cannot connect now), 53300 (too many connections); asyncpg's
#: ``ConnectionDoesNotExistError`` (the connection closed mid-query) and
#: ``InternalClientError`` (seen when a pooled connection the server terminated at shutdown is
#: used again: "cannot switch to state 12; another operation (2) is in progress"); and the socket
#: errors of a refused, reset or timed-out connection (``ConnectionError``, ``TimeoutError``).
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg_base.InternalClientError,
    ConnectionError,
    TimeoutError,
)

#: A value sent to the server does not fit its column or type: SQLSTATE class 22 (data
#: exception: numeric value out of range, invalid byte sequence such as NUL in text...) and
#: asyncpg's own check of query arguments before sending (``invalid input for query argument``).
#: When the value came from a request, the client is at fault.
INPUT_ERRORS: tuple[type[Exception], ...] = (asyncpg.DataError, asyncpg_base.DataError)
