"""Exports GenAI spans with the real OpenTelemetry Python SDK to an OTLP/HTTP endpoint.

Used by crates/web/tests/otlp_suite.rs. Configuration comes the way an application's does, from
the exporter's environment variables: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is),
OTEL_EXPORTER_OTLP_TRACES_HEADERS (the ingest key), OTEL_EXPORTER_OTLP_TRACES_COMPRESSION.

    python export_spans.py --encoding protobuf|json --marker TEXT [--repeat N] [--run N]

The spans are recorded first (in memory), then handed to the OTLP exporter's export() --repeat
times: a retried export of the very same spans, as the SDK makes after a lost answer. Prints one
JSON line: the export results and the ids of the spans.
"""

import argparse
import json
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode


def record_spans(marker: str, run: int):
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": "support-bot",
                "deployment.environment.name": "test",
            }
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("spendlens.test.genai", "1.0")

    # An inference span with full usage, a reported cost (as a double) and attribution.
    with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 1200 + run,
                "gen_ai.usage.cache_read.input_tokens": 1024,
                "gen_ai.usage.output_tokens": 85,
                "gen_ai.usage.reasoning.output_tokens": 20,
                "llm.cost.total": 0.0123,
                "enduser.id": "acme",
                "gen_ai.agent.name": "triage",
                "gen_ai.workflow.name": "ticket_reply",
                "spendlens.tag.team": "support",
            }
        )

    # A GenAI span whose instrumentation reported no usage: metered, usage unknown.
    with tracer.start_as_current_span("chat claude-sonnet-4-5", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "anthropic",
                "gen_ai.request.model": "claude-sonnet-4-5",
                "enduser.id": "globex",
            }
        )

    # Not a GenAI span: acknowledged and ignored.
    with tracer.start_as_current_span("GET /health", kind=SpanKind.SERVER) as span:
        span.set_attributes({"http.request.method": "GET", "http.route": "/health"})

    # A failed call (legacy attribute names): metered with status error, usage kept.
    with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.prompt_tokens": 300,
                "gen_ai.usage.completion_tokens": 0,
                "error.type": "openai.RateLimitError",
                "enduser.id": "acme",
            }
        )
        span.set_status(Status(StatusCode.ERROR, "rate limited"))

    # A call that timed out.
    with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "error.type": "openai.APITimeoutError",
            }
        )
        span.set_status(Status(StatusCode.ERROR, "Request timed out."))

    # A span carrying the prompt and the completion, as attributes (current and legacy names)
    # and as span events: none of it may be stored.
    with tracer.start_as_current_span("chat gpt-4.1", kind=SpanKind.CLIENT) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4.1",
                "gen_ai.usage.input_tokens": 42,
                "gen_ai.usage.output_tokens": 7,
                "gen_ai.input.messages": json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": f"prompt {marker}"}]}]
                ),
                "gen_ai.output.messages": json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": f"reply {marker}"}]}]
                ),
                "gen_ai.system_instructions": f"system {marker}",
                "gen_ai.prompt.0.content": f"legacy prompt {marker}",
                "gen_ai.completion.0.content": f"legacy completion {marker}",
                "enduser.id": "initech",
            }
        )
        span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": f"event prompt {marker}"})
        span.add_event(
            "gen_ai.client.inference.operation.details",
            {"gen_ai.input.messages": f"event messages {marker}"},
        )

    # An agent span aggregating its children's usage: ignored (counting it would double count).
    with tracer.start_as_current_span("invoke_agent triage", kind=SpanKind.INTERNAL) as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.provider.name": "openai",
                "gen_ai.agent.name": "triage",
                "gen_ai.usage.input_tokens": 99999,
                "gen_ai.usage.output_tokens": 99999,
            }
        )

    provider.shutdown()
    return memory.get_finished_spans()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoding", choices=["protobuf", "json"], required=True)
    parser.add_argument("--marker", required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--run", type=int, default=0)
    args = parser.parse_args()

    if args.encoding == "protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter

    spans = record_spans(args.marker, args.run)
    exporter = OTLPSpanExporter()
    results = [exporter.export(spans).name for _ in range(args.repeat)]
    exporter.shutdown()
    print(
        json.dumps(
            {
                "results": results,
                "spans": [
                    {
                        "name": s.name,
                        "trace_id": format(s.context.trace_id, "032x"),
                        "span_id": format(s.context.span_id, "016x"),
                    }
                    for s in spans
                ],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
