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

	// Deadline is the pipeline's deadline when the run was first recorded
	// (0: none). A run still running Deadline after StartedAt is late.
	Deadline time.Duration
	// LateAt is when the ledger found the run open past its deadline and
	// claimed its late notice; zero if it never was. LateClaimUntil is when
	// an unconfirmed claim expires (a crash between claim and publish), and
	// LateNotifiedAt when the notice was confirmed published. See Deadlines.
	LateAt         time.Time
	LateClaimUntil time.Time
	LateNotifiedAt time.Time
}

// Late reports whether the run was flagged late.
func (r Run) Late() bool { return !r.LateAt.IsZero() }

// Duration is how long the run took (so far).
func (r Run) Duration() time.Duration {
	if r.FinishedAt.IsZero() {
		return time.Since(r.StartedAt)
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// Plan is what the ledger knows of a run's pipeline when it records a
// step event: the steps its runs go through and its deadline. The zero
// Plan says the pipeline is unknown.
type Plan struct {
	Steps    []string
	Deadline time.Duration
}

// Ledger records step events and answers for runs.
//
// Record is idempotent and order-insensitive: a success is final for a
// step, otherwise a step keeps the state of its latest attempt (by start
// time), and within one attempt a step never goes back from failed or
// succeeded to started, however events are duplicated or reordered (Apply
// is the rule every implementation applies). A run is succeeded when every
// expected step succeeded, failed when a step failed, and running
// otherwise. Concurrent Records, in one process or several sharing the
// store, never lose or regress an update.
type Ledger interface {
	// Record applies one step event. plan describes the run's pipeline
	// when it is known (the zero Plan otherwise); the first plan recorded
	// for a run stays.
	Record(ctx context.Context, status string, ev messages.StepEvent, plan Plan) error
	// Runs lists the most recent runs, newest first.
	Runs(ctx context.Context, limit int) ([]Run, error)
	// Run returns one run with its steps; an error wrapping ErrNotFound if unknown.
	Run(ctx context.Context, id string) (Run, error)
	// RunForInput finds the run started by an input (a landed object key).
	RunForInput(ctx context.Context, input string) (Run, error)
}

// Store is a ledger that also keeps deadlines: what the ledger process
// needs. Both implementations (metastore in the home, dynamoledger on the
// aws tier) pass the conformance suite in ledgertest.
type Store interface {
	Ledger
	Deadlines
}

// ErrNotFound is wrapped when a run is unknown.
var ErrNotFound = errors.New("run not found")

// ErrNotClaimed is wrapped when a late notice is confirmed without a claim.
var ErrNotClaimed = errors.New("late notice never claimed")

// TraceID extracts the trace id from a W3C traceparent.
func TraceID(traceparent string) string {
	if len(traceparent) >= 35 && traceparent[2] == '-' {
		return traceparent[3:35]
	}
	return ""
}
