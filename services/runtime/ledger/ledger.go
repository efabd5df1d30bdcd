// Package ledger keeps the execution history of runs: for every run, the
// steps its pipeline expects and what each did, built only from the step
// events the workers publish. It is Step Functions' execution history
// without an orchestrator.
package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/fusiondata/fusion/messages"
)

// Step statuses.
const (
	Started   = "started"
	Succeeded = "succeeded"
	Failed    = "failed"
	Running   = "running" // a run with steps still to finish
	Pending   = "pending" // an expected step that has not started
)

// Step is the latest state of one step of a run.
type Step struct {
	Name       string
	Worker     string
	Status     string
	Input      string
	Attempt    int
	StartedAt  time.Time
	DurationMS int64
	RowsIn     int64
	RowsOut    int64
	Bytes      int64
	Error      *messages.StepError
}

// Run is one run's history.
type Run struct {
	ID         string
	Pipeline   string
	Input      string // what started it: the landed object key
	Status     string // running, succeeded or failed
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	TraceID    string
	Expected   []string // the step names the pipeline expects
	Steps      []Step   // in expected order, then any others; pending ones included
}

// Duration is how long the run took (so far).
func (r Run) Duration() time.Duration {
	if r.FinishedAt.IsZero() {
		return time.Since(r.StartedAt)
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// Ledger records step events and answers for runs.
//
// Record is idempotent and order-insensitive: a step keeps the state of its
// latest attempt (by start time), and within one attempt a step never goes
// back from failed or succeeded to started, however events are duplicated
// or reordered. A run is succeeded when every expected step succeeded,
// failed when a step failed, and running otherwise.
type Ledger interface {
	// Record applies one step event. expected lists the run's expected steps
	// when the pipeline is known (nil otherwise).
	Record(ctx context.Context, status string, ev messages.StepEvent, expected []string) error
	// Runs lists the most recent runs, newest first.
	Runs(ctx context.Context, limit int) ([]Run, error)
	// Run returns one run with its steps; an error wrapping ErrNotFound if unknown.
	Run(ctx context.Context, id string) (Run, error)
	// RunForInput finds the run started by an input (a landed object key).
	RunForInput(ctx context.Context, input string) (Run, error)
}

// ErrNotFound is wrapped when a run is unknown.
var ErrNotFound = errors.New("run not found")

// TraceID extracts the trace id from a W3C traceparent.
func TraceID(traceparent string) string {
	if len(traceparent) >= 35 && traceparent[2] == '-' {
		return traceparent[3:35]
	}
	return ""
}
