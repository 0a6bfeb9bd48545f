"""The consumer loop behind :meth:`darkroom_bus.Bus.run`: pull, handle, ack / nak / term.

Contract of one message (one attempt):

1. Decode the JSON payload into the handler's event type. A payload that does not decode is
   permanent: dead-letter (``permanent=True``) and ``term``. If the event names an asset, the
   handler's spec has ``skip_if_gone`` and the ``asset_exists`` hook says it was deleted, the
   message is a late job for a deleted asset: ``ack`` it quietly, without running the handler.
2. If the message was already delivered more than ``max_deliver`` times (earlier attempts never
   settled: a crashed replica, a failing dead-letter hook), do not run the handler again:
   dead-letter (``permanent=False``) and ``term``.
3. Run the handler in a span named after it, child of the trace context in the message headers,
   with ``asset_id`` bound in structlog's context vars. While it runs, an in-progress heartbeat
   goes out every ``ack_wait / 3`` seconds so JetStream does not redeliver a slow job.
4. Success: ``ack``. :class:`~darkroom_bus.Gone`, or any failure after which ``asset_exists``
   says the asset is gone (it was deleted while the handler ran: its original vanished, its
   rows' foreign keys fail): ``ack`` quietly. :class:`~darkroom_bus.PermanentError`:
   dead-letter (``permanent=True``) and ``term``. Any other exception: if this was attempt
   ``max_deliver``, dead-letter (``permanent=False``) and ``term``; else ``nak`` with the
   backoff delay.
   A failure that says a server the handler needs is down (one of ``Bus.run``'s
   ``unavailable`` types: PostgreSQL restarting, NATS reconnecting, the object store away)
   is not the message's fault and does not use up its attempts: the handler is run again in
   place, the message held by the heartbeat, after 1, 2, 4... seconds (at most
   :data:`OUTAGE_RETRY_MAX_S`), for up to ``outage_patience`` seconds; only then does the
   failure take the path above. So a job in flight when a server crashes finishes within
   seconds of the server's return, and an outage never dead-letters work.
5. Dead-lettering calls ``on_dead_letter`` and (with ``publish_failures``) publishes
   :class:`~darkroom_events.catalogue.AssetFailed`; if either fails the message is ``nak``-ed
   instead of terminated, so it comes back and dead-lettering is tried again: nothing is lost.
   The reason (``DeadLetter.error``) has server file paths removed
   (:func:`darkroom_bus.redact.scrub_paths`, with the ``redact_roots`` given to ``Bus.run``).

Because a failed dead-letter must be able to come back after attempt ``max_deliver``, the
consumer is created with the server-side ``max_deliver`` unlimited (-1) and the limit is
enforced here (steps 2 and 4): JetStream silently stops redelivering a message that is
``nak``-ed on its last allowed delivery. For the same reason the consumer-level ``backoff``
list is not used: JetStream then replaces ``ack_wait`` with ``backoff[0]`` (nats-server
``setConsumerConfigDefaults``), which would redeliver any job slower than one second; retry
delays are given per message with ``nak(delay=...)`` instead.

Stopping: when ``stop`` is set the loop stops fetching, waits up to ``drain_timeout`` for the
handlers in flight, then cancels the rest; a cancelled handler's message is ``nak``-ed (no
delay), so another replica takes it at once. Cancelling ``run`` first lets a pending pull
request run out (at most ``fetch_timeout``; a message nak-ed while it is open would be
redelivered into an inbox nobody reads any more), naks what it brought, then cancels the
handlers in flight the same way. Only a replica that dies without closing its connection
leaves messages to be redelivered after ``ack_wait``; none is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
import nats.errors
import structlog
from darkroom_events.catalogue import AssetFailed
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode

from darkroom_bus.errors import Gone, PermanentError, is_server_down
from darkroom_bus.handlers import HandlerSpec
from darkroom_bus.redact import scrub_paths

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

    from darkroom_bus.bus import Bus

log = structlog.get_logger()

#: Longest pause, in seconds, between two in-place retries of a job whose dependency is down:
#: the job resumes at most this long after the server is back.
OUTAGE_RETRY_MAX_S = 8.0


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A message the bus gave up on, handed to the ``on_dead_letter`` hook.

    Attributes:
        subject: Event subject (without bus namespace), e.g. ``darkroom.asset.created``.
        durable: The service (``@subscribe(durable=...)``) whose handler gave up.
        stream_seq: Sequence of the message in the stream (look it up to re-publish).
        deliveries: Times it was delivered to this consumer, this attempt included.
        error: ``"<ExceptionType>: <message>"`` of the last failure.
        permanent: True for PermanentError or an undecodable payload; False when retries
            of a transient error ran out.
        payload: The raw JSON message body.
        asset_id: The payload's ``asset_id`` when it has a string one, else None.
        owner_id: The payload's ``owner_id`` when it has a string one, else None.
    """

    subject: str
    durable: str
    stream_seq: int
    deliveries: int
    error: str
    permanent: bool
    payload: bytes
    asset_id: str | None = None
    owner_id: str | None = None


class Metrics(Protocol):
    """What the runner reports per handled message (e.g. a Prometheus histogram + counter)."""

    def observe(self, handler: str, seconds: float, ok: bool) -> None:
        """Record one attempt of ``handler``: wall time in seconds, and whether it succeeded."""


DeadLetterHook = Callable[[DeadLetter], Awaitable[None]]

#: ``async (asset_id) -> bool``: whether the asset still exists (not deleted for good).
AssetExistsHook = Callable[[str], Awaitable[bool]]

#: ``(spec) -> int | None``: the messages one replica of a consumer handles at once now, or
#: None for the spec's own ``concurrency`` (read before every fetch: live settings).
ConcurrencyHook = Callable[[HandlerSpec[Any, Any]], int | None]


class _Ids(msgspec.Struct):
    """The identifying fields of any event payload, read leniently for dead letters."""

    asset_id: str | None = None
    owner_id: str | None = None


def _ids(payload: bytes) -> _Ids:
    try:
        return msgspec.json.decode(payload, type=_Ids)
    except msgspec.DecodeError:
        return _Ids()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Consumer:
    """One handler's durable pull consumer and its fetch/handle loop (used by ``Bus.run``).

    Args:
        bus: The connected bus (stream, namespace, tracer, publishing).
        spec: The handler's spec.
        ctx: Passed as the handler's second argument.
        on_dead_letter: Called with each :class:`DeadLetter`; None to only log and terminate.
        metrics: Receives ``observe(handler, seconds, ok)`` per attempt, or None.
        publish_failures: Publish :class:`AssetFailed` for dead letters that have an asset id.
        fetch_timeout: Seconds one fetch waits for messages (also the stop latency).
        drain_timeout: Seconds to let in-flight handlers finish after ``stop`` is set.
        asset_exists: Whether an asset still exists; None to never skip (steps 1 and 4).
        redact_roots: Directories removed from dead-letter reasons besides absolute paths.
        unavailable: Exception types meaning "a server is down, not this message's fault"
            (retried in place, step 4); also matched on the failure's ``__cause__``.
        outage_patience: Seconds a job keeps retrying in place while a server is down.
        concurrency: ``(spec) -> int | None``, read before every fetch: the messages this
            replica handles at once (None: the spec's ``concurrency``). A new value applies
            from the next fetch; the consumer's ``max_ack_pending`` is raised to it on the
            server when it is lower (the system config's ``job.<queue>.concurrency``).
    """

    def __init__(
        self,
        bus: Bus,
        spec: HandlerSpec[Any, Any],
        ctx: Any,
        *,
        on_dead_letter: DeadLetterHook | None,
        metrics: Metrics | None,
        publish_failures: bool,
        fetch_timeout: float,
        drain_timeout: float,
        asset_exists: AssetExistsHook | None = None,
        redact_roots: tuple[str, ...] = (),
        unavailable: tuple[type[BaseException], ...] = (),
        outage_patience: float = 600.0,
        concurrency: ConcurrencyHook | None = None,
    ) -> None:
        self._bus = bus
        self._spec = spec
        self._ctx = ctx
        self._on_dead_letter = on_dead_letter
        self._metrics = metrics
        self._publish_failures = publish_failures
        self._fetch_timeout = fetch_timeout
        self._drain_timeout = drain_timeout
        self._asset_exists = asset_exists if spec.skip_if_gone else None
        self._redact_roots = redact_roots
        self._unavailable = unavailable
        self._outage_patience = outage_patience
        self._concurrency_hook = concurrency
        #: Messages handled at once by this replica now (the hook's value, or the spec's).
        self.concurrency = spec.concurrency
        self._max_ack_pending = spec.max_ack_pending
        self._decoder = msgspec.json.Decoder(spec.event_type)
        self._log = log.bind(handler=spec.name, durable=spec.durable, subject=spec.subject)

    @property
    def _js(self) -> JetStreamContext:
        return self._bus.js

    def consumer_config(self) -> ConsumerConfig:
        """The JetStream consumer configuration (see the module docstring for max_deliver=-1).

        It filters on the event subject and on the consumer's own re-run subject
        (:func:`darkroom_bus.handlers.replay_subject`, docs/events.md "Re-runs").
        """
        spec = self._spec
        return ConsumerConfig(
            name=spec.consumer_name,
            durable_name=spec.consumer_name,
            description=f"{spec.durable}: {spec.name} (max_deliver {spec.max_deliver} by the bus)",
            filter_subjects=[
                self._bus.subject(spec.subject),
                self._bus.subject(spec.replay_subject),
            ],
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=spec.ack_wait,
            max_deliver=-1,
            max_ack_pending=self._max_ack_pending,
        )

    async def provision(self) -> None:
        """Create the durable consumer, or update it to this spec (idempotent, replica-safe).

        An existing consumer keeps what the jobs admin set on it (:mod:`darkroom_bus.queues`):
        its pause (``pause_until``) and its start position (an emptied queue is recreated
        to start after the stream's last message, which an update may not change).
        """
        config = self.consumer_config()
        try:
            existing = await self._js.consumer_info(self._bus.stream_name, config.name or "")
        except NotFoundError:
            existing = None
        if existing is not None and existing.config is not None:
            kept = existing.config
            config.deliver_policy = kept.deliver_policy or config.deliver_policy
            config.opt_start_seq = kept.opt_start_seq
            config.opt_start_time = kept.opt_start_time
            config.pause_until = kept.pause_until
        await self._js.add_consumer(self._bus.stream_name, config=config)

    async def _follow_concurrency(self) -> None:
        """Apply the concurrency hook's current value (before each fetch; see the class doc)."""
        if self._concurrency_hook is None:
            return
        try:
            wanted = self._concurrency_hook(self._spec) or self._spec.concurrency
        except Exception as exc:  # noqa: BLE001 - a bad hook must not stop consuming
            self._log.warning("consumer.concurrency_hook_failed", error=_describe(exc))
            return
        wanted = max(1, int(wanted))
        if wanted == self.concurrency:
            return
        self._log.info("consumer.concurrency", before=self.concurrency, now=wanted)
        self.concurrency = wanted
        if wanted > self._max_ack_pending:
            self._max_ack_pending = wanted
            try:
                await self.provision()
            except nats.errors.Error as exc:  # tried again when the value next changes
                self._log.warning("consumer.update_failed", error=_describe(exc))

    async def run(self, stop: asyncio.Event) -> None:
        """Fetch and handle messages until ``stop`` is set (then drain) or until cancelled."""
        psub = await self._js.pull_subscribe_bind(
            durable=self._spec.consumer_name, stream=self._bus.stream_name
        )
        inflight: set[asyncio.Task[None]] = set()
        fetch: asyncio.Task[list[Msg]] | None = None
        self._log.info("consumer.started", consumer=self._spec.consumer_name)
        try:
            while not stop.is_set():
                await self._follow_concurrency()
                free = self.concurrency - len(inflight)
                if free <= 0:  # woken at least every fetch_timeout to re-read the concurrency
                    await _wait_first(inflight, stop, self._fetch_timeout)
                    continue
                fetch = asyncio.create_task(psub.fetch(batch=free, timeout=self._fetch_timeout))
                try:
                    # Shielded: a cancelled run lets the pull request run out (see finally).
                    msgs = await asyncio.shield(fetch)
                    fetch = None
                except TimeoutError:  # nothing to do (nats.errors.TimeoutError is one too)
                    fetch = None
                    continue
                except nats.errors.ConnectionClosedError:
                    fetch = None
                    raise
                except nats.errors.Error as exc:  # reconnecting, consumer briefly unavailable
                    fetch = None
                    self._log.warning("consumer.fetch_failed", error=_describe(exc))
                    await _sleep_or_stop(stop, 1.0)
                    continue
                for msg in msgs:
                    task = asyncio.create_task(self._handle(msg))
                    inflight.add(task)
                    task.add_done_callback(inflight.discard)
            if inflight:
                _, late = await asyncio.wait(set(inflight), timeout=self._drain_timeout)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
        finally:
            # Cancelled, or the connection is gone. First let a pending pull request expire:
            # a message nak-ed while it is open would be redelivered into it, to an inbox
            # nobody reads any more, and wait ack_wait. Then hand everything back.
            if fetch is not None:  # interrupted while fetching: its messages were never handled
                await self._hand_back_fetch(fetch)
            leftover = list(inflight)
            for task in leftover:
                task.cancel()
            await asyncio.gather(*leftover, return_exceptions=True)
            with contextlib.suppress(Exception):
                await psub.unsubscribe()
            with contextlib.suppress(Exception):
                await self._bus.nc.flush(timeout=2)
            self._log.info("consumer.stopped", consumer=self._spec.consumer_name)

    async def _hand_back_fetch(self, fetch: asyncio.Task[list[Msg]]) -> None:
        """Wait for an interrupted fetch to end, then nak what it brought (not yet handled)."""
        if not fetch.done():
            await asyncio.wait({fetch}, timeout=self._fetch_timeout + 1.0)
        if not fetch.done():
            fetch.cancel()
            return
        if fetch.cancelled() or fetch.exception() is not None:
            return
        for msg in fetch.result():
            with contextlib.suppress(Exception):
                await msg.nak()

    async def _handle(self, msg: Msg) -> None:
        """One attempt at one message; always settles it (ack, nak or term)."""
        started = time.perf_counter()
        meta = msg.metadata
        deliveries = meta.num_delivered
        seq = meta.sequence.stream
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        settled = False
        try:
            with structlog.contextvars.bound_contextvars(
                handler=self._spec.name, stream_seq=seq, deliveries=deliveries
            ):
                await self._attempt(msg, deliveries, seq, started)
            settled = True
        except asyncio.CancelledError:
            self._log.warning("job.interrupted", stream_seq=seq, deliveries=deliveries)
            raise
        except Exception as exc:  # a bug in the bus itself: do not lose the message
            self._log.exception("job.bus_error", stream_seq=seq, error=_describe(exc))
        finally:
            heartbeat.cancel()
            if not settled:
                with contextlib.suppress(Exception):
                    await msg.nak()

    async def _attempt(self, msg: Msg, deliveries: int, seq: int, started: float) -> None:
        spec = self._spec
        try:
            event = self._decoder.decode(msg.data)
        except msgspec.DecodeError as exc:
            error = f"undecodable {spec.event_type.__name__}: {exc}"
            await self._give_up(msg, deliveries, seq, error, permanent=True, started=started)
            return
        asset_id = getattr(event, "asset_id", None)
        if asset_id is not None:
            structlog.contextvars.bind_contextvars(asset_id=asset_id)
        if await self._gone(asset_id):
            await self._skip(msg, asset_id, deliveries, started, when="before")
            return
        if deliveries > spec.max_deliver:
            error = (
                f"delivered {deliveries} times without settling (max_deliver {spec.max_deliver})"
            )
            await self._give_up(msg, deliveries, seq, error, permanent=False, started=started)
            return

        failure = await self._run_handler(msg, event, deliveries, asset_id)
        failure = await self._retry_while_unavailable(msg, event, deliveries, asset_id, failure)

        if failure is None:
            await msg.ack()
            self._observe(started, ok=True)
            self._log.info("job.done", asset_id=asset_id, ms=_ms(started), deliveries=deliveries)
            return
        if isinstance(failure, Gone) or await self._gone(asset_id):
            await self._skip(msg, asset_id, deliveries, started, when="during")
            return
        permanent = isinstance(failure, PermanentError)
        if permanent or deliveries >= spec.max_deliver:
            await self._give_up(
                msg, deliveries, seq, _describe(failure), permanent=permanent, started=started
            )
            return
        delay = spec.retry_delay(deliveries)
        await msg.nak(delay=delay)
        self._observe(started, ok=False)
        self._log.warning(
            "job.retry",
            asset_id=asset_id,
            ms=_ms(started),
            deliveries=deliveries,
            delay_s=delay,
            error=_describe(failure),
        )

    async def _run_handler(
        self, msg: Msg, event: Any, deliveries: int, asset_id: object
    ) -> Exception | None:
        """Run the handler once, in its span; the exception it raised, or None."""
        spec = self._spec
        failure: Exception | None = None
        parent = propagate.extract(msg.headers or {})
        with self._bus.tracer.start_as_current_span(
            spec.name,
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": msg.subject,
                "messaging.consumer.group.name": spec.consumer_name,
                "messaging.message.delivery_count": deliveries,
                "darkroom.asset_id": str(asset_id) if asset_id is not None else "",
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                await spec.fn(event, self._ctx)
            except Exception as exc:
                failure = exc
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, _describe(exc)))
        return failure

    async def _retry_while_unavailable(
        self,
        msg: Msg,
        event: Any,
        deliveries: int,
        asset_id: object,
        failure: Exception | None,
    ) -> Exception | None:
        """Run the handler again while it fails because a server it needs is down (step 4).

        Returns:
            The last failure (None once it succeeds): an ordinary failure, or the outage
            failure when ``outage_patience`` ran out.
        """
        began = time.monotonic()
        pause = 1.0
        while failure is not None and is_server_down(failure, self._unavailable):
            waited = time.monotonic() - began
            if waited >= self._outage_patience:
                self._log.warning(
                    "job.outage_patience_exhausted", asset_id=asset_id, waited_s=round(waited)
                )
                break
            self._log.warning(
                "job.waiting_for_server",
                asset_id=asset_id,
                error=_describe(failure),
                retry_in_s=pause,
                waited_s=round(waited, 1),
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, OUTAGE_RETRY_MAX_S)
            failure = await self._run_handler(msg, event, deliveries, asset_id)
        return failure

    async def _gone(self, asset_id: object) -> bool:
        """Whether the message's asset was deleted for good (False when unknown)."""
        if self._asset_exists is None or not isinstance(asset_id, str) or not asset_id:
            return False
        try:
            return not await self._asset_exists(asset_id)
        except Exception as exc:  # the database is down: run (or retry) the job as usual
            self._log.warning("job.asset_check_failed", asset_id=asset_id, error=_describe(exc))
            return False

    async def _skip(
        self, msg: Msg, asset_id: object, deliveries: int, started: float, *, when: str
    ) -> None:
        """Ack a late job for a deleted asset: no retry, no dead letter."""
        await msg.ack()
        self._observe(started, ok=True)
        self._log.info(
            "job.skipped",
            asset_id=asset_id,
            reason="asset deleted",
            when=when,
            deliveries=deliveries,
            ms=_ms(started),
        )

    async def _give_up(
        self, msg: Msg, deliveries: int, seq: int, error: str, *, permanent: bool, started: float
    ) -> None:
        """Dead-letter then ``term``; if dead-lettering fails, ``nak`` so it is tried again."""
        error = scrub_paths(error, self._redact_roots)
        ids = _ids(msg.data)
        letter = DeadLetter(
            subject=self._spec.subject,
            durable=self._spec.durable,
            stream_seq=seq,
            deliveries=deliveries,
            error=error,
            permanent=permanent,
            payload=msg.data,
            asset_id=ids.asset_id,
            owner_id=ids.owner_id,
        )
        self._observe(started, ok=False)
        try:
            if self._on_dead_letter is not None:
                await self._on_dead_letter(letter)
            if self._publish_failures and letter.asset_id is not None:
                await self._publish_failed(letter)
        except Exception as exc:
            delay = self._spec.retry_delay(self._spec.max_deliver)
            await msg.nak(delay=delay)
            self._log.error(
                "job.dead_letter_failed",
                asset_id=letter.asset_id,
                deliveries=deliveries,
                error=error,
                hook_error=_describe(exc),
                delay_s=delay,
            )
            return
        await msg.term()
        self._log.error(
            "job.dead_lettered",
            asset_id=letter.asset_id,
            ms=_ms(started),
            deliveries=deliveries,
            permanent=permanent,
            error=error,
        )

    async def _publish_failed(self, letter: DeadLetter) -> None:
        assert letter.asset_id is not None
        event = AssetFailed(
            asset_id=letter.asset_id,
            owner_id=letter.owner_id,
            step=letter.durable,
            reason=letter.error[:1000],
            permanent=letter.permanent,
        )
        # One AssetFailed per (asset, step, failed message): the default id (subject:asset id)
        # would swallow a second step's failure of the same asset within the duplicate window.
        msg_id = f"{AssetFailed.subject}:{letter.asset_id}:{letter.durable}:{letter.stream_seq}"
        await self._bus.publish(event, msg_id=msg_id)

    async def _heartbeat(self, msg: Msg) -> None:
        """Tell JetStream the message is still being worked on, every ``ack_wait / 3`` s."""
        every = self._spec.ack_wait / 3
        while True:
            await asyncio.sleep(every)
            try:
                await msg.in_progress()
            except Exception as exc:
                self._log.warning("job.heartbeat_failed", error=_describe(exc))

    def _observe(self, started: float, *, ok: bool) -> None:
        if self._metrics is None:
            return
        try:
            self._metrics.observe(self._spec.name, time.perf_counter() - started, ok)
        except Exception as exc:
            self._log.warning("metrics.failed", error=_describe(exc))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


async def _wait_first(
    tasks: set[asyncio.Task[None]], stop: asyncio.Event, seconds: float | None = None
) -> None:
    """Return when one of ``tasks`` finishes, ``stop`` is set or ``seconds`` have passed."""
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({*tasks, stopper}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
