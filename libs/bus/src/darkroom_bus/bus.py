"""The bus: one NATS connection with JetStream, for publishing, consuming and request/reply.

Events go through the one JetStream stream (:data:`darkroom_events.registry.STREAM_NAME`);
RPCs are NATS core request/reply in queue groups, outside the stream (see ARCHITECTURE.md).
OpenTelemetry trace context travels in message headers (W3C ``traceparent``) both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import msgspec
import nats
import nats.errors
import structlog
from darkroom_events.catalogue import Event
from darkroom_events.public import PUBLIC_STREAM_NAME, PUBLIC_STREAM_SUBJECTS, PublicEvent
from darkroom_events.registry import (
    DUPLICATE_WINDOW_S,
    MAX_AGE_S,
    STREAM_NAME,
    STREAM_SUBJECTS,
)
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import (
    DeliverPolicy,
    Header,
    PubAck,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
)
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NoStreamResponseError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, TracerProvider
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from darkroom_bus.errors import (
    CONNECTION_ERRORS,
    SERVER_DOWN_ERRORS,
    PublishError,
    RpcError,
    RpcRetryLater,
    RpcTimeout,
    RpcUnavailable,
    is_server_down,
)
from darkroom_bus.handlers import handler_spec
from darkroom_bus.runner import (
    AssetExistsHook,
    ConcurrencyHook,
    Consumer,
    DeadLetterHook,
    Metrics,
)

log = structlog.get_logger()

ReqT = TypeVar("ReqT", bound=msgspec.Struct)
ReplyT = TypeVar("ReplyT", bound=msgspec.Struct)

#: Reply header that marks an RPC error reply; its value is the remote exception type name.
RPC_ERROR_HEADER = "Darkroom-Rpc-Error"
#: Error-reply kind of a handler that raised :class:`Unavailable` (the caller may retry later).
_UNAVAILABLE_KIND = "Unavailable"
#: JetStream API error code "stream name already in use with a different configuration".
_STREAM_NAME_IN_USE = 10058
#: JetStream's "no suitable peers for placement": a cluster's peers have not all joined yet.
_NO_PEERS_FOR_PLACEMENT = 10005
#: Seconds a new cluster may take to place a replicated stream (a ceiling, on a loaded machine).
_PLACEMENT_PATIENCE_S = 120.0
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """An event as it goes on the wire (:meth:`Bus.envelope`), e.g. stored in the outbox.

    Attributes:
        subject: Event subject, without the bus namespace.
        msg_id: JetStream de-duplication id (``Nats-Msg-Id``).
        payload: JSON body.
        headers: Other headers: the trace context of where the event was made.
    """

    subject: str
    msg_id: str
    payload: bytes
    headers: dict[str, str]


class _RpcFault(msgspec.Struct, frozen=True):
    """Body of an RPC error reply."""

    type: str
    message: str


class Bus:
    """A connection to NATS for events (JetStream) and RPC (core request/reply).

    Create it with :meth:`connect`; close it with :meth:`close` (or ``async with``).

    Attributes:
        nc: The nats-py client.
        js: Its JetStream context.
        namespace: Prefix isolating this bus's stream and subjects ("" in production).
        stream_name: ``DARKROOM``, or ``DARKROOM_<namespace>``.
        public_stream_name: ``DARKROOM_PUBLIC`` (or ``DARKROOM_PUBLIC_<namespace>``): the
            public events integrations read (:mod:`darkroom_events.public`).
        tracer: The OpenTelemetry tracer for publish/consume/RPC spans.
        stream_replicas: Copies of the stream a NATS cluster keeps (1 on a single server, 3 on
            a three-node cluster: it survives the loss of one node); consumers inherit it.
    """

    def __init__(
        self,
        nc: Client,
        *,
        namespace: str = "",
        tracer_provider: TracerProvider | None = None,
        stream_replicas: int = 1,
    ) -> None:
        """Wrap a connected client; prefer :meth:`connect`."""
        if stream_replicas < 1:
            raise ValueError(f"stream_replicas must be at least 1, got {stream_replicas}")
        self.stream_replicas = stream_replicas
        if namespace and not _NAMESPACE_RE.match(namespace):
            raise ValueError(f"namespace must match [A-Za-z0-9_-]+, got {namespace!r}")
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.namespace = namespace
        self.stream_name = f"{STREAM_NAME}_{namespace}" if namespace else STREAM_NAME
        self.public_stream_name = (
            f"{PUBLIC_STREAM_NAME}_{namespace}" if namespace else PUBLIC_STREAM_NAME
        )
        self.tracer: Tracer = trace.get_tracer("darkroom_bus", tracer_provider=tracer_provider)
        self._encoder = msgspec.json.Encoder()
        self._rpc_subs: list[Subscription] = []
        self._rpc_tasks: set[asyncio.Task[None]] = set()
        #: Resolved when the connection to NATS is lost: requests waiting for a reply stop.
        self._lost: asyncio.Future[None] | None = None
        #: Exception types meaning "a server this process needs is down": a job failing with
        #: one waits the outage out (:meth:`run`), an RPC handler raising one answers "try
        #: again later" (:meth:`serve`). The bus's own by default; a service adds its
        #: database's and object store's (``darkroom_runtime``).
        self.server_down_errors: tuple[type[BaseException], ...] = SERVER_DOWN_ERRORS

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        name: str,
        namespace: str = "",
        tracer_provider: TracerProvider | None = None,
        connect_timeout: float = 5.0,
        stream_replicas: int = 1,
    ) -> Bus:
        """Connect to NATS; reconnects forever after a lost connection.

        Args:
            url: ``nats://host:port`` (several may be given comma-separated).
            name: Client name shown in server monitoring (the service name).
            namespace: Isolates the stream and all subjects: stream ``DARKROOM_<namespace>``,
                subjects ``<namespace>.<subject>``. Empty in production; tests and side-by-side
                installations on one NATS use it. ``[A-Za-z0-9_-]+``.
            tracer_provider: Where spans go; the global OpenTelemetry provider when None.
            connect_timeout: Seconds for the first connection.
            stream_replicas: Replicas of the stream :meth:`ensure_stream` asks for
                (``DARKROOM_NATS_REPLICAS``); at most the number of nodes of the cluster.

        Returns:
            The connected bus.

        Raises:
            nats.errors.NoServersError: No server could be reached.
            ValueError: ``namespace`` has characters not allowed in stream names.
        """
        blog = log.bind(client=name)
        made: list[Bus] = []

        async def on_error(exc: Exception) -> None:
            blog.warning("nats.error", error=f"{type(exc).__name__}: {exc}")

        async def on_disconnected() -> None:
            blog.info("nats.disconnected")
            if made:
                made[0].connection_lost()

        async def on_reconnected() -> None:
            blog.info("nats.reconnected")

        nc = await nats.connect(
            url.split(","),
            name=name,
            connect_timeout=connect_timeout,
            max_reconnect_attempts=-1,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
        )
        made.append(
            cls(
                nc,
                namespace=namespace,
                tracer_provider=tracer_provider,
                stream_replicas=stream_replicas,
            )
        )
        return made[0]

    def connection_lost(self) -> None:
        """Called when the connection to NATS drops: every request waiting for a reply ends
        with :class:`RpcUnavailable` at once (its reply cannot reach the new connection)."""
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def subject(self, subject: str) -> str:
        """The wire subject of ``subject``: prefixed with the namespace when there is one."""
        return f"{self.namespace}.{subject}" if self.namespace else subject

    def stream_config(self) -> StreamConfig:
        """The stream's configuration, from :mod:`darkroom_events.registry`."""
        return StreamConfig(
            name=self.stream_name,
            subjects=[self.subject(s) for s in STREAM_SUBJECTS],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            max_age=MAX_AGE_S,
            duplicate_window=DUPLICATE_WINDOW_S,
            num_replicas=self.stream_replicas,
            description="Darkroom events (see docs/events.md)",
        )

    def public_stream_config(self) -> StreamConfig:
        """The public stream's configuration (:mod:`darkroom_events.public`): its own stream,
        so that an integration credential may read it and nothing of the internal one."""
        return StreamConfig(
            name=self.public_stream_name,
            subjects=[self.subject(s) for s in PUBLIC_STREAM_SUBJECTS],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            max_age=MAX_AGE_S,
            duplicate_window=DUPLICATE_WINDOW_S,
            num_replicas=self.stream_replicas,  # as the internal stream: a node may be lost
            description="Darkroom public events for integrations (see docs/asyncapi.yaml)",
        )

    async def ensure_stream(self) -> StreamInfo:
        """Create the streams (the internal one and the public one), or update them to
        :meth:`stream_config` / :meth:`public_stream_config` when they exist.

        Idempotent and safe to call from every replica at start-up. An existing stream keeps
        its replica count when it has more than :attr:`stream_replicas` (a process started
        without ``DARKROOM_NATS_REPLICAS`` never shrinks the cluster's stream).

        Returns:
            The internal stream's info after the call.

        Raises:
            nats.js.errors.APIError: The server refused the configuration (e.g. an existing
                stream with memory storage, which cannot be changed in place).
        """
        await self._ensure(self.public_stream_config())
        return await self._ensure(self.stream_config())

    async def _ensure(self, config: StreamConfig) -> StreamInfo:
        # A cluster that has just elected its meta leader may not know every peer yet:
        # "no suitable peers for placement" (10005) for a replicated stream until they join.
        deadline = time.monotonic() + _PLACEMENT_PATIENCE_S
        while True:
            try:
                return await self.js.add_stream(config)
            except BadRequestError as exc:
                if exc.err_code == _NO_PEERS_FOR_PLACEMENT and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                    continue
                if exc.err_code != _STREAM_NAME_IN_USE:
                    raise
                break
        existing = await self.js.stream_info(config.name)
        config.num_replicas = max(config.num_replicas or 1, existing.config.num_replicas or 1)
        info = await self.js.update_stream(config)
        log.info("bus.stream_updated", stream=config.name)
        return info

    async def publish(
        self,
        event: Event,
        *,
        msg_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the JetStream ack wait per try, not a deadline
        outage_patience: float = 0.0,
        subject: str | None = None,
    ) -> PubAck:
        """Store ``event`` in the stream on ``event.subject`` (JSON), de-duplicated by id.

        The message id (``Nats-Msg-Id``) is ``msg_id`` or ``<subject>:<event.dedupe_key()>``
        (the asset id), so publishing the same fact twice within the duplicate window
        (:data:`~darkroom_events.registry.DUPLICATE_WINDOW_S`) stores it once. That also makes
        retrying a publish safe: a timed-out publish is retried up to 3 times. With
        ``outage_patience`` it is retried instead for as long as NATS is unreachable or its
        JetStream is not answering yet (a restarted server recovering its streams), up to that
        many seconds: for a fact that exists only once it is published (ingest's new asset).

        Args:
            event: The event to publish.
            msg_id: Overrides the de-duplication id.
            headers: Extra headers; the current trace context is added to them.
            timeout: Seconds to wait for the stream's acknowledgement, per try.
            outage_patience: Seconds to keep retrying while NATS is down (0: 3 tries).
            subject: Another subject than the event's own (a consumer's re-run subject:
                :func:`darkroom_bus.handlers.replay_subject`).

        Returns:
            The stream's ack: ``seq``, and ``duplicate`` True when the id was seen already.

        Raises:
            PublishError: No stream captures the subject (call :meth:`ensure_stream`).
            nats.errors.TimeoutError: The stream did not acknowledge after 3 tries.
            nats.errors.Error: With ``outage_patience``, NATS was still unreachable after it
                (one of :data:`~darkroom_bus.errors.CONNECTION_ERRORS`).
        """
        with self.tracer.start_as_current_span(
            f"publish {event.subject}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": self.subject(subject or event.subject),
            },
        ):
            envelope = self.envelope(event, msg_id=msg_id, headers=headers, subject=subject)
            return await self.publish_envelope(
                envelope, timeout=timeout, outage_patience=outage_patience
            )

    def envelope(
        self,
        event: Event | PublicEvent,
        *,
        msg_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        subject: str | None = None,
    ) -> Envelope:
        """``event`` as it goes on the wire, to publish now or later (the outbox stores it).

        Args:
            event: The event.
            msg_id: Overrides the de-duplication id ``<subject>:<event.dedupe_key()>``.
            headers: Extra headers; the current trace context (W3C ``traceparent``) is added.
            subject: Sends the event's payload on another subject than its own: a consumer's
                re-run subject (:func:`darkroom_bus.handlers.replay_subject`).

        Returns:
            Subject (without namespace), message id, JSON body and headers.
        """
        if msg_id is None:
            if isinstance(event, PublicEvent):
                raise ValueError("a public event needs its msg_id (darkroom_events.public_twin)")
            msg_id = f"{event.subject}:{event.dedupe_key()}"
        hdrs = dict(headers or {})
        propagate.inject(hdrs)
        return Envelope(
            subject=subject or event.subject,
            msg_id=msg_id,
            payload=self._encoder.encode(event),
            headers=hdrs,
        )

    async def publish_envelope(
        self,
        envelope: Envelope,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the JetStream ack wait per try, not a deadline
        outage_patience: float = 0.0,
    ) -> PubAck:
        """Store an :meth:`envelope` in the stream, with its message id as ``Nats-Msg-Id``.

        Retries as :meth:`publish` describes (``timeout``, ``outage_patience``).

        Returns:
            The stream's ack (``duplicate`` True when the id was seen within the window).

        Raises:
            PublishError: No stream captures the subject.
            nats.errors.TimeoutError: The stream did not acknowledge after 3 tries.
            nats.errors.Error: NATS unreachable (with ``outage_patience``: after it).
        """
        subject = self.subject(envelope.subject)
        hdrs = {**envelope.headers, Header.MSG_ID.value: envelope.msg_id}
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(
                    (*CONNECTION_ERRORS, nats.errors.NoRespondersError, NoStreamResponseError)
                    if outage_patience
                    else nats.errors.TimeoutError
                ),
                stop=stop_after_delay(outage_patience)
                if outage_patience
                else stop_after_attempt(3),
                wait=wait_exponential(multiplier=0.2, max=2.0),
                reraise=True,
            ):
                with attempt:
                    ack = await self.js.publish(
                        subject, envelope.payload, timeout=timeout, headers=hdrs
                    )
        except (nats.errors.NoRespondersError, NoStreamResponseError) as exc:
            raise PublishError(
                f"no stream captures {subject!r}; call Bus.ensure_stream() first"
            ) from exc
        return ack

    async def run(
        self,
        handlers: Sequence[Callable[..., Awaitable[None]]],
        ctx: Any,
        *,
        on_dead_letter: DeadLetterHook | None = None,
        stop: asyncio.Event | None = None,
        metrics: Metrics | None = None,
        publish_failures: bool = True,
        fetch_timeout: float = 1.0,
        drain_timeout: float = 30.0,
        asset_exists: AssetExistsHook | None = None,
        redact_roots: Sequence[str] = (),
        unavailable: Sequence[type[BaseException]] | None = None,
        outage_patience: float = 600.0,
        concurrency: ConcurrencyHook | None = None,
    ) -> None:
        """Consume events with ``handlers`` until ``stop`` is set or the task is cancelled.

        Creates or updates each handler's durable pull consumer first, then runs one fetch
        loop per handler (up to its ``concurrency`` messages at once). The per-message
        contract (ack / nak with backoff / dead-letter and term, heartbeats, tracing, logs)
        is described in :mod:`darkroom_bus.runner`.

        Args:
            handlers: Functions decorated with :func:`~darkroom_bus.subscribe`.
            ctx: The second argument of every handler (the service's dependencies).
            on_dead_letter: ``async (DeadLetter) -> None``, e.g. an upsert into
                ``job_failures``; if it raises, the message is nak-ed and dead-lettering is
                retried later. None to only log.
            stop: Set it to stop: fetching ends, in-flight handlers get ``drain_timeout``
                seconds, the rest are cancelled and their messages nak-ed for redelivery.
            metrics: Receives ``observe(handler, seconds, ok)`` for every attempt.
            publish_failures: Publish :class:`~darkroom_events.catalogue.AssetFailed` for every
                dead letter that has an ``asset_id``.
            fetch_timeout: Seconds one pull waits for messages (bounds the stop latency).
            drain_timeout: Seconds in-flight handlers may take to finish after ``stop``.
            asset_exists: ``async (asset_id) -> bool``; a message whose asset it says is gone
                is acked quietly, before the handler runs or instead of a retry or dead letter
                (handlers declared with ``skip_if_gone=False`` excepted). None: never skip.
            redact_roots: Directories (e.g. the storage root) removed from dead-letter reasons,
                on top of every absolute path (:func:`darkroom_bus.redact.scrub_paths`).
            unavailable: Exception types that mean a server the handlers need is down
                (:attr:`server_down_errors` when None): a job failing with one is retried in
                place without using up its attempts.
            outage_patience: Seconds a job retries in place while a server is down, before
                its failure counts as an ordinary one.
            concurrency: ``(spec) -> int | None``, read before each fetch: a live override of
                a handler's ``concurrency`` (the system config's ``job.<queue>.concurrency``;
                :class:`~darkroom_bus.runner.Consumer`). None: the specs' own values.

        Raises:
            TypeError: A handler is not decorated with ``@subscribe``.
            ValueError: Two handlers map to the same consumer (same durable and subject).
            nats.js.errors.APIError: A consumer could not be created.
            nats.errors.ConnectionClosedError: The bus was closed while running.
        """
        specs = [handler_spec(h) for h in handlers]
        names = [s.consumer_name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"two handlers share a consumer: {sorted(names)}")
        consumers = [
            Consumer(
                self,
                spec,
                ctx,
                on_dead_letter=on_dead_letter,
                metrics=metrics,
                publish_failures=publish_failures,
                fetch_timeout=fetch_timeout,
                drain_timeout=drain_timeout,
                asset_exists=asset_exists,
                redact_roots=tuple(redact_roots),
                unavailable=tuple(self.server_down_errors if unavailable is None else unavailable),
                outage_patience=outage_patience,
                concurrency=concurrency,
            )
            for spec in specs
        ]
        for consumer in consumers:
            await consumer.provision()
        stop = stop if stop is not None else asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                for consumer in consumers:
                    group.create_task(consumer.run(stop))
        except BaseExceptionGroup as group_error:
            if len(group_error.exceptions) == 1:  # the usual case: raise the error itself
                raise group_error.exceptions[0] from None
            raise

    async def watch(
        self,
        event_types: Sequence[type[Event]],
        handler: Callable[[Event], Awaitable[None]],
    ) -> list[JetStreamContext.PushSubscription]:
        """Receive every event of ``event_types`` published from now on, in this process only.

        Unlike :meth:`run` (durable pull consumers shared by a service's replicas, each message
        handled once), every caller gets its own JetStream *ordered consumer* per subject:
        ephemeral (removed by the server when this connection goes), deliver-new, no acks,
        recreated by nats-py after a gap or a reconnect. So every replica sees every event: what
        fan-out to clients connected to any replica needs (the gateway's websocket). Nothing is
        redelivered: a handler that raises loses that event (logged); a client that missed it
        catches up otherwise (Immich's sync).

        Args:
            event_types: Events to receive (their ``subject``; the namespace is applied).
            handler: ``async (event) -> None``, called one at a time per subject, in stream order.

        Returns:
            The subscriptions (unsubscribe to stop; :meth:`close` ends them too). The server
            has created them by the time this returns.

        Raises:
            nats.js.errors.NotFoundError: The stream does not exist (call :meth:`ensure_stream`).
        """
        subs: list[JetStreamContext.PushSubscription] = []
        for event_type in event_types:
            decoder = msgspec.json.Decoder(event_type)
            name = event_type.subject

            async def on_message(msg: Msg, decoder: Any = decoder, name: str = name) -> None:
                try:
                    event = decoder.decode(msg.data)
                except msgspec.DecodeError as exc:
                    log.warning("bus.watch_undecodable", subject=name, error=str(exc))
                    return
                try:
                    await handler(event)
                except Exception as exc:  # noqa: BLE001 - one bad event must not end the watch
                    error = f"{type(exc).__name__}: {exc}"
                    log.warning("bus.watch_failed", subject=name, error=error)

            subs.append(
                await self.js.subscribe(
                    self.subject(name),
                    cb=on_message,
                    stream=self.stream_name,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.NEW,
                )
            )
        return subs

    async def request(
        self,
        subject: str,
        req: msgspec.Struct,
        reply_type: type[ReplyT],
        *,
        timeout: float = 30.0,  # noqa: ASYNC109 - NATS request timeout, raises RpcTimeout
    ) -> ReplyT:
        """Send ``req`` to whoever serves ``subject`` (NATS core request) and decode the reply.

        Args:
            subject: Request subject, e.g. ``darkroom.rpc.ingest.upload``.
            req: The request Struct (JSON on the wire).
            reply_type: Struct type the reply decodes into.
            timeout: Seconds to wait for the reply.

        Returns:
            The decoded reply.

        Raises:
            RpcUnavailable: Nobody serves ``subject``, NATS is reconnecting, or the connection
                was lost while waiting (the reply, if any, went to the old connection: waiting
                out ``timeout`` would only hold the caller).
            RpcTimeout: No reply within ``timeout``.
            RpcRetryLater: The serving handler raised :class:`Unavailable`.
            RpcError: The serving handler raised (``remote_type`` names its exception), or the
                reply did not decode into ``reply_type``.
        """
        wire = self.subject(subject)
        with self.tracer.start_as_current_span(
            f"request {subject}",
            kind=SpanKind.CLIENT,
            attributes={"rpc.system": "nats", "messaging.destination.name": wire},
        ) as span:
            if self.nc.is_reconnecting:  # the reply could not come before NATS is back
                span.set_status(Status(StatusCode.ERROR, "reconnecting"))
                raise RpcUnavailable(f"NATS is reconnecting; {subject!r} not sent", subject=subject)
            headers: dict[str, str] = {}
            propagate.inject(headers)
            if self._lost is None or self._lost.done():
                self._lost = asyncio.get_running_loop().create_future()
            lost = self._lost
            call = asyncio.ensure_future(
                self.nc.request(wire, self._encoder.encode(req), timeout=timeout, headers=headers)
            )
            try:
                waited: set[asyncio.Future[Any]] = {call, lost}
                await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not call.done():
                    call.cancel()
            if not call.done() or call.cancelled():  # the connection went: no reply can come
                span.set_status(Status(StatusCode.ERROR, "connection lost"))
                raise RpcUnavailable(
                    f"the NATS connection was lost while {subject!r} waited", subject=subject
                )
            try:
                msg = call.result()
            except nats.errors.NoRespondersError as exc:
                span.set_status(Status(StatusCode.ERROR, "no responders"))
                raise RpcUnavailable(f"nobody serves {subject!r}", subject=subject) from exc
            except nats.errors.TimeoutError as exc:
                span.set_status(Status(StatusCode.ERROR, "timeout"))
                raise RpcTimeout(
                    f"no reply from {subject!r} within {timeout} s", subject=subject
                ) from exc
            remote_type = (msg.headers or {}).get(RPC_ERROR_HEADER)
            if remote_type is not None:
                try:
                    fault = msgspec.json.decode(msg.data, type=_RpcFault)
                    message = fault.message
                except msgspec.DecodeError:
                    message = msg.data.decode(errors="replace")
                span.set_status(Status(StatusCode.ERROR, f"{remote_type}: {message}"))
                error = RpcRetryLater if remote_type == _UNAVAILABLE_KIND else RpcError
                raise error(
                    f"{subject} failed: {remote_type}: {message}",
                    subject=subject,
                    remote_type=remote_type,
                )
            try:
                return msgspec.json.decode(msg.data, type=reply_type)
            except msgspec.DecodeError as exc:
                span.set_status(Status(StatusCode.ERROR, "bad reply"))
                raise RpcError(
                    f"{subject}: reply is not a {reply_type.__name__}: {exc}", subject=subject
                ) from exc

    async def serve(
        self,
        subject: str,
        handler: Callable[[ReqT], Awaitable[msgspec.Struct]],
        req_type: type[ReqT],
        *,
        queue: str,
        concurrency: int = 16,
    ) -> Subscription:
        """Answer requests on ``subject`` with ``handler``, sharing them with the queue group.

        Every replica serving with the same ``queue`` (the service name) gets a share of the
        requests. Requests are handled concurrently, up to ``concurrency`` at once. If the
        request does not decode or the handler raises, the reply is an error reply (header
        :data:`RPC_ERROR_HEADER`) that :meth:`request` raises as :class:`RpcError`; as
        :class:`RpcRetryLater` when the handler raised :class:`Unavailable` or one of
        :attr:`server_down_errors` (directly or as its ``__cause__``).

        Args:
            subject: Request subject, e.g. ``darkroom.rpc.ingest.upload``.
            handler: ``async (request) -> reply Struct``.
            req_type: Struct type requests decode into.
            queue: Queue group name (the serving service).
            concurrency: Requests handled at once by this replica.

        Returns:
            The subscription (unsubscribe to stop serving; :meth:`close` does it too). The
            server has registered it by the time this returns.
        """
        wire = self.subject(subject)
        decoder = msgspec.json.Decoder(req_type)
        slots = asyncio.Semaphore(concurrency)

        async def on_request(msg: Msg) -> None:
            await slots.acquire()
            task = asyncio.create_task(self._answer(msg, subject, handler, decoder))
            self._rpc_tasks.add(task)

            def done(t: asyncio.Task[None]) -> None:
                self._rpc_tasks.discard(t)
                slots.release()

            task.add_done_callback(done)

        sub = await self.nc.subscribe(wire, queue=queue, cb=on_request)
        self._rpc_subs.append(sub)
        await _flush_subscriptions(self.nc)  # the server knows the interest on return
        log.info("rpc.serving", subject=subject, queue=queue)
        return sub

    async def _answer(
        self,
        msg: Msg,
        subject: str,
        handler: Callable[[Any], Awaitable[msgspec.Struct]],
        decoder: msgspec.json.Decoder[Any],
    ) -> None:
        started = time.perf_counter()
        parent = propagate.extract(msg.headers or {})
        with self.tracer.start_as_current_span(
            f"serve {subject}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"rpc.system": "nats", "messaging.destination.name": msg.subject},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            headers: dict[str, str] | None = None
            try:
                req = decoder.decode(msg.data)
                body = self._encoder.encode(await handler(req))
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                kind = (
                    "BadRequest"
                    if isinstance(exc, msgspec.DecodeError)
                    else _UNAVAILABLE_KIND
                    if is_server_down(exc, self.server_down_errors)
                    else type(exc).__name__
                )
                headers = {RPC_ERROR_HEADER: kind}
                body = self._encoder.encode(_RpcFault(type=kind, message=str(exc)))
                log.warning("rpc.failed", subject=subject, error=f"{kind}: {exc}")
            if not msg.reply:
                log.warning("rpc.no_reply_subject", subject=subject)
                return
            try:
                await self.nc.publish(msg.reply, body, headers=headers)
            except nats.errors.Error as exc:
                log.warning("rpc.reply_failed", subject=subject, error=str(exc))
                return
        log.info("rpc.served", subject=subject, ok=headers is None, ms=_ms(started))

    async def close(self, *, drain_timeout: float = 30.0) -> None:
        """Stop serving RPCs, let answers in flight finish (up to ``drain_timeout`` s), close."""
        for sub in self._rpc_subs:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()
        if self._rpc_subs and self.nc.is_connected:
            # The server has dropped the interest before we go on: a request sent from now on
            # gets "no responders" (RpcUnavailable) at once, not a timeout against a dead one.
            with contextlib.suppress(nats.errors.Error, asyncio.TimeoutError):
                await _flush_subscriptions(self.nc)
        self._rpc_subs.clear()
        if self._rpc_tasks:
            await asyncio.wait(set(self._rpc_tasks), timeout=drain_timeout)
        if not self.nc.is_closed:
            if self.nc.is_connected:
                with contextlib.suppress(nats.errors.Error):
                    await self.nc.flush(timeout=2)
            unsent = self.nc.pending_data_size
            try:
                await self.nc.close()
            except (OSError, RuntimeError) as exc:
                # Closing while the connection is lost (NATS down, reconnecting): nats-py writes
                # what it still buffers to the dead transport, which raises (ConnectionResetError
                # on asyncio, RuntimeError on uvloop) and failed the gateway's shutdown.
                log.warning(
                    "bus.closed_disconnected",
                    unsent_bytes=unsent,
                    error=f"{type(exc).__name__}: {exc}",
                )

    async def __aenter__(self) -> Bus:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def _flush_subscriptions(nc: Client) -> None:
    """Return once the server has registered every subscription (and unsubscription) made so far
    on ``nc``.

    ``Client.flush()`` alone is not enough in nats-py 2.16: it writes its PING straight to the
    socket, ahead of commands (our SUB) still queued for the client's flusher task, so the
    PONG can arrive before the server saw the SUB and a request sent right after gets "no
    responders". Waiting for the flusher first (its queue is FIFO) puts the SUB on the wire
    before the PING.
    """
    flush_pending = getattr(nc, "_flush_pending", None)
    if flush_pending is not None:
        await flush_pending(force_flush=True)
    await nc.flush()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
