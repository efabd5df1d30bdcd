package warehouse_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/duckwh"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value.Emit()
	}
	return out
}

// A traced warehouse's loads and queries are spans under the caller's
// span, with db.system, db.operation and the table, never the SQL text;
// without a span in the context they record nothing.
func TestTracedLoadsAndQueriesAreChildSpans(t *testing.T) {
	dir := t.TempDir()
	wh := warehouse.Traced(duckwh.New(filepath.Join(dir, "wh.duckdb"), duckwh.Options{}))
	defer wh.Close()
	if warehouse.Traced(wh) != wh {
		t.Error("traced twice")
	}
	file := warehousetest.WriteParquet(t, filepath.Join(dir, "x.parquet"), "SELECT range AS id, 'secret' AS s FROM range(3)")
	req := warehouse.LoadRequest{LoadID: warehouse.LoadID("20261121-120000-000001", "p.curated", 0), RunID: "20261121-120000-000001",
		Dataset: "p.curated", Table: "t", Keys: []string{"id"}, Mode: "merge", Files: []string{file},
		Schema: []messages.Column{{Name: "id", Type: "BIGINT"}, {Name: "s", Type: "VARCHAR"}}}

	if _, err := wh.Load(context.Background(), req); err != nil { // untraced: no span in ctx
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	ctx, handler := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("t").Start(context.Background(), "loader load.curated")
	if res, err := wh.Load(ctx, req); err != nil || res.Applied {
		t.Fatalf("second load: %+v %v", res, err)
	}
	if err := wh.Query(ctx, "  select count(*) from t where s = 'secret'", func([]string, []any) error { return nil }); err != nil {
		t.Fatal(err)
	}
	handler.End()
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	load, query := spans[0], spans[1]
	a := attrs(load)
	if load.Name() != "duckdb load t" || load.Parent().SpanID() != handler.SpanContext().SpanID() || a["db.system"] != "duckdb" ||
		a["db.operation"] != "load" || a["db.sql.table"] != "t" || a["fusion.load_applied"] != "false" || a["fusion.load_id"] != req.LoadID {
		t.Errorf("load span %s %v", load.Name(), a)
	}
	a = attrs(query)
	if query.Name() != "duckdb select" || a["db.operation"] != "SELECT" || query.Parent().SpanID() != handler.SpanContext().SpanID() {
		t.Errorf("query span %s %v", query.Name(), a)
	}
	for _, s := range spans[:2] {
		for k, v := range attrs(s) {
			if len(v) > 0 && (strings.Contains(v, "secret") || strings.Contains(v, "count(")) {
				t.Errorf("%s: %s records the SQL: %q", s.Name(), k, v)
			}
		}
	}
}

func TestOperation(t *testing.T) {
	for sql, want := range map[string]string{"select 1": "SELECT", "\n (WITH x AS (SELECT 1) SELECT * FROM x)": "WITH", "": "SQL", "COPY t TO 'x'": "COPY"} {
		if got := warehouse.Operation(sql); got != want {
			t.Errorf("Operation(%q) = %q, want %q", sql, got, want)
		}
	}
}
