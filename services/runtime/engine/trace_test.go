package engine

import (
	"context"
	"path/filepath"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Each statement a step runs through the engine is a span under the
// step's span, with its operation and rows but not its text.
func TestStatementsAreChildSpans(t *testing.T) {
	e, err := Open(Config{Threads: 1, MemoryLimit: "128MB", TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rec := tracetest.NewSpanRecorder()
	ctx, step := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("t").Start(context.Background(), "transform transform")
	conn, err := e.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	query := "SELECT range AS id FROM range(5)"
	if _, err := Describe(ctx, conn, query); err != nil {
		t.Fatal(err)
	}
	if n, err := CopyToParquet(ctx, conn, query, filepath.Join(t.TempDir(), "x.parquet")); err != nil || n != 5 {
		t.Fatalf("%d rows, %v", n, err)
	}
	if _, err := Describe(ctx, conn, "SELECT nope FROM range(1)"); err == nil {
		t.Fatal("a bad query described")
	}
	step.End()
	spans := rec.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans", len(spans))
	}
	for i, want := range []string{"duckdb DESCRIBE", "duckdb COPY", "duckdb DESCRIBE"} {
		s := spans[i]
		if s.Name() != want || s.Parent().SpanID() != step.SpanContext().SpanID() {
			t.Errorf("span %d: %s, parent %v", i, s.Name(), s.Parent().SpanID())
		}
		for _, a := range s.Attributes() {
			if a.Key == "db.statement" || a.Key == "db.query.text" {
				t.Errorf("%s records the statement", s.Name())
			}
		}
	}
	if rows := spans[1].Attributes(); rows[len(rows)-1].Key != "db.rows" || rows[len(rows)-1].Value.AsInt64() != 5 {
		t.Errorf("copy attributes %v", rows)
	}
	if spans[2].Status().Code.String() != "Error" {
		t.Errorf("failed statement status %v", spans[2].Status())
	}
}
