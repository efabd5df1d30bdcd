package warehouse

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.24.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/fusiondata/fusion/services/runtime/telemetry"
)

// Executor is a warehouse that runs statements changing it (a pipeline's
// sql activity), besides loads.
//
// Rules: Exec runs exactly one statement in a transaction of its own,
// committed whole or not at all, and returns the rows it changed (0 for a
// statement that changes none, such as DDL). Unqualified names resolve
// where loads put unqualified tables.
type Executor interface {
	Exec(ctx context.Context, statement string) (int64, error)
}

// Tables is a warehouse that answers questions about tables (a pipeline's
// preconditions), naming them as pipeline files do: table or
// schema.table, resolved and quoted as the sink's loads resolve and quote
// them.
//
// Rules: TableExists reports a table or a view; HasRows reports whether
// the table has a row for which where (a SQL predicate, trusted as the
// pipeline file is) holds, any row when where is "", reading only — a
// predicate cannot change the warehouse. HasRows of a missing table is an
// error.
type Tables interface {
	TableExists(ctx context.Context, table string) (bool, error)
	HasRows(ctx context.Context, table, where string) (bool, error)
}

// ErrUnsupported is wrapped when a warehouse lacks an optional capability.
var ErrUnsupported = errors.New("not supported by this warehouse")

// unwrap returns the warehouse a Traced one wraps.
func unwrap(w Warehouse) Warehouse {
	if t, ok := w.(traced); ok {
		return t.Warehouse
	}
	return w
}

// Exec runs a statement in w, if it is an Executor, as a client span
// (db.operation, never the SQL text) under the one in ctx.
func Exec(ctx context.Context, w Warehouse, statement string) (int64, error) {
	e, ok := unwrap(w).(Executor)
	if !ok {
		return 0, fmt.Errorf("%s warehouse: statements are %w", w.Kind(), ErrUnsupported)
	}
	op := Operation(statement)
	ctx, span := telemetry.Tracer(ctx, tracerName).Start(ctx, w.Kind()+" "+strings.ToLower(op),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.DBSystemKey.String(dbSystem(w.Kind())), semconv.DBOperationKey.String(op)))
	defer span.End()
	n, err := e.Exec(ctx, statement)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return n, err
}

// TableExists asks w, if it answers questions about tables.
func TableExists(ctx context.Context, w Warehouse, table string) (bool, error) {
	t, ok := unwrap(w).(Tables)
	if !ok {
		return false, fmt.Errorf("%s warehouse: table checks are %w", w.Kind(), ErrUnsupported)
	}
	return t.TableExists(ctx, table)
}

// HasRows asks w, if it answers questions about tables.
func HasRows(ctx context.Context, w Warehouse, table, where string) (bool, error) {
	t, ok := unwrap(w).(Tables)
	if !ok {
		return false, fmt.Errorf("%s warehouse: table checks are %w", w.Kind(), ErrUnsupported)
	}
	return t.HasRows(ctx, table, where)
}

// ExistsQuery is the query HasRows runs on a quoted table.
func ExistsQuery(quotedTable, where string) string {
	q := "SELECT 1 FROM " + quotedTable
	if strings.TrimSpace(where) != "" {
		q += " WHERE (" + where + "\n)"
	}
	return q + " LIMIT 1"
}
