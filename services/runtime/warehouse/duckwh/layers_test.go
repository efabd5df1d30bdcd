package duckwh

import (
	"path/filepath"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/warehousetest"
)

func TestLayers(t *testing.T) {
	warehousetest.RunLayers(t, func(t *testing.T, env warehousetest.Env, hooks warehouse.Hooks) warehouse.Warehouse {
		return New(filepath.Join(env.Dir, "wh.duckdb"), Options{MemoryLimit: "256MB", Hooks: hooks})
	})
}
