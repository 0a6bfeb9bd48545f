"""Declaring handlers: the :func:`subscribe` decorator and the :class:`HandlerSpec` it attaches."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from darkroom_events.catalogue import Event

EventT = TypeVar("EventT", bound=Event)
CtxT = TypeVar("CtxT")

#: The type of a handler: ``async def handler(event, ctx) -> None``.
HandlerFn = Callable[[EventT, CtxT], Awaitable[None]]

#: Attribute under which :func:`subscribe` stores the spec on the function.
SPEC_ATTR = "__darkroom_handler__"

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class HandlerSpec(Generic[EventT, CtxT]):
    """How one handler consumes one event type (built by :func:`subscribe`).

    Attributes:
        fn: The handler, ``async def fn(event, ctx) -> None``.
        event_type: The event Struct it takes; its ``subject`` is the filter subject.
        durable: The service name (``"thumbnail"``), shared by all replicas of the service.
        max_deliver: Attempts before a transiently failing message is dead-lettered.
        backoff: Seconds to wait before redelivery n+1 after failed attempt n; the last value
            repeats.
        max_ack_pending: Messages in flight across all replicas of the consumer.
        ack_wait: Seconds without an ack or heartbeat after which JetStream redelivers.
        concurrency: Messages one replica handles at once.
        skip_if_gone: The event is about an asset (``asset_id``) and is pointless once that asset
            is deleted: the runner acks it without running the handler (and acks a failure)
            when ``Bus.run``'s ``asset_exists`` hook says the asset is gone.
    """

    fn: Callable[[EventT, CtxT], Awaitable[None]]
    event_type: type[EventT]
    durable: str
    max_deliver: int
    backoff: tuple[float, ...]
    max_ack_pending: int
    ack_wait: float
    concurrency: int
    skip_if_gone: bool = True

    @property
    def name(self) -> str:
        """The handler's function name (log field ``handler``, span name, metrics label)."""
        return str(getattr(self.fn, "__name__", repr(self.fn)))

    @property
    def subject(self) -> str:
        """The event subject, e.g. ``darkroom.asset.created`` (without bus namespace)."""
        return self.event_type.subject

    @property
    def consumer_name(self) -> str:
        """The JetStream durable consumer name: ``<durable>_<subject with dots as _>``.

        One per service per subject, e.g. ``thumbnail_darkroom_asset_metadata_extracted``.
        """
        return consumer_name(self.durable, self.subject)

    @property
    def replay_subject(self) -> str:
        """The subject of this consumer's re-runs (:func:`replay_subject`), which it also
        consumes, e.g. ``darkroom.job.thumbnail_darkroom_asset_metadata_extracted.run``."""
        return replay_subject(self.durable, self.subject)

    def retry_delay(self, deliveries: int) -> float | None:
        """Seconds before the redelivery that follows failed attempt number ``deliveries``.

        ``backoff[min(deliveries - 1, len(backoff) - 1)]``; None (at once) when backoff is empty.
        """
        if not self.backoff:
            return None
        return self.backoff[min(max(deliveries, 1) - 1, len(self.backoff) - 1)]


def consumer_name(durable: str, subject: str) -> str:
    """The JetStream durable consumer name of service ``durable`` on ``subject``.

    ``<durable>_<subject with dots as _>``, e.g. ``thumbnail_darkroom_asset_metadata_extracted``;
    the jobs admin uses it to read a queue's counts.
    """
    return f"{durable}_{subject.replace('.', '_')}"


#: First tokens of every re-run subject (docs/events.md "Re-runs"); the stream captures
#: ``darkroom.job.>``.
REPLAY_PREFIX = "darkroom.job"


def replay_subject(durable: str, subject: str) -> str:
    """The subject on which one consumer, and only it, receives a re-run of ``subject``.

    ``darkroom.job.<consumer name>.run``. Each durable consumer filters on its event subject
    and on this one (NATS 2.10+ ``filter_subjects``), so a message published here carries the
    original event's payload and is handled like the original by that consumer alone, while
    other consumers of the same event (thumbnail and transcode both take
    ``darkroom.asset.metadata.extracted``) do not see it. The jobs admin publishes "missing",
    "all", asset jobs and retried dead letters here, each with a message id holding a run id
    so JetStream's duplicate window does not drop a second run.

    Args:
        durable: The service (``"thumbnail"``).
        subject: The event subject it consumes (without bus namespace).

    Returns:
        The re-run subject, without bus namespace.
    """
    return f"{REPLAY_PREFIX}.{consumer_name(durable, subject)}.run"


def subscribe(
    event_type: type[EventT],
    *,
    durable: str,
    max_deliver: int = 5,
    backoff: tuple[float, ...] = (1, 5, 30),
    max_ack_pending: int = 64,
    ack_wait: float = 60.0,
    concurrency: int = 4,
    skip_if_gone: bool = True,
) -> Callable[[HandlerFn[EventT, CtxT]], HandlerFn[EventT, CtxT]]:
    """Declare an async function as the handler of ``event_type`` for the service ``durable``.

    The function is returned unchanged (still callable directly, e.g. in unit tests); a
    :class:`HandlerSpec` is attached to it and read by :meth:`darkroom_bus.Bus.run`.

    Example::

        @subscribe(AssetMetadataExtracted, durable="thumbnail", backoff=(1, 5, 30))
        async def generate_thumbnails(event: AssetMetadataExtracted, ctx: Context) -> None: ...

    Args:
        event_type: Event Struct subclass; its ``subject`` ClassVar is the filter subject.
        durable: Service name; the consumer is named ``<durable>_<subject>`` and shared by
            every replica of the service (how the service scales out).
        max_deliver: Attempts (>= 1) before a message that keeps failing is dead-lettered.
        backoff: Seconds before each retry; entry ``n-1`` follows failed attempt ``n``, the last
            entry repeats. At most ``max_deliver`` entries (later ones could never be used).
        max_ack_pending: Messages un-acked at once across all replicas (>= 1).
        ack_wait: Seconds (> 0) JetStream waits for an ack before redelivering; a running
            handler sends an in-progress heartbeat every ``ack_wait / 3`` seconds.
        concurrency: Messages (>= 1) one replica handles at once.
        skip_if_gone: Ack without running (or after a failure, without retrying) a message
            whose asset was deleted for good; False for handlers of events about assets that
            need not exist (none yet).

    Returns:
        A decorator returning the function it decorates.

    Raises:
        ValueError: A limit is out of range, or ``durable`` is not ``[A-Za-z0-9_-]+``.
        TypeError: ``event_type`` has no ``subject``.
    """
    if not isinstance(getattr(event_type, "subject", None), str):
        raise TypeError(f"{event_type!r} has no subject; subscribe to an Event subclass")
    if not _NAME_RE.match(durable):
        raise ValueError(f"durable must match [A-Za-z0-9_-]+, got {durable!r}")
    if max_deliver < 1:
        raise ValueError("max_deliver must be >= 1")
    if len(backoff) > max_deliver:
        raise ValueError("backoff has more entries than max_deliver allows retries")
    if any(b < 0 for b in backoff):
        raise ValueError("backoff values must be >= 0 seconds")
    if max_ack_pending < 1 or concurrency < 1:
        raise ValueError("max_ack_pending and concurrency must be >= 1")
    if ack_wait <= 0:
        raise ValueError("ack_wait must be > 0 seconds")

    def decorate(fn: HandlerFn[EventT, CtxT]) -> HandlerFn[EventT, CtxT]:
        spec: HandlerSpec[EventT, CtxT] = HandlerSpec(
            fn=fn,
            event_type=event_type,
            durable=durable,
            max_deliver=max_deliver,
            backoff=tuple(float(b) for b in backoff),
            max_ack_pending=max_ack_pending,
            ack_wait=float(ack_wait),
            concurrency=concurrency,
            skip_if_gone=skip_if_gone,
        )
        setattr(fn, SPEC_ATTR, spec)
        return fn

    return decorate


def handler_spec(handler: Callable[..., Any]) -> HandlerSpec[Any, Any]:
    """The :class:`HandlerSpec` that :func:`subscribe` attached to ``handler``.

    Raises:
        TypeError: ``handler`` was not decorated with :func:`subscribe`.
    """
    spec = getattr(handler, SPEC_ATTR, None)
    if not isinstance(spec, HandlerSpec):
        raise TypeError(f"{handler!r} is not a handler: decorate it with @subscribe(...)")
    return spec
