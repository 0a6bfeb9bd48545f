"""The HTTP server of the gateway: uvicorn with httptools, a limit on request heads, and request
bodies handed to the application without copying.

uvicorn's httptools protocol has no limit on the request line and header fields: httptools
buffers a header value however long it is (an 8 MB header was accepted, slowly, and slowed every
other request). :class:`HeadLimitedProtocol` counts the bytes received while a request's head is
incomplete and answers ``431 Request Header Fields Too Large`` (RFC 6585 §5) once they pass the
limit, closing the connection without reading the rest.

uvicorn gathers each piece of a request body into a ``bytearray`` and hands the application a
``bytes`` copy of it: two copies (and two fresh ~250 KB buffers) per piece the socket gives,
~0.2 of the event loop's ~1.3 CPU seconds per GiB uploaded (issue #20 item 5).
:meth:`HeadLimitedProtocol.on_body` hands over the parser's piece itself when nothing is waiting
to be read (the usual case: the application reads each piece as it comes); ``bytes()`` of a
``bytes`` object is that object, so uvicorn's ``receive`` passes it on uncopied.
"""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from uvicorn.protocols.http.httptools_impl import HIGH_WATER_LIMIT, HttpToolsProtocol

from darkroom_gateway.errors import CORRELATION_HEADER, error_body, new_correlation_id

log = structlog.get_logger()

#: RFC 6585 §5.
_STATUS = 431
#: Seconds a refused connection stays open, its input read and dropped, before it is closed: a
#: client still sending its head would otherwise get a TCP reset that can destroy the 431 before
#: it reads it (nginx's ``lingering_close``, whose ``lingering_timeout`` is 5 s).
LINGER_S = 5.0


class HeadLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request whose head exceeds ``max_head_bytes``.

    The count runs from the first byte of a request to the end of its header fields (the
    request line and headers, what ``settings.max_header_bytes`` bounds); a body is not counted.
    A head still incomplete after more than ``max_head_bytes`` gets a 431 with Immich's error
    body; the connection is half-closed, what the client still sends is dropped unparsed, and
    it is closed :data:`LINGER_S` later. The parser buffers at most the limit plus one read.

    Attributes:
        max_head_bytes: The limit in bytes; set by :func:`protocol_class`.
    """

    max_head_bytes = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_open = True  # between a request's first byte and its headers' end
        self._head_bytes = 0
        self._refused = False

    def data_received(self, data: bytes) -> None:
        """Feed ``data`` to the parser; refuse the request once its head is too large."""
        if self._refused:  # lingering after the 431: drop what the client still sends
            return
        if self._head_open:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._head_open
            and self._head_bytes > self.max_head_bytes
            and not self.transport.is_closing()
        ):
            self._refuse()

    def on_headers_complete(self) -> None:
        """The head is complete: stop counting (the body is the app's to limit)."""
        self._head_open = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        """A piece of the request body: kept as it is when nothing else is waiting to be read,
        else appended as uvicorn does (same flow control: reading pauses past
        ``HIGH_WATER_LIMIT`` unread bytes until the application asks for more)."""
        cycle = self.cycle
        if cycle.body or cycle.response_complete or self.parser.should_upgrade():
            super().on_body(body)
            return
        cycle.body = body  # type: ignore[assignment]  # receive() hands out bytes(body): itself
        if len(body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.message_event.set()

    def on_message_complete(self) -> None:
        """The request is complete: the next bytes on the connection start a new head."""
        super().on_message_complete()
        self._head_open = True

    def _refuse(self) -> None:
        client = f"{self.client[0]}:{self.client[1]}" if self.client else None
        log.warning(
            "http.head_too_large", client=client, received=self._head_bytes,
            limit=self.max_head_bytes,
        )  # fmt: skip
        message = f"Request line and headers exceed {self.max_head_bytes} bytes"
        body = msgspec.json.encode(error_body(message))
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        defaults = self.server_state.default_headers  # date, server
        head += [name + b": " + value + b"\r\n" for name, value in defaults]
        head += [
            b"content-type: application/json\r\n",
            f"{CORRELATION_HEADER}: {new_correlation_id()}\r\n".encode(),
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"x-content-type-options: nosniff\r\n",
            b"cache-control: no-store\r\n",
            b"connection: close\r\n\r\n",
        ]
        self._refused = True
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the 431 is all; keep reading until the linger ends
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()


def protocol_class(max_head_bytes: int) -> type[HeadLimitedProtocol]:
    """The protocol class to give uvicorn (``http=``), limiting request heads.

    Args:
        max_head_bytes: Most bytes of a request line and its headers (``max_header_bytes``).

    Returns:
        A subclass of :class:`HeadLimitedProtocol` with that limit.
    """
    return type("HeadLimitedProtocol", (HeadLimitedProtocol,), {"max_head_bytes": max_head_bytes})
