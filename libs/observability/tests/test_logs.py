"""configure_logging: JSON lines with service, level, ISO time, context and trace ids."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
import structlog
from darkroom_observability import bind_asset, bound_asset, configure_logging, configure_tracing
from opentelemetry import trace

LogLines = tuple[io.StringIO, Callable[[], list[dict[str, Any]]]]


def test_json_line_carries_the_current_span_ids(log_lines: LogLines) -> None:
    stream, read = log_lines
    configure_logging("thumbnail", stream=stream)
    # its own provider, not the global one: an earlier test in this process may have installed
    # that, and the warning it logs then would be a third line
    tracer = configure_tracing("thumbnail", exporter=None, set_global=False).get_tracer(__name__)
    log = structlog.get_logger("darkroom.test")
    with tracer.start_as_current_span("generate") as span:
        log.info("thumbnail.generated", ms=12.5)
        context = span.get_span_context()
    log.info("outside.span")

    inside, outside = read()
    assert inside["event"] == "thumbnail.generated"
    assert inside["ms"] == 12.5
    assert inside["level"] == "info"
    assert inside["service"] == "thumbnail"
    assert inside["logger"] == "darkroom.test"
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    stamp = datetime.fromisoformat(inside["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=1)
    assert "trace_id" not in outside and "span_id" not in outside


def test_stdlib_logging_goes_through_the_same_pipeline(log_lines: LogLines) -> None:
    stream, read = log_lines
    configure_logging("ingest", level="warning", stream=stream)
    library = logging.getLogger("some.library")
    library.info("not shown: below the level")
    library.warning("disk %s at %d%%", "/data", 93)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        library.exception("upload.failed")

    warning, error = read()
    assert warning["event"] == "disk /data at 93%"
    assert (warning["level"], warning["logger"], warning["service"]) == (
        "warning",
        "some.library",
        "ingest",
    )
    assert error["level"] == "error"
    assert error["exception"][0]["exc_type"] == "RuntimeError"
    assert error["exception"][0]["exc_value"] == "boom"


def test_bound_asset_id_is_on_every_event_until_unbound(log_lines: LogLines) -> None:
    stream, read = log_lines
    configure_logging("metadata", stream=stream)
    log = structlog.get_logger("darkroom.test")
    first, second = uuid4(), uuid4()
    tokens = bind_asset(first)
    log.info("metadata.extracted")
    logging.getLogger("exiftool").info("read")
    structlog.contextvars.reset_contextvars(**tokens)
    with bound_asset(second):
        log.info("metadata.published")
    log.info("idle")

    extracted, foreign, published, idle = read()
    assert extracted["asset_id"] == foreign["asset_id"] == str(first)
    assert published["asset_id"] == str(second)
    assert "asset_id" not in idle


def test_debug_level_and_console_output(log_lines: LogLines) -> None:
    stream, _ = log_lines
    configure_logging("gateway", level="DEBUG", json=False, stream=stream)
    structlog.get_logger("darkroom.test").debug("request.handled", status=204)
    line = stream.getvalue()
    assert "request.handled" in line and "status" in line and "204" in line


def test_second_call_replaces_the_first(log_lines: LogLines) -> None:
    stream, read = log_lines
    first = io.StringIO()
    configure_logging("search", stream=first)
    configure_logging("search", stream=stream)
    structlog.get_logger("darkroom.test").info("once")
    assert first.getvalue() == ""
    assert [line["event"] for line in read()] == ["once"]


def test_unknown_level_is_refused(log_lines: LogLines) -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("face", level="LOUD", stream=log_lines[0])


def test_no_span_means_no_ids(log_lines: LogLines) -> None:
    stream, read = log_lines
    configure_logging("embedding", stream=stream)
    assert not trace.get_current_span().get_span_context().is_valid
    structlog.get_logger("darkroom.test").info("idle")
    assert "trace_id" not in read()[0]
