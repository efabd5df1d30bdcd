//go:build warehouse

package pgwh

import (
	"testing"

	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

func TestStatements(t *testing.T) {
	f := newFixture(t)
	exec(t, "DROP SCHEMA "+f.schema+" CASCADE") // Statements creates it
	warehousetest.Statements(t, f.w, f.schema)
	if got := f.query("SELECT count(*) FROM " + f.schema + ".items"); got[0] != "2" {
		t.Errorf("rows after the statements: %v", got)
	}
	// An unqualified name is found where loads put it: the current schema.
	w := open(t, f.schema, warehouse.Hooks{})
	exec(t, "CREATE TABLE IF NOT EXISTS public.pgwh_statements_probe (x int)")
	t.Cleanup(func() { exec(t, "DROP TABLE IF EXISTS public.pgwh_statements_probe") })
	if ok, err := w.TableExists(t.Context(), "pgwh_statements_probe"); err != nil || !ok {
		t.Errorf("unqualified table: %v %v", ok, err)
	}
}
