package duckwh

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// checkpointedWAL leaves w's file as a process killed while checkpointing
// a load leaves it: the load in the file and still in the WAL beside it,
// the session's marker naming the load. The load appends row 3 to t, or
// creates table fresh with it.
func checkpointedWAL(t *testing.T, w *Warehouse, loadID, table string, create bool) {
	t.Helper()
	ctx := context.Background()
	raw := func(stmts ...string) {
		t.Helper()
		db, err := sql.Open("duckdb", w.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Fatal(s, err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.markLoading(loadID); err != nil {
		t.Fatal(err)
	}
	stmts := []string{"PRAGMA disable_checkpoint_on_shutdown", "SET wal_autocheckpoint = '1TB'", "BEGIN"}
	if create {
		stmts = append(stmts, "CREATE TABLE "+table+" (id BIGINT, v VARCHAR)")
	}
	stmts = append(stmts, "INSERT INTO "+table+" VALUES (3, 'c')",
		"INSERT INTO "+History+" VALUES ('"+loadID+"', '"+table+"', 'r', 'd', 'append', 1, now())", "COMMIT")
	raw(stmts...) // committed to the WAL, not checkpointed
	wal, err := os.ReadFile(w.path + ".wal")
	if err != nil {
		t.Fatal(err)
	}
	raw("SELECT 1") // replayed and checkpointed into the file...
	if err := os.WriteFile(w.path+".wal", wal, 0o644); err != nil {
		t.Fatal(err) // ...and the crash came before the WAL was removed
	}
}

// DuckDB 1.1 would replay such a WAL again; the warehouse sets it aside
// and carries on, every row once — whether the load appended to a table
// or created one.
func TestReopensAfterACrashDuringCheckpoint(t *testing.T) {
	w, e := setup(t)
	ctx := context.Background()
	load := func(id, table, values string) {
		t.Helper()
		if _, err := w.Load(ctx, warehouse.LoadRequest{LoadID: id, RunID: id, Dataset: "d", Table: table, Mode: pipeline.ModeAppend,
			Files: []string{parquet(t, e, "id, v", values)}}); err != nil {
			t.Fatal(err)
		}
	}
	load("r1/d/0", "t", "(1, 'a'), (2, 'b')")
	checkpointedWAL(t, w, "r2/d/0", "t", false)
	load("r3/d/0", "t", "(4, 'd')")
	checkpointedWAL(t, w, "r4/d/0", "fresh", true)
	load("r5/d/0", "t", "(5, 'e')")

	if got := query(t, w, "SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM t UNION ALL SELECT string_agg(id::VARCHAR, ',') FROM fresh"); strings.Join(got, " ") != "1,2,3,4,5 3" {
		t.Errorf("rows %v", got)
	}
	if got := query(t, w, "SELECT count(*) FROM "+History); got[0] != "5" {
		t.Errorf("loads %v", got)
	}
	if _, err := os.Stat(w.markerPath()); !os.IsNotExist(err) {
		t.Errorf("marker left: %v", err)
	}
}

// A WAL that does not replay is kept, and the file refused, unless the
// file holds the load the WAL does.
func TestKeepsAWALItCannotAccountFor(t *testing.T) {
	w, e := setup(t)
	ctx := context.Background()
	if _, err := w.Load(ctx, warehouse.LoadRequest{LoadID: "r1/d/0", RunID: "r1", Dataset: "d", Table: "t", Mode: pipeline.ModeAppend,
		Files: []string{parquet(t, e, "id, v", "(1, 'a')")}}); err != nil {
		t.Fatal(err)
	}
	checkpointedWAL(t, w, "r2/d/0", "t", false)
	w.markLoading("r9/d/0") // not the load the WAL holds
	_, err := w.Load(ctx, warehouse.LoadRequest{LoadID: "r3/d/0", RunID: "r3", Dataset: "d", Table: "t", Mode: pipeline.ModeAppend,
		Files: []string{parquet(t, e, "id, v", "(4, 'd')")}})
	if err == nil || !strings.Contains(err.Error(), "r9/d/0") || !strings.Contains(err.Error(), "the WAL is kept") {
		t.Fatalf("load: %v", err)
	}
	if _, err := os.Stat(w.path + ".wal"); err != nil {
		t.Errorf("the WAL was not kept: %v", err)
	}
	os.Remove(w.markerPath())
	if _, err := w.Load(ctx, warehouse.LoadRequest{LoadID: "r3/d/0", RunID: "r3", Dataset: "d", Table: "t", Mode: pipeline.ModeAppend,
		Files: []string{parquet(t, e, "id, v", "(4, 'd')")}}); err == nil || !strings.Contains(err.Error(), "no load was being written") {
		t.Fatalf("load without a marker: %v", err)
	}
}
