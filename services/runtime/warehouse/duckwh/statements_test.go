package duckwh

import (
	"testing"

	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

func TestStatements(t *testing.T) {
	w, _ := setup(t)
	warehousetest.Statements(t, w, "analytics")
	// A sql activity's writes are seen by the next reader.
	if got := query(t, w, "SELECT count(*) FROM analytics.items"); got[0] != "2" {
		t.Errorf("rows after the statements: %v", got)
	}
}

// Before anything was loaded, no table exists and checks do not fail.
func TestTablesOfANewWarehouse(t *testing.T) {
	w, _ := setup(t)
	ok, err := w.TableExists(t.Context(), "churn_customers")
	if err != nil || ok {
		t.Errorf("a new warehouse has churn_customers: %v %v", ok, err)
	}
}
