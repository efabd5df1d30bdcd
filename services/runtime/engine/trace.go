package engine

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.24.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/services/runtime/telemetry"
)

// startSQL starts the span of one engine statement, a child of the
// handler's span in ctx ("duckdb COPY", db.system duckdb, db.operation).
// The statement's text is not recorded: it names files and may hold
// values. Without a recording span in ctx nothing is recorded.
func startSQL(ctx context.Context, operation string) (context.Context, trace.Span) {
	return telemetry.Tracer(ctx, "github.com/fusiondata/fusion/engine").Start(ctx, "duckdb "+operation,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.DBSystemKey.String("duckdb"), semconv.DBOperationKey.String(operation)))
}

// endSQL ends a statement's span with its outcome; rows < 0 is unknown.
func endSQL(span trace.Span, rows int64, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	} else if rows >= 0 {
		span.SetAttributes(attribute.Int64("db.rows", rows))
	}
	span.End()
}
