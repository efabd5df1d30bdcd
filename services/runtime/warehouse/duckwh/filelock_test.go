package duckwh

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fusiondata/fusion/services/runtime/engine"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
)

// A second Warehouse on the same file in the same process — a precondition
// or a test reading while the loader loads — reads between loads, never
// during one's checkpoint.
func TestReadsBesideLoadsInOneProcess(t *testing.T) {
	loader, e := setup(t)
	reader := New(loader.path, Options{})
	ctx := context.Background()
	f := bigParquet(t, e, rowsPerLoad)
	const loads = 20
	done := make(chan struct{})
	var readErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			err := reader.Query(ctx, "SELECT count(*) FROM "+History, func([]string, []any) error { return nil })
			// Before the first load the history table does not exist;
			// any other error is a read torn by a load.
			if err != nil && readErr == nil && !strings.Contains(err.Error(), "does not exist") {
				readErr = err
			}
		}
	}()
	for i := 0; i < loads; i++ {
		req := warehouse.LoadRequest{LoadID: fmt.Sprintf("r%d/p.curated/0", i), RunID: fmt.Sprint("r", i), Dataset: "p.curated", Table: "customers", Mode: "append", Files: []string{f}}
		if _, err := loader.Load(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if readErr != nil {
		t.Fatalf("a read beside the loads failed: %v", readErr)
	}
	if got := query(t, reader, "SELECT count(*) FROM customers"); got[0] != fmt.Sprint(rowsPerLoad*loads) {
		t.Errorf("rows %v, want %d", got, rowsPerLoad*loads)
	}
}

const rowsPerLoad = 50000

// bigParquet writes n rows wide enough that a load's checkpoint takes a while.
func bigParquet(t *testing.T, e *engine.Engine, n int) string {
	t.Helper()
	ctx := context.Background()
	conn, err := e.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	path := filepath.Join(t.TempDir(), "big.parquet")
	if _, err := engine.CopyToParquet(ctx, conn, fmt.Sprintf("SELECT i AS id, md5(i::VARCHAR) AS name FROM range(%d) t(i)", n), path); err != nil {
		t.Fatal(err)
	}
	return path
}
