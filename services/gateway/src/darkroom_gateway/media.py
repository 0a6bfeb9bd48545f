"""Serve a stored object over HTTP: streaming, ``Range`` (RFC 9110 §14), ``ETag`` revalidation."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal
from urllib.parse import quote

from darkroom_media import safe_file_name
from darkroom_storage import Storage
from litestar import Request
from litestar.response import Response, Stream

from darkroom_gateway.errors import ApiError
from darkroom_gateway.http import is_head

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: Objects up to this size (bytes) are sent from one read instead of a stream: thumbnails
#: (about 10-60 KiB) and small previews, so a tile costs one file read and no chunked body.
SMALL_OBJECT_BYTES = 256 * 1024
#: What the ASCII fallback of ``filename=`` may hold: RFC 9110 ``qdtext`` without ``\\`` (some
#: clients do not unescape quoted-pairs), i.e. printable ASCII but ``"`` and ``\\``.
_NOT_QDTEXT = re.compile(r'[^\x20-\x7e]|["\\]')


class RangeNotSatisfiable(ApiError):
    """416: the requested byte range lies outside the object; the answer says the object's
    size in ``Content-Range: bytes */<size>`` (RFC 9110 section 14.4, as Express ``send``
    answers Immich's media routes)."""

    status = 416

    def __init__(self, size: int) -> None:
        super().__init__("Range not satisfiable")
        self.headers = {"Content-Range": f"bytes */{size}"}


def content_disposition(
    filename: str, disposition: Literal["attachment", "inline"] = "attachment"
) -> str:
    """A ``Content-Disposition`` value naming ``filename`` safely (RFC 6266, RFC 8187).

    The name is first made a safe base name (:func:`darkroom_media.safe_file_name`: no path,
    no control characters, so no CR/LF). It is sent twice: as ``filename*=UTF-8''...``
    (percent-encoded, every byte but letters, digits and ``_.-~``), which current clients use,
    and as a quoted ASCII ``filename=`` fallback for those that do not read ``filename*``
    (RFC 6266 section 4.3 recommends exactly this pair): accents dropped after NFKD, other
    non-ASCII characters, ``"`` and ``\\`` replaced by ``_``, then made safe again (NFKD may
    turn a full-width solidus into ``/``).

    Args:
        filename: Any name, e.g. an asset's stored ``originalFileName``.
        disposition: ``attachment`` (save) or ``inline`` (show).

    Returns:
        E.g. ``attachment; filename="cafe.jpg"; filename*=UTF-8''caf%C3%A9.jpg``.
    """
    name = safe_file_name(filename)
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_name = safe_file_name(_NOT_QDTEXT.sub("_", folded))
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single-range ``Range`` header into an inclusive (start, end) byte range.

    Multi-range and malformed headers are ignored (the whole object is served), as RFC 9110
    allows.

    Raises:
        RangeNotSatisfiable: The range starts at or past the end of the object.
    """
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):  # suffix range: the last N bytes
        n = int(m.group(2))
        if n == 0:
            raise RangeNotSatisfiable(size)
        return max(size - n, 0), size - 1
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(size)
    return start, min(end, size - 1)


async def serve_object(
    request: Request,
    storage: Storage,
    key: str,
    *,
    media_type: str,
    size: int,
    etag: str,
    filename: str | None = None,
    disposition: Literal["attachment", "inline"] = "attachment",
    cache_control: str = "private, max-age=86400, no-transform",
    offset: int | None = None,
) -> Response[bytes] | Stream:
    """Stream ``key`` (``size`` bytes) with Range, ETag and Content-Disposition support.

    Args:
        request: For the Range and If-None-Match headers.
        storage: Where the object lives.
        key: Object key.
        media_type: Content-Type to send.
        size: Object size in bytes (with ``offset``: the size of the part served).
        etag: Strong validator (without quotes), e.g. the checksum.
        filename: When given, named in a Content-Disposition (made safe by
            :func:`content_disposition`).
        disposition: How ``filename`` is sent: ``attachment`` (save) or ``inline`` (show, as
            Immich's ``sendFile`` sends every asset file).
        cache_control: Cache-Control header.
        offset: When given, serve the part of the object starting at this byte, ``size``
            long, as if it were the whole object (an HLS segment inside its ladder's object).

    Returns:
        200 with the whole object, 206 with a part, or 304 when the client's copy is current;
        for a HEAD request (:func:`~darkroom_gateway.http.is_head`) the same status and headers,
        the object only looked up, never read.

    Raises:
        RangeNotSatisfiable: 416 for a range past the end.
        StorageNotFound: The object is missing (GET's read and HEAD's look-up alike).
    """
    quoted = f'"{etag}"'
    headers = {"ETag": quoted, "Accept-Ranges": "bytes", "Cache-Control": cache_control}
    if filename is not None:
        headers["Content-Disposition"] = content_disposition(filename, disposition)
    inm = request.headers.get("if-none-match")
    if inm and (inm.strip() == "*" or quoted in [t.strip() for t in inm.split(",")]):
        return Response(b"", status_code=304, headers=headers)
    byte_range = parse_range(request.headers.get("range"), size)
    status, length = 200, size
    if byte_range is not None:
        status, length = 206, byte_range[1] - byte_range[0] + 1
        headers["Content-Range"] = f"bytes {byte_range[0]}-{byte_range[1]}/{size}"
    if is_head(request):  # GET's status and headers, the object only looked up
        await storage.head(key)  # missing: the same error as GET's read
        headers["Content-Length"] = str(length)
        return Response(b"", status_code=status, media_type=media_type, headers=headers)
    if byte_range is None and offset is None and size <= SMALL_OBJECT_BYTES:
        # read at once (one read, no streamed body): a timeline screen asks for dozens
        return Response(await storage.get_bytes(key), media_type=media_type, headers=headers)
    headers["Content-Length"] = str(length)
    if byte_range is None and offset is None:
        stream = await storage.open(key)
    else:  # storage ranges are [start, end) like slices; HTTP ranges are inclusive
        first = (offset or 0) + (byte_range[0] if byte_range is not None else 0)
        stream = await storage.open(key, start=first, end=first + length)
    return Stream(stream, media_type=media_type, status_code=status, headers=headers)
