package handler

import (
	"context"
	"errors"
	"fmt"

	"github.com/fusiondata/fusion/messages"
	"github.com/fusiondata/fusion/services/runtime/activity"
	"github.com/fusiondata/fusion/services/runtime/warehouse"
	"github.com/fusiondata/fusion/services/runtime/worker"
)

// A sql activity (pipeline.Activity.SQL) runs on the loader, the
// warehouse's one writer: a statement's changes and the loads of a table
// take turns, and on DuckDB only one process may write the file. The
// statement runs in a transaction of its own, with {{run_id}},
// {{pipeline}} and {{date}} substituted. A redelivered event runs it
// again (once its step succeeded, dedup acknowledges the event instead),
// so statements should be idempotent: DELETE ... WHERE, MERGE, CREATE OR
// REPLACE. A failing statement is retried like any step.
func (h *loader) sqlActivity(ctx context.Context, in *worker.Input) (worker.Output, error) {
	a, err := activity.Of(in)
	if err != nil {
		return worker.Output{}, err
	}
	n, err := warehouse.Exec(ctx, h.deps.Warehouse, activity.Vars(in).Expand(a.SQL))
	if errors.Is(err, warehouse.ErrUnsupported) {
		return worker.Output{}, worker.Permanent(fmt.Errorf("activity %s: %w", a.Name, err))
	}
	if err != nil {
		return worker.Output{}, fmt.Errorf("activity %s: %s: %w", a.Name, in.Pipeline.File, err)
	}
	done := activity.Completed(in, a)
	done.Target, done.Rows = "warehouse", n
	return worker.Output{RowsOut: n, Events: []messages.Detail{done}}, nil
}
