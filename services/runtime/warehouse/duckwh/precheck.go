package duckwh

import (
	"context"
	"database/sql"

	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// checkKeys refuses a merge whose files repeat a key. The check reads only
// the files, so it runs on an in-memory DuckDB of the Warehouse's own
// before the load takes the file: a load waiting behind another one does
// it meanwhile, and the file is held only for the writing.
func (w *Warehouse) checkKeys(ctx context.Context, req warehouse.LoadRequest) error {
	if req.Mode != pipeline.ModeMerge {
		return nil
	}
	db, err := w.checker(ctx)
	if err != nil {
		return err
	}
	return warehouse.CheckUniqueKeys(ctx, db, req.Files, req.Keys)
}

// checker opens the in-memory DuckDB once.
func (w *Warehouse) checker(ctx context.Context) (*sql.DB, error) {
	w.checkMu.Lock()
	defer w.checkMu.Unlock()
	if w.check == nil {
		db, err := warehouse.OpenChecker(ctx, w.opts.MemoryLimit)
		if err != nil {
			return nil, err
		}
		w.check = db
	}
	return w.check, nil
}
