package catalog

import (
	"context"
	"errors"
	"time"
)

// Pull is one run's copy of a database table: the bookmark range it
// covers, fixed the first time the run is handled, and how far it got.
type Pull struct {
	RunID    string
	Pipeline string
	// Source names what is pulled (connection, table and bookmark column);
	// a pipeline's bookmark belongs to its source, so pointing a pipeline
	// at another table or column starts that one from the beginning.
	Source string
	// Low and High bound the range (Low, High] of bookmark values, as the
	// database prints them. Low is nil for a first pull; High is nil when
	// the table had no bookmark values. Both are nil without a bookmark:
	// the run copies the whole table.
	Low, High *string
	Status    string // PullRunning, PullDone or PullFailed
	Rows      int64  // rows copied, once done
	StartedAt time.Time
	TouchedAt time.Time // the last sign of life of the run's handler
}

// Pull statuses.
const (
	PullRunning = "running"
	PullDone    = "done"
	PullFailed  = "failed" // failed for good: it no longer holds the pipeline
)

// Pulls keeps the state of database pulls: each run's range and each
// pipeline's bookmark (the High of its last successful pull).
//
// Rules every implementation keeps:
//   - StartPull records a new run's range once, with Low set to the
//     pipeline's bookmark for that source at that moment. For a run already
//     recorded it returns the recorded pull (running again, touched): a
//     redelivered request reads exactly the same range.
//   - One pull per pipeline at a time: StartPull of a new run while another
//     run of the pipeline is running and was touched within lease returns
//     an error wrapping ErrPullBusy that names that run.
//   - FinishPull marks the run done. When it copied rows it moves the
//     bookmark to the run's High, but only if the bookmark is still the
//     run's Low: a redelivery of a finished run, or a late one, never moves
//     it twice or backwards.
//   - Pull of an unknown run returns an error wrapping ErrNoPull.
type Pulls interface {
	Pull(ctx context.Context, runID string) (Pull, error)
	StartPull(ctx context.Context, p Pull, lease time.Duration) (Pull, error)
	// TouchPull records that the run's handler is alive.
	TouchPull(ctx context.Context, runID string, at time.Time) error
	FinishPull(ctx context.Context, runID string, rows int64, at time.Time) error
	// FailPull releases the pipeline after a failure retrying cannot fix.
	FailPull(ctx context.Context, runID string, at time.Time) error
	// Bookmark returns a pipeline's bookmark for a source (nil before its
	// first successful pull).
	Bookmark(ctx context.Context, pipeline, source string) (*string, error)
}

var (
	// ErrPullBusy is wrapped when another run of the pipeline is pulling.
	ErrPullBusy = errors.New("another pull of the pipeline is running")
	// ErrNoPull is wrapped when a run has no pull recorded.
	ErrNoPull = errors.New("no pull recorded")
)
