"""OpenTelemetry tracing, and trace context carried in message headers (W3C Trace Context)."""

from __future__ import annotations

import sys
from collections.abc import Mapping

import structlog
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["EXPORTERS", "configure_tracing", "extract_context", "inject_headers"]

EXPORTERS = ("console", "otlp")
"""Exporter names :func:`configure_tracing` accepts (or None: no export)."""


def configure_tracing(
    service: str, *, exporter: str | None, set_global: bool = True
) -> TracerProvider:
    """Build an OpenTelemetry SDK tracer provider for one service.

    Spans get trace and span ids whatever the exporter, so logs and message headers carry them
    even when nothing is exported. Call ``provider.shutdown()`` at exit to flush.

    Args:
        service: The ``service.name`` resource attribute, e.g. ``"thumbnail"``.
        exporter: None (no export), ``"console"`` (spans as JSON on stdout, each when it ends)
            or ``"otlp"`` (batched OTLP to ``OTEL_EXPORTER_OTLP_ENDPOINT``; needs the optional
            ``opentelemetry-exporter-otlp`` package, which this library does not depend on).
        set_global: Install the provider as the OpenTelemetry API's global one, so
            ``opentelemetry.trace.get_tracer`` uses it. The API allows that once per process:
            when an SDK provider is already installed, this one is returned but not installed
            (a warning is logged) and must be used directly (``provider.get_tracer(...)``).

    Returns:
        The provider.

    Raises:
        ValueError: ``exporter`` is unknown, or ``"otlp"`` without the OTLP exporter package.
    """
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    if exporter is not None:
        provider.add_span_processor(_span_processor(exporter))
    if set_global:
        if isinstance(trace.get_tracer_provider(), TracerProvider):
            structlog.get_logger().warning("tracing.global_provider_already_set", service=service)
        else:
            trace.set_tracer_provider(provider)
    return provider


def _span_processor(exporter: str) -> SpanProcessor:
    if exporter == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout))
    if exporter == "otlp":
        return BatchSpanProcessor(_otlp_exporter())
    raise ValueError(f"unknown trace exporter {exporter!r}; use one of {EXPORTERS} or None")


def _otlp_exporter() -> SpanExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[no-redef]
                OTLPSpanExporter,
            )
        except ImportError:
            raise ValueError(
                "trace exporter 'otlp' needs the opentelemetry-exporter-otlp package"
            ) from None
    return OTLPSpanExporter()


def inject_headers(context: Context | None = None) -> dict[str, str]:
    """The W3C Trace Context headers of a context, to send with a message.

    Args:
        context: The context to propagate; the current one when None.

    Returns:
        ``{"traceparent": "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"}`` plus
        ``"tracestate"`` when the span has one; ``{}`` when there is no valid span.
    """
    headers: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(headers, context=context)
    return headers


def extract_context(headers: Mapping[str, str] | None) -> Context:
    """The context a message's headers carry, to start the handler's span in.

    Use it as ``tracer.start_as_current_span(name, context=extract_context(msg.headers))``:
    the new span is a child of the sender's, in the same trace.

    Args:
        headers: The message headers (names matched case-insensitively), or None.

    Returns:
        A context holding the remote span context; an empty context (so a new trace starts)
        when the headers carry no valid ``traceparent``.
    """
    carrier = {name.lower(): value for name, value in (headers or {}).items()}
    return TraceContextTextMapPropagator().extract(carrier)
