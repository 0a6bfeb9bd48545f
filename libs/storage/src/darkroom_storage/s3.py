"""S3 back end on the ``minio`` client (MinIO in compose/Helm; any SigV4 S3 service).

The minio client is blocking, so every call runs in a worker thread. Transient failures
(connection errors, timeouts, 5xx, throttling) are retried with tenacity, with exponential
backoff; everything else (``NoSuchKey``, access denied, bad requests) fails at once. urllib3's
own retries are switched off so that there is one retry policy, and it is logged.

Streamed puts go through minio's public ``put_object(data, length=-1, part_size=...)``, fed by
:class:`_ChunkReader`, a file-like object that pulls the caller's async chunks from the worker
thread. minio sends an object shorter than one part with one PUT and a longer one as a multipart
upload, and aborts the upload when reading or sending fails, so nothing appears at the key.
Parts go up one at a time (``num_parallel_uploads=1``), so memory is bounded by the part size,
not the object size: the part being gathered and the part minio sent last, and for a moment
about three parts while minio copies the new one to peel off its one-byte look-ahead (the
storage tests bound the first; ``bench/s3_upload.py`` measured a 3.4-part peak with 8 MiB parts).
Parts cannot be re-read from the caller's stream, so the streaming client retries each part
request itself (urllib3 ``Retry`` on connection errors and 5xx answers to PUT, logged as
``storage.retry``); a failure past those tries fails the put.

minio has no public ListMultipartUploads or AbortMultipartUpload, which :meth:`sweep_temp`
needs; those two requests are signed with minio's public ``minio.signer.sign_v4_s3`` and parsed
with its public ``ListMultipartUploadsResult``. Nothing here calls minio's private methods.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import io
import mimetypes
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import structlog
import tenacity
import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.credentials import Credentials
from minio.datatypes import ListMultipartUploadsResult
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.signer import sign_v4_s3
from urllib3 import BaseHTTPResponse

from darkroom_storage.base import (
    DEFAULT_CHUNK_SIZE,
    ObjectInfo,
    ObjectStream,
    Storage,
    check_range,
)
from darkroom_storage.errors import AccessDenied, NotFound, StorageError, StorageUnavailable
from darkroom_storage.keys import validate_key, validate_prefix
from darkroom_storage.settings import MIN_PART_SIZE, StorageSettings

__all__ = ["S3Storage", "is_transient"]

log = structlog.get_logger()

T = TypeVar("T")

#: S3 error codes worth retrying (AWS S3 API reference, "Error responses"; MinIO's start-up code).
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "OperationAborted",
        "XMinioServerNotInitialized",
    }
)
#: S3 error codes meaning "these credentials may not do this".
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "InvalidToken",
        "ExpiredToken",
        "AllAccessDisabled",
    }
)
#: S3 allows at most 10,000 parts per upload (AWS S3 user guide, "multipart upload limits").
MAX_PARTS = 10_000
_LIST_BATCH = 1000
#: SHA-256 of an empty body, the ``x-amz-content-sha256`` of a request without one (SigV4).
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def is_transient(exc: BaseException) -> bool:
    """Whether an error from the minio client is worth retrying.

    Transient: network errors (urllib3 errors, ``OSError``), HTTP 5xx/408/429 without an S3
    error body, and S3 errors whose code is in :data:`TRANSIENT_CODES`. Never ``NoSuchKey``,
    access errors or other client errors.
    """
    if isinstance(exc, S3Error):
        return exc.code in TRANSIENT_CODES
    if isinstance(exc, ServerError | InvalidResponseError):
        status = exc.status_code if isinstance(exc, ServerError) else exc._code
        return status >= 500 or status in (408, 429)
    return isinstance(exc, urllib3.exceptions.HTTPError | OSError)


class _PartRetry(urllib3.Retry):
    """urllib3's retry policy for the part requests of a streamed put, logged like tenacity's.

    Retries connection errors, read errors and 500/502/503/504 answers (PUT is idempotent:
    a part sent again replaces the same part number), with exponential backoff.
    """

    def increment(self, *args: Any, **kwargs: Any) -> Self:  # noqa: D102 - urllib3's contract
        new = super().increment(*args, **kwargs)
        response = kwargs.get("response")
        error = kwargs.get("error")
        log.warning(
            "storage.retry",
            backend="s3",
            op="upload part",
            attempt=len(new.history),
            error=repr(error) if error is not None else f"HTTP {getattr(response, 'status', '?')}",
            wait_s=round(new.get_backoff_time(), 3),
        )
        return new


class SourceFailed(OSError):
    """Raised inside minio's ``put_object`` when the caller's chunk source failed.

    An ``OSError``, so minio aborts its multipart upload; :meth:`S3Storage.put` re-raises the
    source's own exception (``__cause__``) to the caller.
    """


class _ChunkReader(io.RawIOBase):
    """A blocking, read-only file over an async iterable of chunks, for minio's ``put_object``.

    ``read(size)`` runs in minio's worker thread: it asks the event loop (one hop per call) to
    copy chunks into a buffer until ``size`` bytes are there or the source ends, and returns
    exactly those bytes (minio reads one part per call). The caller's chunks are released as
    soon as they are copied. After :meth:`stop`, or once the source has failed, every read
    raises :class:`SourceFailed`.

    Args:
        chunks: The caller's data.
        loop: The event loop the caller runs on (the iterable is only touched there).
    """

    def __init__(self, chunks: AsyncIterable[bytes], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._chunks = aiter(chunks)
        self._loop = loop
        self._rest = b""
        self._done = False
        self._stopped = False
        self._pending: concurrent.futures.Future[bytearray] | None = None

    def readable(self) -> bool:
        """True: this is a readable file."""
        return True

    async def _gather(self, size: int) -> bytearray:
        buf = bytearray(self._rest)
        self._rest = b""
        while len(buf) < size:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                self._done = True
                break
            need = size - len(buf)
            if len(chunk) > need:  # the rest starts the next read
                buf += chunk[:need]
                self._rest = bytes(chunk[need:])
            else:
                buf += chunk
        return buf

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (fewer only at the end of the source); blocks the thread.

        Raises:
            SourceFailed: The source raised (its exception is the ``__cause__``), or the put
                was stopped.
            ValueError: ``size`` is negative (minio always reads a bounded part).
        """
        if size is None or size < 0:
            raise ValueError("_ChunkReader reads a bounded size only")
        if self._stopped:
            raise SourceFailed("the put was cancelled")
        if self._done and not self._rest:
            return b""
        pending = asyncio.run_coroutine_threadsafe(self._gather(size), self._loop)
        self._pending = pending
        if self._stopped:
            # stop() ran between the check above and now, and saw no pending read to cancel:
            # without this the read waits for a source that never sends again
            pending.cancel()
        try:
            buf = pending.result()
        except BaseException as exc:
            self._stopped = True
            raise SourceFailed(f"the data source failed: {exc!r}") from exc
        finally:
            self._pending = None
        data = bytes(buf)
        del buf
        return data

    def stop(self) -> None:
        """Make the current and every later read fail (called on the event loop)."""
        self._stopped = True
        if self._pending is not None:
            self._pending.cancel()


def _endpoint(settings: StorageSettings) -> tuple[str, bool]:
    """Split ``s3_endpoint`` into minio's ``host:port`` and the TLS flag."""
    endpoint = settings.s3_endpoint or ""
    if "://" not in endpoint:
        return endpoint.rstrip("/"), settings.s3_secure
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/"):
        raise ValueError(f"s3_endpoint must be host:port or http(s)://host:port, got {endpoint!r}")
    return parts.netloc, parts.scheme == "https"


class S3Storage(Storage):
    """Objects in one S3 bucket.

    Build it with :func:`darkroom_storage.open_storage` (which also creates the bucket), or
    directly for tests of retry behaviour.

    Args:
        settings: Endpoint, credentials, bucket, region, part size.
        attempts: Tries per operation (and per multipart part) before giving up.
        backoff: First wait between tries in seconds; doubles each time, capped at 10 s.
        connect_timeout: Seconds to open a connection.
        read_timeout: Seconds to wait for response bytes.
    """

    def __init__(
        self,
        settings: StorageSettings,
        *,
        attempts: int = 4,
        backoff: float = 0.2,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
    ) -> None:
        endpoint, secure = _endpoint(settings)
        self.bucket = settings.s3_bucket
        self.endpoint = endpoint
        self._access_key = settings.s3_access_key or ""
        self._credentials = Credentials(self._access_key, settings.s3_secret_key or "")
        self._region = settings.s3_region
        self._scheme = "https" if secure else "http"
        self._part_size = settings.s3_part_size
        self._attempts = attempts
        self._backoff = backoff
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=False,  # one retry policy, ours (tenacity)
            maxsize=32,
        )
        self._client = Minio(
            endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=secure,
            region=settings.s3_region,
            http_client=self._http,
        )
        # Streamed puts: parts cannot be re-read from the caller, so urllib3 retries each one.
        self._stream_http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=_PartRetry(
                total=attempts - 1,
                backoff_factor=backoff,
                backoff_max=10,
                status_forcelist=(500, 502, 503, 504),
                allowed_methods=frozenset({"PUT"}),
                raise_on_status=False,  # minio reads the S3 error body of the last answer
            ),
            maxsize=32,
        )
        self._stream_client = Minio(
            endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=secure,
            region=settings.s3_region,
            http_client=self._stream_http,
        )

    def __repr__(self) -> str:
        return f"S3Storage(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    # -- calling minio -------------------------------------------------------------------------

    def _policy(self, op: str) -> dict[str, Any]:
        """Tenacity arguments: ``attempts`` tries, exponential backoff, transient errors only."""

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "storage.retry",
                backend="s3",
                op=op,
                attempt=state.attempt_number,
                error=repr(exc),
                wait_s=round(state.upcoming_sleep, 3),
            )

        return {
            "stop": tenacity.stop_after_attempt(self._attempts),
            "wait": tenacity.wait_exponential(multiplier=self._backoff, max=10),
            "retry": tenacity.retry_if_exception(is_transient),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    async def _raw(self, op: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking minio call in a thread, retrying transient errors; errors unmapped."""
        async for attempt in tenacity.AsyncRetrying(**self._policy(op)):
            with attempt:
                return await asyncio.to_thread(fn, *args, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    def _translate(self, exc: Exception, op: str, key: str | None) -> Exception:
        """Map a minio/urllib3 error to this library's errors (for ``raise ... from exc``)."""
        target = "" if key is None else f" of {key!r}"
        where = f"S3 {op}{target} in bucket {self.bucket!r} at {self.endpoint}"
        if isinstance(exc, S3Error):
            if exc.code == "NoSuchKey" and key is not None:
                return NotFound(key)
            if exc.code in ACCESS_CODES:
                return AccessDenied(
                    f"{where}: {exc.code}: {exc.message} (check the access key "
                    f"{self._access_key!r}, its secret key and its permissions)"
                )
            if exc.code in TRANSIENT_CODES:
                return StorageUnavailable(f"{where}: {exc.code}: {exc.message}")
            return StorageError(f"{where}: {exc.code}: {exc.message}")
        if is_transient(exc):
            return StorageUnavailable(f"{where} failed after {self._attempts} tries: {exc!r}")
        return StorageError(f"{where}: {exc!r}")

    async def _call(
        self, op: str, key: str | None, fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        """:meth:`_raw`, with errors mapped by :meth:`_translate`."""
        try:
            return await self._raw(op, fn, *args, **kwargs)
        except (
            S3Error,
            ServerError,
            InvalidResponseError,
            urllib3.exceptions.HTTPError,
            OSError,
        ) as exc:
            raise self._translate(exc, op, key) from exc

    # -- bucket --------------------------------------------------------------------------------

    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (blocking; called once by ``open_storage``).

        Raises:
            AccessDenied: The credentials were rejected; the message has the server's reason.
            StorageUnavailable: The server could not be reached.
        """

        def ensure() -> None:
            if not self._client.bucket_exists(self.bucket):
                try:
                    self._client.make_bucket(self.bucket)
                except S3Error as exc:  # another process made it first
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
                log.info("storage.bucket_created", backend="s3", bucket=self.bucket)

        try:
            tenacity.Retrying(**self._policy("ensure bucket"))(ensure)
        except S3Error as exc:
            if exc.code == "AccessDenied":
                # HEAD responses carry no error body; a GET tells us the server's real reason.
                try:
                    next(iter(self._client.list_objects(self.bucket)), None)
                except S3Error as detail:
                    exc = detail
                except Exception:  # noqa: BLE001 - keep the first error
                    pass
            raise self._translate(exc, "bucket check", None) from exc
        except (ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._translate(exc, "bucket check", None) from exc

    # -- writing -------------------------------------------------------------------------------

    async def put(
        self,
        key: str,
        data: bytes | AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        durable: bool = True,  # noqa: ARG002 - a completed S3 PUT is always durable
    ) -> ObjectInfo:
        """Upload an object; see :meth:`Storage.put`.

        ``bytes`` go up with one PUT (minio switches to multipart past the part size), retried
        as a whole. An async iterable goes through minio's ``put_object`` with unknown length:
        parts of ``s3_part_size`` bytes, so at most 10,000 parts (78 GiB at the default 8 MiB;
        raise ``DARKROOM_STORAGE_S3_PART_SIZE`` for larger objects), each part request retried
        on its own. A source that raises, or a cancelled put, aborts the upload and leaves the
        key as it was; the source's exception reaches the caller unchanged.

        Raises:
            StorageError: S3 refused the object (e.g. more than 10,000 parts).
            StorageUnavailable: The server failed past the retries.
            AccessDenied: The credentials may not write here.
        """
        validate_key(key)
        ctype = content_type or mimetypes.guess_type(key, strict=False)[0]
        ctype = ctype or "application/octet-stream"
        started = time.perf_counter()
        if isinstance(data, bytes | bytearray | memoryview):
            await self._put_bytes(key, bytes(data), ctype)
        else:
            await self._put_stream(key, data, ctype)
        info = await self.head(key)
        log.debug(
            "storage.put",
            backend="s3",
            key=key,
            size=info.size,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return info

    async def _put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        def put() -> None:
            self._client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                part_size=max(self._part_size, MIN_PART_SIZE),
            )

        await self._call("put", key, put)

    async def _put_stream(self, key: str, chunks: AsyncIterable[bytes], content_type: str) -> None:
        reader = _ChunkReader(chunks, asyncio.get_running_loop())

        def put() -> None:
            self._stream_client.put_object(
                self.bucket,
                key,
                reader,
                length=-1,
                content_type=content_type,
                part_size=self._part_size,
                # minio's default (3) queues parts to a thread pool: three parts in memory, and
                # a failed read left its threads waiting. One part at a time, as before.
                num_parallel_uploads=1,
            )

        worker = asyncio.ensure_future(asyncio.to_thread(put))
        try:
            await asyncio.shield(worker)
        except asyncio.CancelledError:
            # Make minio's next (or current) read fail: it aborts its upload, then the thread
            # ends. Wait for that, so a cancelled put leaves nothing behind when it returns.
            reader.stop()
            await asyncio.wait([worker])
            log.warning("storage.put_aborted", backend="s3", key=key, reason="cancelled")
            raise
        except SourceFailed as exc:
            log.warning("storage.put_aborted", backend="s3", key=key, reason="source failed")
            if exc.__cause__ is not None:
                raise exc.__cause__ from None
            raise
        except (
            S3Error,
            ServerError,
            InvalidResponseError,
            urllib3.exceptions.HTTPError,
            OSError,
        ) as exc:
            raise self._translate(exc, "streamed put", key) from exc
        except ValueError as exc:  # minio: more parts than S3 allows
            raise StorageError(f"cannot put {key!r} on S3: {exc}") from exc

    # -- reading -------------------------------------------------------------------------------

    async def open(
        self,
        key: str,
        *,
        start: int = 0,
        end: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> ObjectStream:
        """GET the object (with a ``Range`` header when ranged); see :meth:`Storage.open`.

        Opening is retried; an error in the middle of the body is raised as
        :class:`StorageUnavailable` (re-open with ``start`` at the bytes already read).
        """
        validate_key(key)
        check_range(start, end, chunk_size)
        if end == start:
            await self.head(key)  # still report a missing object
            return _empty_stream()
        try:
            response = await self._get(key, start, end)
        except S3Error as exc:
            if exc.code not in ("InvalidRange", "InvalidArgument"):
                raise self._translate(exc, "get", key) from exc
            # S3 answers 416 InvalidRange when start is past the end and cuts a range that
            # runs past the end short (RFC 9110, 14.1.2); some servers (nanio) refuse both.
            size = (await self.head(key)).size
            if start >= size:
                return _empty_stream()
            try:
                response = await self._get(key, start, size if end is None else min(end, size))
            except S3Error as again:
                raise self._translate(again, "get", key) from again
        except (ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._translate(exc, "get", key) from exc

        closed = False

        async def release() -> None:
            nonlocal closed
            if not closed:
                closed = True
                response.close()
                response.release_conn()

        async def chunks() -> AsyncGenerator[bytes, None]:
            try:
                while True:
                    try:
                        data = await asyncio.to_thread(response.read, chunk_size)
                    except (urllib3.exceptions.HTTPError, OSError) as exc:
                        raise StorageUnavailable(f"S3 read of {key!r} broke off: {exc!r}") from exc
                    if not data:
                        break
                    yield data
            finally:
                await release()

        return ObjectStream(chunks(), release)

    async def _get(self, key: str, start: int, end: int | None) -> BaseHTTPResponse:
        """GET ``[start, end)`` (retried), returning the unread response; S3 errors unmapped."""
        length = 0 if end is None else end - start  # minio: 0 means "to the end"
        try:
            return await self._raw(
                "get", self._client.get_object, self.bucket, key, offset=start, length=length
            )
        except S3Error:
            raise
        except (ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._translate(exc, "get", key) from exc

    async def get_bytes(self, key: str) -> bytes:
        """GET the whole object into memory (small objects only); retried as a whole."""
        validate_key(key)

        def get() -> bytes:
            response = self._client.get_object(self.bucket, key)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await self._call("get", key, get)

    async def head(self, key: str) -> ObjectInfo:
        """HEAD the object; see :meth:`Storage.head`."""
        validate_key(key)
        st = await self._call("head", key, self._client.stat_object, self.bucket, key)
        return ObjectInfo(
            key=key,
            size=int(st.size or 0),
            etag=st.etag,
            modified=st.last_modified,
            content_type=st.content_type,
        )

    # -- deleting and moving ---------------------------------------------------------------------

    async def delete(self, key: str) -> None:
        """DELETE the object (S3 answers 204 for a missing one); see :meth:`Storage.delete`."""
        validate_key(key)
        await self._call("delete", key, self._client.remove_object, self.bucket, key)
        log.debug("storage.deleted", backend="s3", key=key)

    async def move(self, src: str, dst: str) -> ObjectInfo:
        """Server-side copy then delete; see :meth:`Storage.move`.

        minio's ``copy_object`` switches to a multipart copy (``compose_object``) for sources
        over 5 GiB, the single-request copy limit.
        """
        validate_key(src)
        validate_key(dst)
        if src != dst:
            await self._call(
                "copy",
                src,
                self._client.copy_object,
                self.bucket,
                dst,
                CopySource(self.bucket, src),
            )
            await self.delete(src)
            log.debug("storage.moved", backend="s3", src=src, dst=dst)
        return await self.head(dst)

    async def copy(self, src: str, dst: str) -> ObjectInfo:
        """Server-side copy (``CopyObject``; minio composes a multipart copy past 5 GiB); the
        source stays. See :meth:`Storage.copy`."""
        validate_key(src)
        validate_key(dst)
        if src != dst:
            await self._call(
                "copy",
                src,
                self._client.copy_object,
                self.bucket,
                dst,
                CopySource(self.bucket, src),
            )
            log.debug("storage.copied", backend="s3", src=src, dst=dst)
        return await self.head(dst)

    # -- listing -------------------------------------------------------------------------------

    async def list_objects(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """ListObjectsV2 under ``prefix``; ``content_type`` is None in listings.

        A transient error restarts the listing after the last key already yielded.
        """
        validate_prefix(prefix)
        state: dict[str, Any] = {"it": None, "last": None}

        def next_batch() -> list[ObjectInfo]:
            if state["it"] is None:
                state["it"] = iter(
                    self._client.list_objects(
                        self.bucket,
                        prefix=prefix or None,
                        recursive=True,
                        start_after=state["last"],
                    )
                )
            batch: list[ObjectInfo] = []
            try:
                for obj in state["it"]:
                    if obj.is_dir:
                        continue
                    batch.append(
                        ObjectInfo(
                            key=obj.object_name,
                            size=int(obj.size or 0),
                            etag=obj.etag,
                            modified=obj.last_modified,
                        )
                    )
                    if len(batch) >= _LIST_BATCH:
                        break
            except BaseException:
                state["it"] = None  # a generator that raised is finished: start again
                raise
            if batch:
                state["last"] = batch[-1].key
            return batch

        while batch := await self._call("list", prefix, next_batch):
            for info in batch:
                yield info

    # -- housekeeping ----------------------------------------------------------------------------

    def _signed_request(
        self, method: str, key: str | None, query: dict[str, str]
    ) -> BaseHTTPResponse:
        """Send one SigV4-signed request without a body (blocking); S3 errors raised as minio's.

        For the S3 calls minio keeps private (ListMultipartUploads, AbortMultipartUpload,
        CreateMultipartUpload in tests): the URL is path-style, ``/<bucket>[/<key>]?<query>``,
        signed by minio's public ``sign_v4_s3`` (AWS Signature Version 4).

        Raises:
            minio.error.S3Error: The server answered with an S3 error.
            minio.error.InvalidResponseError: It answered an error without an S3 error body.
        """
        path = "/" + quote(self.bucket) + ("" if key is None else "/" + quote(key, safe="/"))
        url = urlsplit(
            f"{self._scheme}://{self.endpoint}{path}?{urlencode(query, quote_via=quote)}"
        )
        date = datetime.now(UTC)
        headers: dict[str, Any] = {
            "Host": url.netloc,
            "x-amz-content-sha256": _EMPTY_SHA256,
            "x-amz-date": date.strftime("%Y%m%dT%H%M%SZ"),
        }
        headers = sign_v4_s3(
            method=method,
            url=url,
            region=self._region,
            headers=headers,
            credentials=self._credentials,
            content_sha256=_EMPTY_SHA256,
            date=date,
        )
        response = self._http.request(method, url.geturl(), headers=headers)
        if response.status >= 300:
            if response.data and b"<Error>" in response.data:
                raise S3Error.fromxml(response)
            raise InvalidResponseError(
                response.status, response.headers.get("content-type"), response.data.decode()
            )
        return response

    async def incomplete_uploads(
        self, prefix: str = "", *, older_than: timedelta | None = None
    ) -> list[tuple[str, str]]:
        """The multipart uploads started and never completed or aborted, as ``(key, upload id)``.

        ListMultipartUploads, page by page on the key and upload id markers.

        Args:
            prefix: Only uploads whose key starts with this.
            older_than: Only uploads initiated longer ago than this (None: all).
        """
        validate_prefix(prefix)
        cutoff = None if older_than is None else datetime.now(UTC) - older_than
        found: list[tuple[str, str]] = []
        markers: dict[str, str] = {}
        while True:
            query = {"uploads": "", "prefix": prefix, "encoding-type": "url", **markers}
            response = await self._call(
                "list multipart uploads", None, self._signed_request, "GET", None, query
            )
            page = ListMultipartUploadsResult(response)
            found += [
                (u.object_name, u.upload_id)
                for u in page.uploads
                if u.object_name
                and u.upload_id
                and (cutoff is None or (u.initiated_time is not None and u.initiated_time < cutoff))
            ]
            if not page.is_truncated or not page.next_key_marker:
                return found
            markers = {"key-marker": page.next_key_marker}
            if page.next_upload_id_marker:
                markers["upload-id-marker"] = page.next_upload_id_marker

    async def sweep_temp(self, older_than: timedelta = timedelta(hours=24)) -> int:
        """Abort incomplete multipart uploads started longer ago than ``older_than``.

        A put whose process died leaves its upload in the bucket, billed and invisible to
        listings, until it is aborted (a failed or cancelled put aborts its own). This lists
        them (:meth:`incomplete_uploads`) and aborts the stale ones. A bucket lifecycle rule
        ``AbortIncompleteMultipartUpload`` does the same on AWS, and MinIO expires stale
        uploads itself (``api stale_uploads_expiry``, 24 h); MinIO also lists only uploads of
        an exact key, so there this finds nothing.

        Returns:
            How many uploads were aborted.
        """
        stale = await self.incomplete_uploads(older_than=older_than)
        for key, upload_id in stale:
            await self._call(
                "abort multipart upload",
                key,
                self._signed_request,
                "DELETE",
                key,
                {"uploadId": upload_id},
            )
        log.info(
            "storage.temp_swept",
            backend="s3",
            removed=len(stale),
            older_than_s=older_than.total_seconds(),
        )
        return len(stale)

    # -- URLs ----------------------------------------------------------------------------------

    async def presigned_get_url(self, key: str, expires: timedelta) -> str | None:
        """A SigV4 presigned GET URL (computed locally, no request); see the base class."""
        validate_key(key)
        return self._client.presigned_get_object(self.bucket, key, expires=expires)

    async def presigned_put_url(self, key: str, expires: timedelta) -> str | None:
        """A SigV4 presigned PUT URL (computed locally, no request); see the base class."""
        validate_key(key)
        return self._client.presigned_put_object(self.bucket, key, expires=expires)

    def local_path(self, key: str) -> Path | None:
        """Always None: objects are not local files. The key is still validated."""
        validate_key(key)
        return None

    async def close(self) -> None:
        """Close the connection pools."""
        self._http.clear()
        self._stream_http.clear()


def _empty_stream() -> ObjectStream:
    async def chunks() -> AsyncGenerator[bytes, None]:
        return
        yield  # pragma: no cover - makes this an async generator

    async def release() -> None:
        return None

    return ObjectStream(chunks(), release)
