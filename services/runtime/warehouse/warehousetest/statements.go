package warehousetest

import (
	"context"
	"errors"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// Statements checks a sink's optional Executor and Tables (the sql
// activities and the table preconditions of pipelines), in schema (a
// simple lower-case name), which it creates: statements commit whole and
// report the rows they changed, a failed one changes nothing, and tables
// and rows are found by the names pipelines give them — also through
// warehouse.Traced. The statements name things unquoted, as people write
// pipeline SQL, so each sink's case folding applies.
func Statements(t *testing.T, w warehouse.Warehouse, schema string) {
	t.Helper()
	ctx := context.Background()
	w = warehouse.Traced(w)
	table := schema + ".items"
	exec := func(stmt string) int64 {
		t.Helper()
		n, err := warehouse.Exec(ctx, w, stmt)
		if err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		return n
	}
	exists := func(name string) bool {
		t.Helper()
		ok, err := warehouse.TableExists(ctx, w, name)
		if err != nil {
			t.Fatalf("table %s: %v", name, err)
		}
		return ok
	}
	hasRows := func(where string) bool {
		t.Helper()
		ok, err := warehouse.HasRows(ctx, w, table, where)
		if err != nil {
			t.Fatalf("rows of %s where %q: %v", table, where, err)
		}
		return ok
	}

	exec("CREATE SCHEMA IF NOT EXISTS " + schema)
	if exists(table) {
		t.Fatalf("%s exists before it was created", table)
	}
	if _, err := warehouse.HasRows(ctx, w, table, ""); err == nil {
		t.Error("the rows of a missing table were counted")
	}
	exec("CREATE TABLE " + table + " (id INTEGER, day DATE)")
	if !exists(table) || exists(schema+".other") {
		t.Errorf("%s: exists %v; %s.other: exists %v", table, exists(table), schema, exists(schema+".other"))
	}
	if hasRows("") {
		t.Error("an empty table has rows")
	}
	if n := exec("INSERT INTO " + table + " VALUES (1, DATE '2026-11-20'), (2, DATE '2026-11-21'), (3, DATE '2026-11-21')"); n != 3 {
		t.Errorf("insert changed %d rows, want 3", n)
	}
	if !hasRows("") || !hasRows("day = DATE '2026-11-21' AND id > 2") || hasRows("day = DATE '2026-11-22'") {
		t.Errorf("rows: any %v, id 3 on the 21st %v, on the 22nd %v", hasRows(""), hasRows("day = DATE '2026-11-21' AND id > 2"), hasRows("day = DATE '2026-11-22'"))
	}
	if n := exec("DELETE FROM " + table + " WHERE id < 2"); n != 1 {
		t.Errorf("delete changed %d rows, want 1", n)
	}
	// A statement that fails part-way changes nothing.
	if _, err := warehouse.Exec(ctx, w, "INSERT INTO "+table+" SELECT id + 10, CAST('not a date' AS DATE) FROM "+table); err == nil {
		t.Error("a failing statement succeeded")
	}
	if hasRows("id > 10") || !hasRows("id = 2") {
		t.Error("a failed statement left rows behind, or took some")
	}
	if _, err := warehouse.HasRows(ctx, w, table, "no_such_column = 1"); err == nil {
		t.Error("a bad predicate was accepted")
	}
	var unsupported warehouse.Warehouse = readOnly{w}
	if _, err := warehouse.Exec(ctx, unsupported, "SELECT 1"); !errors.Is(err, warehouse.ErrUnsupported) {
		t.Errorf("a sink without statements: %v", err)
	}
}

// readOnly hides a warehouse's optional capabilities.
type readOnly struct{ warehouse.Warehouse }
