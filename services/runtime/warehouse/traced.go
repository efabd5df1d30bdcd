package warehouse

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.24.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/services/runtime/telemetry"
)

// Traced wraps a warehouse so that each Load and Query is a client span
// under the span in its context (the loader's handler, a CLI command that
// traces): "<kind> load <table>" and "<kind> query", with db.system,
// db.operation and db.sql.table, the load id and the rows applied. The SQL
// text of a query is not recorded — it may hold values — only its first
// keyword (db.operation). Without a recording span in the context it
// records nothing and costs next to nothing.
func Traced(w Warehouse) Warehouse {
	if _, ok := w.(traced); ok {
		return w
	}
	return traced{w}
}

type traced struct{ Warehouse }

const tracerName = "github.com/fusiondata/fusion/warehouse"

// dbSystem names a warehouse kind as OpenTelemetry's db.system does.
func dbSystem(kind string) string {
	if kind == "postgres" {
		return "postgresql"
	}
	return kind
}

func (t traced) Load(ctx context.Context, req LoadRequest) (Result, error) {
	kind := t.Kind()
	ctx, span := telemetry.Tracer(ctx, tracerName).Start(ctx, kind+" load "+req.Table,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			semconv.DBSystemKey.String(dbSystem(kind)),
			semconv.DBOperationKey.String("load"),
			semconv.DBSQLTableKey.String(req.Table),
			attribute.String("fusion.load_id", req.LoadID),
			attribute.String("fusion.load_mode", req.Mode),
			attribute.Int("fusion.files", len(req.Files)),
		))
	defer span.End()
	res, err := t.Warehouse.Load(ctx, req)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return res, err
	}
	span.SetAttributes(attribute.Bool("fusion.load_applied", res.Applied), attribute.Int64("fusion.rows", res.Rows))
	return res, nil
}

func (t traced) Query(ctx context.Context, sql string, fn func(columns []string, row []any) error) error {
	kind := t.Kind()
	op := Operation(sql)
	ctx, span := telemetry.Tracer(ctx, tracerName).Start(ctx, kind+" "+strings.ToLower(op),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.DBSystemKey.String(dbSystem(kind)), semconv.DBOperationKey.String(op)))
	defer span.End()
	err := t.Warehouse.Query(ctx, sql, fn)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// Operation is a SQL statement's first keyword, upper-cased (SELECT,
// COPY, WITH...): what a span may say of a statement without its values.
func Operation(sql string) string {
	s := strings.TrimLeft(sql, " \t\r\n(")
	end := strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_')
	})
	if end < 0 {
		end = len(s)
	}
	if end == 0 {
		return "SQL"
	}
	return strings.ToUpper(s[:end])
}
