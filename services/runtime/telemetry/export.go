package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// OTLP protocols.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// NewOTLPExporter returns an OTLP trace exporter speaking protocol (grpc
// or http/protobuf). As every OpenTelemetry SDK's, it reads the endpoint,
// headers, TLS, timeout and compression from the standard
// OTEL_EXPORTER_OTLP_* and OTEL_EXPORTER_OTLP_TRACES_* variables itself;
// it connects lazily, so a collector that is down costs failed exports,
// never a failed start.
func NewOTLPExporter(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
	switch protocol {
	case ProtocolGRPC:
		return otlptracegrpc.New(ctx)
	case ProtocolHTTP, "":
		return otlptracehttp.New(ctx)
	}
	return nil, fmt.Errorf("otlp: protocol %q: use %s or %s", protocol, ProtocolGRPC, ProtocolHTTP)
}
