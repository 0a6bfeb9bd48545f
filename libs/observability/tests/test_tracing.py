"""configure_tracing, and trace context carried through message headers."""

from __future__ import annotations

import json

import pytest
from darkroom_observability import configure_tracing, extract_context, inject_headers
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan


def test_headers_round_trip_a_trace_context() -> None:
    tracer = configure_tracing("gateway", exporter=None).get_tracer(__name__)
    with tracer.start_as_current_span("upload") as sender:
        headers = inject_headers()
    sent = sender.get_span_context()
    assert headers["traceparent"] == (
        f"00-{sent.trace_id:032x}-{sent.span_id:016x}-{int(sent.trace_flags):02x}"
    )

    context = extract_context(headers)
    remote = trace.get_current_span(context).get_span_context()
    assert remote.is_remote
    assert remote.trace_id == sent.trace_id
    assert remote.span_id == sent.span_id

    receiver = configure_tracing("ingest", exporter=None, set_global=False).get_tracer(__name__)
    with receiver.start_as_current_span("ingest.create", context=context) as child:
        assert isinstance(child, ReadableSpan)
        assert child.get_span_context().trace_id == sent.trace_id
        assert child.parent is not None and child.parent.span_id == sent.span_id


def test_header_names_are_case_insensitive() -> None:
    tracer = configure_tracing("gateway", exporter=None, set_global=False).get_tracer(__name__)
    with tracer.start_as_current_span("upload") as span:
        headers = {name.title(): value for name, value in inject_headers().items()}
    assert "Traceparent" in headers
    remote = trace.get_current_span(extract_context(headers)).get_span_context()
    assert remote.trace_id == span.get_span_context().trace_id


@pytest.mark.parametrize("headers", [None, {}, {"traceparent": "not-a-trace"}])
def test_no_valid_traceparent_gives_an_empty_context(headers: dict[str, str] | None) -> None:
    context = extract_context(headers)
    assert not trace.get_current_span(context).get_span_context().is_valid


def test_no_span_injects_nothing() -> None:
    assert inject_headers() == {}


def test_console_exporter_prints_finished_spans(capsys: pytest.CaptureFixture[str]) -> None:
    provider = configure_tracing("thumbnail", exporter="console", set_global=False)
    with provider.get_tracer(__name__).start_as_current_span("render"):
        pass
    provider.shutdown()
    span = json.loads(capsys.readouterr().out)
    assert span["name"] == "render"
    assert span["resource"]["attributes"]["service.name"] == "thumbnail"


def test_resource_and_unknown_exporter() -> None:
    provider = configure_tracing("face", exporter=None, set_global=False)
    assert provider.resource.attributes["service.name"] == "face"
    with pytest.raises(ValueError, match="unknown trace exporter"):
        configure_tracing("face", exporter="zipkin", set_global=False)


def test_otlp_needs_its_optional_package() -> None:
    try:
        import opentelemetry.exporter.otlp  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="opentelemetry-exporter-otlp"):
            configure_tracing("face", exporter="otlp", set_global=False)
    else:
        provider = configure_tracing("face", exporter="otlp", set_global=False)
        provider.shutdown()


def test_global_provider_is_set_once() -> None:
    first = configure_tracing("gateway", exporter=None)
    installed = trace.get_tracer_provider()
    second = configure_tracing("gateway", exporter=None)
    assert second is not first
    assert trace.get_tracer_provider() is installed
