package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/pipeline"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/warehouse/duckwh"
)

// duckBench loads the data set into a fresh DuckDB file each run, with
// one thread on both sides: duckwh's default.
type duckBench struct {
	data  dataset
	dir   string
	loads int
}

func (b *duckBench) fresh() (string, error) {
	path := filepath.Join(b.dir, "bench.duckdb")
	for _, p := range []string{path, path + ".wal"} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return "", err
		}
	}
	return path, nil
}

// copyFrom is DuckDB's own loader into a table of the data's columns; the
// table's creation is not timed.
func (b *duckBench) copyFrom(ctx context.Context, timed func(func() error) error) error {
	path, err := b.fresh()
	if err != nil {
		return err
	}
	db, err := sql.Open("duckdb", path+"?threads=1")
	if err != nil {
		return err
	}
	defer db.Close()
	src := engine.ReadParquet(b.data.parquet)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t AS SELECT * FROM "+src+" LIMIT 0"); err != nil {
		return err
	}
	return timed(func() error {
		res, err := db.ExecContext(ctx, "COPY t FROM "+engine.QuoteString(b.data.parquet)+" (FORMAT parquet)")
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != int64(b.data.rows) {
			return fmt.Errorf("copied %d rows", n)
		}
		// Closing checkpoints the file, as duckwh's load does.
		return db.Close()
	})
}

// duckwhLoad is the sink's load, file opening and table creation included.
func (b *duckBench) duckwhLoad(ctx context.Context, timed func(func() error) error) error {
	path, err := b.fresh()
	if err != nil {
		return err
	}
	b.loads++
	run := fmt.Sprintf("bench-%d", b.loads)
	w := duckwh.New(path, duckwh.Options{})
	return timed(func() error {
		res, err := w.Load(ctx, warehouse.LoadRequest{LoadID: warehouse.LoadID(run, "bench.orders", 0), RunID: run,
			Dataset: "bench.orders", Table: "t", Mode: pipeline.ModeAppend, Files: []string{b.data.parquet}})
		if err == nil && res.Rows != int64(b.data.rows) {
			err = fmt.Errorf("loaded %+v", res)
		}
		return err
	})
}
