//go:build warehouse

package snowwh

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

func TestStatements(t *testing.T) {
	dsn := warehousetest.SnowflakeDSN(t)
	schema := fmt.Sprintf("snowwh_statements_%d", rand.Uint32())
	w := open(t, dsn, Options{MemoryLimit: "256MB"})
	t.Cleanup(func() { w.db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE") })
	warehousetest.Statements(t, w, schema)
}
