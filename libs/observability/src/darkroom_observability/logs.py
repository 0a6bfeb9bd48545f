"""structlog JSON logs on stdout, with the stdlib's loggers routed through the same pipeline.

One line per event: ``{"event": "thumbnail.generated", "level": "info", "logger": "...",
"service": "thumbnail", "timestamp": "2025-01-31T12:00:00.123456Z", "asset_id": "...",
"trace_id": "<32 hex>", "span_id": "<16 hex>", ...}``. The setup follows structlog's
"Rendering using structlog-based formatters within logging" recipe
(https://www.structlog.org/en/stable/standard-library.html).

No event carries a secret or a request body: tracebacks are rendered without frame locals
(structlog shows them by default, and a web framework's frames hold the request's scope: its
headers, cookies and body), then :func:`~darkroom_observability.redact.redact_secrets` scrubs
every event, structlog's and the stdlib's (uvicorn, litestar, nats, asyncpg...), exception
messages included, just before it is rendered.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import Token
from types import TracebackType
from typing import Any, TextIO
from uuid import UUID

import structlog
from opentelemetry import trace
from structlog.tracebacks import ExceptionDictTransformer

from darkroom_observability.redact import redact_secrets

__all__ = ["add_trace_context", "bind_asset", "bound_asset", "configure_logging"]


class _DarkroomHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler configure_logging installs (a type, so a second call can replace it)."""


def add_trace_context(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: add the current OpenTelemetry span's ids, when there is one.

    Args:
        logger: The wrapped logger (unused).
        method_name: The log method's name (unused).
        event_dict: The event being logged.

    Returns:
        ``event_dict`` with ``trace_id`` (32 lower-case hex digits) and ``span_id`` (16) set,
        unless there is no valid current span or the keys are already there.
    """
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", trace.format_trace_id(context.trace_id))
        event_dict.setdefault("span_id", trace.format_span_id(context.span_id))
    return event_dict


def configure_logging(
    service: str, level: str = "INFO", json: bool = True, *, stream: TextIO | None = None
) -> None:
    """Send structlog and stdlib logging, as one JSON object per line, to stdout.

    Every event carries ``timestamp`` (ISO 8601, UTC), ``level``, ``logger`` (the module or
    stdlib logger name), ``service``, ``event``, the structlog context variables bound in the
    current context (``asset_id`` from :func:`bind_asset`...) and, inside an OpenTelemetry
    span, ``trace_id``/``span_id``. Exceptions are rendered as structured tracebacks (plain
    text on the console), without frame locals. Secrets and payloads are redacted from every
    event (:mod:`darkroom_observability.redact`). An exception nothing caught, in the main
    thread or another, is logged too (``process.uncaught_exception``, level critical) instead
    of Python's unredacted traceback on stderr. Calling it again replaces the previous
    configuration.

    Args:
        service: The service name, e.g. ``"thumbnail"``.
        level: Minimum level name for every logger: DEBUG, INFO, WARNING, ERROR, CRITICAL.
        json: True for JSON lines; False for structlog's coloured console output (development).
        stream: Where to write; ``sys.stdout`` at call time when None.

    Raises:
        ValueError: ``level`` is not a logging level name.
    """
    numeric_level = logging.getLevelNamesMapping().get(level.upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}")

    def add_service(
        logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_service,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_context,
        structlog.processors.StackInfoRenderer(),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # the exception becomes data (no frame locals) so that redact_secrets sees its messages
    render_exception: structlog.typing.Processor = (
        structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        if json
        else structlog.processors.format_exc_info
    )
    final: list[structlog.typing.Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        render_exception,
        redact_secrets,
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(),
    ]
    handler = _DarkroomHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _DarkroomHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(
    exc_type: type[BaseException], exc: BaseException, traceback: TracebackType | None
) -> None:
    """``sys.excepthook``: log what ends the process, through the redacting pipeline."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, traceback)
        return
    structlog.get_logger("darkroom.uncaught").critical(
        "process.uncaught_exception", exc_info=(exc_type, exc, traceback)
    )


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    """``threading.excepthook``: log what ends a thread, through the redacting pipeline."""
    if args.exc_type is SystemExit:
        return
    structlog.get_logger("darkroom.uncaught").critical(
        "process.uncaught_exception",
        thread=args.thread.name if args.thread else None,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def bind_asset(asset_id: str | UUID) -> Mapping[str, Token[Any]]:
    """Add ``asset_id`` to every log event of the current context (task or thread).

    Each asyncio task runs in its own copy of the context, so a binding made in a message
    handler's task ends with it.

    Args:
        asset_id: The asset's id.

    Returns:
        The tokens to undo it with ``structlog.contextvars.reset_contextvars(**tokens)``.
    """
    return structlog.contextvars.bind_contextvars(asset_id=str(asset_id))


@contextmanager
def bound_asset(asset_id: str | UUID) -> Iterator[None]:
    """Context manager form of :func:`bind_asset`: the binding is undone on exit.

    Args:
        asset_id: The asset's id.
    """
    tokens = bind_asset(asset_id)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
