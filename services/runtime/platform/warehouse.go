package platform

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/fusiondata/fusion/services/runtime/config"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/duckwh"
	"github.com/fusiondata/fusion/services/runtime/warehouse/pgwh"
	"github.com/fusiondata/fusion/services/runtime/warehouse/snowwh"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// OpenWarehouse opens the warehouse FUSION_WAREHOUSE names: the home's
// DuckDB file by default.
func OpenWarehouse(ctx context.Context, cfg config.Config) (warehouse.Warehouse, error) {
	scheme, dsn := config.SchemeOf(cfg.Warehouse)
	switch scheme {
	case config.SchemeDuckDB:
		return duckwh.New(filepath.Join(cfg.Home, WarehouseFile), duckwh.Options{MemoryLimit: cfg.WarehouseMemory}), nil
	case config.SchemePostgres:
		return pgwh.Open(ctx, dsn, pgwh.Options{MemoryLimit: cfg.EngineMemory})
	case config.SchemeSnowflake:
		return snowwh.Open(ctx, dsn, snowwh.Options{MemoryLimit: cfg.EngineMemory})
	}
	return nil, fmt.Errorf("FUSION_WAREHOUSE: no %s warehouse", scheme)
}

// connections are the configured connections plus the warehouse's.
func connections(cfg config.Config) map[string]string {
	out := map[string]string{}
	if scheme, _ := config.SchemeOf(cfg.Warehouse); scheme != config.SchemeDuckDB {
		out[worker.WarehouseConnection] = cfg.Warehouse
	}
	for k, v := range cfg.Connections {
		out[k] = v
	}
	return out
}
