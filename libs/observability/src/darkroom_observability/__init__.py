"""structlog JSON logging, OpenTelemetry tracing and Prometheus metrics for every service."""

from __future__ import annotations

from darkroom_observability.logs import (
    add_trace_context,
    bind_asset,
    bound_asset,
    configure_logging,
)
from darkroom_observability.metrics import (
    HANDLER_SECONDS_BUCKETS,
    Metrics,
    MetricsServer,
    serve_metrics,
)
from darkroom_observability.redact import redact_secrets
from darkroom_observability.tracing import (
    EXPORTERS,
    configure_tracing,
    extract_context,
    inject_headers,
)

__all__ = [
    "EXPORTERS",
    "HANDLER_SECONDS_BUCKETS",
    "Metrics",
    "MetricsServer",
    "add_trace_context",
    "bind_asset",
    "bound_asset",
    "configure_logging",
    "configure_tracing",
    "extract_context",
    "inject_headers",
    "redact_secrets",
    "serve_metrics",
]
