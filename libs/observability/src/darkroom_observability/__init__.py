"""structlog JSON logging, OpenTelemetry tracing and Prometheus metrics for every service."""
