//go:build warehouse

package pgwh

import (
	"sync"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

func TestLayers(t *testing.T) {
	var schemas sync.Map
	warehousetest.RunLayers(t, func(t *testing.T, env warehousetest.Env, hooks warehouse.Hooks) warehouse.Warehouse {
		schemas.Store(env.Schema, true)
		return open(t, env.Schema, hooks)
	})
	schemas.Range(func(k, _ any) bool {
		exec(t, "DROP SCHEMA IF EXISTS "+engine.QuoteIdent(k.(string))+" CASCADE")
		return true
	})
}
