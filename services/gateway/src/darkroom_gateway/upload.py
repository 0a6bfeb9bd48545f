"""Stream a multipart/form-data upload into object storage while computing its SHA-1.

The request body is never held in memory: python-multipart parses it as it arrives on the event
loop; each file part's pieces are gathered into batches of about :data:`BATCH_BYTES`, each
batch is hashed (``hashlib.sha1``) in a worker thread, then its pieces go through a small bounded
queue into ``Storage.put`` (so a slow store slows the client down instead of filling memory),
which writes them in another thread. Parsing batch *n + 1*, hashing batch *n* and writing batch
*n - 1* overlap (hashlib releases the GIL on pieces this large), so on two cores the event loop
is left with receiving and parsing: issue #20 item 5, where hashing on the event loop and a task
per piece to queue it cost the loop ~1 of its ~2 CPU seconds per GiB uploaded. The pieces are
never copied into a larger buffer. Form fields are small and kept as text. A body that ends
before the multipart terminator is a truncated upload: every object written for it is deleted
and :class:`TruncatedUpload` is raised.

Each route names the file fields it takes and the most bytes of each; a file part under any
other name, or a second part under the same name, is refused before a byte of it is stored, and a
part growing past its limit is refused as it streams. Whatever the request had staged by then is
deleted, so a refused upload leaves nothing in ``staging/``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import msgspec
from darkroom_storage import Storage
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from darkroom_gateway.errors import ApiError, BadRequest

#: Fields larger than this are refused (they are dates, names and flags).
MAX_FIELD_BYTES = 64 * 1024
#: Headers of one part larger than this are refused.
MAX_PART_HEADER_BYTES = 16 * 1024
#: Longest multipart boundary: 70 characters (RFC 2046 section 5.1.1, ``boundary := 0*69<bchars>
#: bcharsnospace``).
MAX_BOUNDARY_CHARS = 70
#: Most bytes of an XMP sidecar (``sidecarData``): 10 MiB. Sidecars are text of a few KiB (a
#: Lightroom XMP with its history stays well under 1 MiB); the limit bounds what the metadata
#: service reads into memory.
MAX_SIDECAR_BYTES = 10 * 1024 * 1024
#: Bytes of a file part gathered before they are hashed in one worker-thread call and handed to
#: storage (1 MiB, the filesystem back end's write size): one thread hop per MiB, not per piece.
#: The body arrives in pieces of up to ~250 KB (uvloop's read buffer), so a batch is a few.
BATCH_BYTES = 1 << 20
_BOUNDARY_CHARS = re.compile(r"[\x21-\x7e ]*[\x21-\x7e]")


class PayloadTooLarge(ApiError):
    """413: a file part is larger than its field allows."""

    status = 413


class TruncatedUpload(BadRequest):
    """The body ended before the multipart terminator (client went away or sent less)."""


class StagedFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file part stored at ``key``; ``sha1`` is hex; ``size`` in bytes."""

    field: str
    filename: str
    key: str
    sha1: str
    size: int


class ParsedUpload(msgspec.Struct, frozen=True, kw_only=True):
    """The form fields (text) and the staged file parts of one upload, by field name."""

    fields: dict[str, str]
    files: dict[str, StagedFile]


class _Part:
    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.header_bytes = 0
        self.name = ""
        self.filename: str | None = None
        self.text = bytearray()
        self.sha1 = hashlib.sha1()  # noqa: S324 - SHA-1 is Immich's checksum, not a security hash
        self.size = 0
        self.queue: asyncio.Queue[bytes | None] | None = None
        self.task: asyncio.Task[Any] | None = None
        self.key = ""
        self.pending: list[bytes] = []  # pieces not yet handed to the hashing thread
        self.pending_bytes = 0
        self.hashing: asyncio.Future[list[bytes]] | None = None  # the batch being hashed


def _hash(sha1: Any, pieces: list[bytes]) -> list[bytes]:
    """Feed one batch's pieces to ``sha1`` in order and return them (run in a worker thread:
    hashlib releases the GIL for pieces over 2 KiB)."""
    for piece in pieces:
        sha1.update(piece)
    return pieces


async def _chunks(queue: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
    while (chunk := await queue.get()) is not None:
        yield chunk


async def stream_upload(
    body: AsyncIterator[bytes],
    content_type: str,
    storage: Storage,
    *,
    files: Mapping[str, int | None],
    staging_prefix: str,
    queue_chunks: int = 8,
) -> ParsedUpload:
    """Parse a multipart body, streaming each file part to ``<staging_prefix>/<uuid>``.

    Args:
        body: The raw request body as it arrives.
        content_type: The request's Content-Type header (must carry the boundary).
        storage: Where file parts go.
        files: The file fields the route takes, each with its most bytes (None: no limit
            here, e.g. for an original the quota then bounds), e.g.
            ``{"assetData": None, "sidecarData": MAX_SIDECAR_BYTES}``. At most one part each.
        staging_prefix: Key prefix for staged parts, e.g. ``staging/<userId>``.
        queue_chunks: Chunks buffered per file part before the reader waits for storage.

    Returns:
        The fields and staged files. The caller owns the staged objects (moves or deletes them).

    Raises:
        BadRequest: Not multipart, no boundary or one longer than 70 characters, malformed, a
            field too large, a file part under a name not in ``files`` or a second one under
            the same name (refused before it is staged).
        PayloadTooLarge: A file part grew past its limit in ``files``.
        TruncatedUpload: The body ended early.

        Whatever the error, nothing this request staged is left behind.
    """
    ctype, params = parse_options_header(content_type)
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise BadRequest("Expected multipart/form-data with a boundary")
    boundary = params[b"boundary"].decode("latin-1")
    if len(boundary) > MAX_BOUNDARY_CHARS or not _BOUNDARY_CHARS.fullmatch(boundary):
        raise BadRequest(
            f"Invalid multipart boundary: 1 to {MAX_BOUNDARY_CHARS} printable ASCII characters"
            " (RFC 2046)"
        )
    events: list[tuple[str, Any]] = []
    current: _Part | None = None
    done: list[_Part] = []
    seen_files: set[str] = set()
    ended = False

    def on_part_begin() -> None:
        events.append(("begin", None))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        events.append(("hfield", data[start:end]))

    def on_header_value(data: bytes, start: int, end: int) -> None:
        events.append(("hvalue", data[start:end]))

    def on_header_end() -> None:
        events.append(("hend", None))

    def on_headers_finished() -> None:
        events.append(("headers", None))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", bytes(data[start:end])))

    def on_part_end() -> None:
        events.append(("end", None))

    def on_end() -> None:
        events.append(("finish", None))

    callbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
        "on_end": on_end,
    }
    try:
        parser = MultipartParser(params[b"boundary"], callbacks)  # type: ignore[arg-type]
    except FormParserError as exc:  # anything our check above lets through and it does not
        raise BadRequest(f"Invalid multipart boundary: {exc}") from exc

    async def handle(kind: str, value: Any) -> None:
        nonlocal current, ended
        if kind == "begin":
            current = _Part()
            return
        part = current
        if part is None:
            if kind == "finish":
                ended = True
            return
        if kind == "hfield":
            part.header_field += value
            part.header_bytes += len(value)
        elif kind == "hvalue":
            part.header_value += value
            part.header_bytes += len(value)
        elif kind == "hend":
            # Latin-1 keeps the header's bytes as sent; parse_options_header re-encodes it the
            # same way, and the UTF-8 name/filename are decoded from its bytes below.
            name = part.header_field.decode("latin-1").lower()
            part.headers[name] = part.header_value.decode("latin-1")
            part.header_field.clear()
            part.header_value.clear()
        elif kind == "headers":
            _, disp = parse_options_header(part.headers.get("content-disposition", ""))
            part.name = disp.get(b"name", b"").decode("utf-8", "replace")
            raw_filename = disp.get(b"filename")
            part.filename = (
                None if raw_filename is None else raw_filename.decode("utf-8", "replace")
            )
            if part.filename is not None:
                if part.name not in files:
                    raise BadRequest(f"Unexpected file field {part.name!r}")
                if part.name in seen_files:
                    raise BadRequest(f"Only one {part.name!r} file may be sent")
                seen_files.add(part.name)
                part.key = f"{staging_prefix}/{uuid.uuid4()}"
                part.queue = asyncio.Queue(maxsize=queue_chunks)
                # Staged objects are always moved (ingest, profile image) and a move makes
                # them durable: flushing them to disk here as well would only add fsyncs.
                part.task = asyncio.create_task(
                    storage.put(part.key, _chunks(part.queue), durable=False)
                )
        elif kind == "data":
            if part.queue is not None:
                part.size += len(value)
                limit = files[part.name]
                if limit is not None and part.size > limit:
                    raise PayloadTooLarge(f"{part.name} is larger than {limit} bytes")
                part.pending.append(value)
                part.pending_bytes += len(value)
                if part.pending_bytes >= BATCH_BYTES:
                    await _flush(part)
            else:
                part.text += value
                if len(part.text) > MAX_FIELD_BYTES:
                    raise BadRequest(f"Form field {part.name!r} is too large")
        elif kind == "end":
            if part.queue is not None and part.task is not None:
                await _flush(part, last=True)
                await _feed(part, None)
                await part.task
            done.append(part)
            current = None
        if part.header_bytes > MAX_PART_HEADER_BYTES:
            raise BadRequest("Multipart part headers are too large")

    try:
        async for chunk in body:
            try:
                parser.write(chunk)
            except Exception as exc:  # python-multipart raises its own errors on bad framing
                raise BadRequest(f"Malformed multipart body: {exc}") from exc
            batch, events[:] = list(events), []
            for kind, value in batch:
                await handle(kind, value)
        parser.finalize()
        batch, events[:] = list(events), []
        for kind, value in batch:
            await handle(kind, value)
        if not ended:
            raise TruncatedUpload("The upload ended before the multipart body was complete")
    except BaseException:
        await _abort([*done, *([current] if current else [])], storage)
        raise
    fields = {p.name: p.text.decode("utf-8", "replace") for p in done if p.queue is None}
    staged = {
        p.name: StagedFile(
            field=p.name, filename=p.filename or "", key=p.key, sha1=p.sha1.hexdigest(), size=p.size
        )
        for p in done
        if p.queue is not None
    }
    return ParsedUpload(fields=fields, files=staged)


async def _flush(part: _Part, *, last: bool = False) -> None:
    """Hand the pending pieces to a worker thread to be hashed, after handing the previous
    batch's pieces to storage (its hash awaited first: SHA-1 takes the batches in order); with
    ``last`` (the part ended), also wait for this batch's hash and hand its pieces over."""
    await _hand_over(part)
    if part.pending:
        pieces, part.pending, part.pending_bytes = part.pending, [], 0
        part.hashing = asyncio.get_running_loop().run_in_executor(None, _hash, part.sha1, pieces)
    if last:
        await _hand_over(part)


async def _hand_over(part: _Part) -> None:
    """Wait for the batch being hashed, if any, and put its pieces on the part's queue."""
    hashing, part.hashing = part.hashing, None
    if hashing is not None:
        for piece in await hashing:
            await _feed(part, piece)


async def _feed(part: _Part, value: bytes | None) -> None:
    """Put a chunk (or the end marker) on the part's queue unless its writer already failed."""
    assert part.queue is not None and part.task is not None
    if not part.queue.full() and not part.task.done():
        part.queue.put_nowait(value)  # the common case, without a task per piece
        return
    put = asyncio.ensure_future(part.queue.put(value))
    finished, _ = await asyncio.wait({put, part.task}, return_when=asyncio.FIRST_COMPLETED)
    if part.task in finished and put not in finished:
        put.cancel()
        part.task.result()  # raises the storage error
        raise BadRequest("Storage stopped accepting the upload")


async def _abort(parts: list[_Part], storage: Storage) -> None:
    """Stop writers and delete every object this upload staged."""
    for part in parts:
        if part.task is None:
            continue
        if part.hashing is not None:
            part.hashing.cancel()  # a batch already in the thread finishes there, unused
        if not part.task.done():
            part.task.cancel()
        try:
            await part.task
        except BaseException:  # noqa: BLE001,S110 - the writer's own failure is not ours to raise
            pass
        await storage.delete(part.key)
